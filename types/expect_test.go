package types

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExpectUnmarshal(t *testing.T) {
	in := `{"name":"login","status":[200,"204","300-302"],"body_contains":"ok",
		"body_regex":"^\\{","json":{"a.b[0]":"x","$.n":3,"z":null},
		"header":{"Content-Type":"application/json","ETag":true},
		"max_body_bytes":65536,"max_latency":"250ms"}`
	var e Expect
	if err := json.Unmarshal([]byte(in), &e); err != nil {
		t.Fatal(err)
	}
	want := Expect{
		Name:         "login",
		Status:       []StatusRange{{200, 200}, {204, 204}, {300, 302}},
		BodyContains: []string{"ok"},
		BodyRegex:    `^\{`,
		JSON:         map[string]json.RawMessage{"a.b[0]": json.RawMessage(`"x"`), "$.n": json.RawMessage(`3`), "z": json.RawMessage(`null`)},
		Header:       map[string]HeaderMatch{"Content-Type": {Value: "application/json"}, "ETag": {Present: true}},
		MaxBodyBytes: 65536,
		MaxLatency:   250 * time.Millisecond,
	}
	if !reflect.DeepEqual(e, want) {
		t.Fatalf("got  %+v\nwant %+v", e, want)
	}
	if err := e.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	if n := e.CheckCount(); n != 10 {
		t.Errorf("CheckCount = %d, want 10", n)
	}
	// A round trip through MarshalJSON gives the same Expect.
	out, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var back Expect
	if err := json.Unmarshal(out, &back); err != nil {
		t.Fatalf("unmarshal %s: %v", out, err)
	}
	if !reflect.DeepEqual(back, want) {
		t.Fatalf("round trip %s\ngot  %+v\nwant %+v", out, back, want)
	}
}

func TestExpectUnmarshalForms(t *testing.T) {
	cases := []struct {
		in   string
		want Expect
	}{
		{`{}`, Expect{}},
		{`{"status":200}`, Expect{Status: []StatusRange{{200, 200}}}},
		{`{"status":"200-299"}`, Expect{Status: []StatusRange{{200, 299}}}},
		{`{"body_contains":["a","b"]}`, Expect{BodyContains: []string{"a", "b"}}},
		{`{"max_latency":"1.5s","max_body_bytes":0}`, Expect{MaxLatency: 1500 * time.Millisecond}},
	}
	for _, c := range cases {
		var e Expect
		if err := json.Unmarshal([]byte(c.in), &e); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if !reflect.DeepEqual(e, c.want) {
			t.Errorf("%s: got %+v, want %+v", c.in, e, c.want)
		}
	}
}

func TestExpectUnmarshalErrors(t *testing.T) {
	cases := []struct{ in, want string }{
		{`{"status":["abc"]}`, `expect.status[0]: "abc" is not a status code or range`},
		{`{"status":[200, 1.5]}`, `expect.status[1]: "1.5" is not a status code`},
		{`{"status":true}`, `expect.status: "true" is not a status code`},
		{`{"status":{}}`, `expect.status:`},
		{`{"body_contains":7}`, `expect.body_contains: a JSON number is not allowed here`},
		{`{"body_contains":["a",7]}`, `expect.body_contains[1]: a JSON number`},
		{`{"header":{"X-A":false}}`, `expect.header["X-A"]: false is not a header check`},
		{`{"header":{"X-A":3}}`, `expect.header["X-A"]: 3 is not a header check`},
		{`{"max_latency":250}`, `expect.max_latency: 250 is not a duration string`},
		{`{"max_latency":"fast"}`, `expect.max_latency: "fast" is not a duration`},
		{`{"max_body_bytes":"1k"}`, `expect.max_body_bytes: "1k" is not a whole number`},
		{`{"max_body_bytes":1.5}`, `expect.max_body_bytes: 1.5 is not a whole number`},
		{`{"body_regex":1}`, `expect.body_regex: a JSON number is not allowed here`},
		{`{"stauts":[200]}`, `expect: unknown key "stauts"`},
		{`[1]`, `expect`},
	}
	for _, c := range cases {
		var e Expect
		err := json.Unmarshal([]byte(c.in), &e)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.in, err, c.want)
		}
	}
	// Every bad key is reported at once.
	var e Expect
	err := json.Unmarshal([]byte(`{"status":["x"],"max_latency":"y"}`), &e)
	if err == nil || !strings.Contains(err.Error(), "expect.status[0]") || !strings.Contains(err.Error(), "expect.max_latency") {
		t.Errorf("two bad keys: error %v, want both named", err)
	}
}

func TestExpectValidate(t *testing.T) {
	cases := []struct {
		name string
		e    Expect
		want []string
	}{
		{"reversed range", Expect{Status: []StatusRange{{299, 200}}}, []string{`expect.status[0]: "299-200": the range starts above its end: write "200-299"`}},
		{"600", Expect{Status: []StatusRange{{200, 200}, {600, 600}}}, []string{`expect.status[1]: "600": status codes run from 100 to 599`}},
		{"99", Expect{Status: []StatusRange{{99, 200}}}, []string{`expect.status[0]: "99-200"`}},
		{"regex", Expect{BodyRegex: "a(b"}, []string{`expect.body_regex: "a(b" is not an RE2 regular expression`}},
		{"perl regex", Expect{BodyRegex: `(?<=a)b`}, []string{`expect.body_regex:`}},
		{"empty contains", Expect{BodyContains: []string{"a", ""}}, []string{`expect.body_contains[1]: the text is empty`}},
		{"bad path", Expect{JSON: map[string]json.RawMessage{"a..b": json.RawMessage(`1`)}}, []string{`expect.json["a..b"]: JSON path "a..b" has an empty member name`}},
		{"same path", Expect{JSON: map[string]json.RawMessage{"a.b": json.RawMessage(`1`), "$.a.b": json.RawMessage(`1`)}}, []string{`expect.json["a.b"]: the path names the same value as "$.a.b"`}},
		{"bad value", Expect{JSON: map[string]json.RawMessage{"a": json.RawMessage(`{`)}}, []string{`expect.json["a"]: the expected value "{" is not JSON`}},
		{"header name", Expect{Header: map[string]HeaderMatch{"Bad Name": {Present: true}}}, []string{`expect.header["Bad Name"]: the name is not a valid HTTP token`}},
		{"header twice", Expect{Header: map[string]HeaderMatch{"etag": {Present: true}, "ETag": {Present: true}}}, []string{`expect.header["etag"]: the same header as "ETag"`}},
		{"header value", Expect{Header: map[string]HeaderMatch{"X": {Value: "a\nb"}}}, []string{`expect.header["X"]: the value "a\nb" holds the control character 0x0a`}},
		{"negative", Expect{MaxBodyBytes: -1, MaxLatency: -time.Second}, []string{`expect.max_body_bytes: -1 is negative`, `expect.max_latency: -1s is negative`}},
		{"name", Expect{Name: "a\x00"}, []string{`expect.name:`}},
		{"all at once", Expect{Status: []StatusRange{{600, 600}}, BodyRegex: "(", MaxBodyBytes: -1}, []string{`expect.status[0]`, `expect.body_regex`, `expect.max_body_bytes`}},
	}
	for _, c := range cases {
		err := c.e.Validate()
		if err == nil {
			t.Errorf("%s: no error, want %q", c.name, c.want)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q, want it to contain %q", c.name, err, w)
			}
		}
	}
}

func TestExpectTooManyChecks(t *testing.T) {
	e := Expect{}
	for i := range MaxExpectChecks + 1 {
		e.BodyContains = append(e.BodyContains, strings.Repeat("x", i+1))
	}
	if err := e.Validate(); err == nil || !strings.Contains(err.Error(), "65 checks, more than the 64 allowed") {
		t.Errorf("Validate = %v, want too many checks", err)
	}
	e.BodyContains = e.BodyContains[:MaxExpectChecks]
	if err := e.Validate(); err != nil {
		t.Errorf("Validate at the limit = %v", err)
	}
}

func TestParseStatusRange(t *testing.T) {
	for in, want := range map[string]StatusRange{"200": {200, 200}, "200-299": {200, 299}, "600": {600, 600}, "299-200": {299, 200}} {
		got, err := ParseStatusRange(in)
		if err != nil || got != want {
			t.Errorf("ParseStatusRange(%q) = %v, %v, want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "2000", "200-", "-200", "200-299-300", " 200", "2xx", "+200"} {
		if _, err := ParseStatusRange(in); err == nil {
			t.Errorf("ParseStatusRange(%q) succeeded", in)
		}
	}
}

func TestExpectUnmarshalNotAnObject(t *testing.T) {
	for _, in := range []string{`5`, `"200"`, `[200]`, `true`} {
		var e Expect
		err := json.Unmarshal([]byte(in), &e)
		if err == nil || !strings.Contains(err.Error(), "expect: a JSON") || !strings.Contains(err.Error(), "want an object") {
			t.Errorf("%s: got %v, want an error asking for an object", in, err)
		}
	}
}

func TestRequestSpecValidateExpect(t *testing.T) {
	spec := RequestSpec{Method: "GET", Path: "/"}
	if err := spec.Validate(); err != nil {
		t.Fatalf("no expect: %v", err)
	}
	spec.Expect = &Expect{Status: []StatusRange{{200, 299}}}
	if err := spec.Validate(); err != nil {
		t.Fatalf("good expect: %v", err)
	}
	spec.Expect = &Expect{Status: []StatusRange{{299, 200}}, BodyRegex: "a("}
	err := spec.Validate()
	if err == nil {
		t.Fatal("a bad expect passed")
	}
	for _, want := range []string{"expect.status[0]:", "expect.body_regex:"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	// A problem of an earlier field is reported first, alone.
	spec.Method = ""
	if err := spec.Validate(); err == nil || strings.Contains(err.Error(), "expect") {
		t.Errorf("got %v, want the method's problem alone", err)
	}
}
