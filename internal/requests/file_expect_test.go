package requests

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

func TestFileSourceExpect(t *testing.T) {
	path := writeRequests(t, `{"method":"GET","path":"/a"}
{"method":"GET","path":"/b","name":"b","expect":{"status":["200-299",304],"body_contains":"ok","body_regex":"^\\{","json":{"data.id":7},"header":{"ETag":true,"Content-Type":"application/json"},"max_body_bytes":1024,"max_latency":"250ms","name":"bee"}}
{"method":"GET","path":"/c","expect":{}}
{"method":"GET","path":"/d","expect":null}
`)
	src, err := NewFileSource(path)
	if err != nil {
		t.Fatal(err)
	}
	specs := nextN(t, src, 4)
	want := &types.Expect{
		Name:         "bee",
		Status:       []types.StatusRange{{Lo: 200, Hi: 299}, {Lo: 304, Hi: 304}},
		BodyContains: []string{"ok"},
		BodyRegex:    `^\{`,
		JSON:         map[string]json.RawMessage{"data.id": json.RawMessage("7")},
		Header:       map[string]types.HeaderMatch{"ETag": {Present: true}, "Content-Type": {Value: "application/json"}},
		MaxBodyBytes: 1024,
		MaxLatency:   250 * time.Millisecond,
	}
	if specs[0].Expect != nil {
		t.Errorf("a record without expect got %+v", specs[0].Expect)
	}
	if !reflect.DeepEqual(specs[1].Expect, want) {
		t.Errorf("expect\ngot  %+v\nwant %+v", specs[1].Expect, want)
	}
	// An empty object is checks of its own (none), unlike no expect.
	if specs[2].Expect == nil || specs[2].Expect.CheckCount() != 0 {
		t.Errorf(`"expect":{} gave %+v, want an empty Expect`, specs[2].Expect)
	}
	if specs[3].Expect != nil {
		t.Errorf(`"expect":null gave %+v, want nil`, specs[3].Expect)
	}
}

func TestFileSourceExpectRefused(t *testing.T) {
	cases := []struct{ name, expect, want string }{
		{"bad regex", `{"body_regex":"a("}`, `:2: expect.body_regex: "a(" is not an RE2 regular expression`},
		{"bad path", `{"json":{"a..b":1}}`, `:2: expect.json["a..b"]: JSON path "a..b" has an empty member name`},
		{"reversed range", `{"status":"299-200"}`, `:2: expect.status[0]: "299-200": the range starts above its end`},
		{"out of range", `{"status":[200,600]}`, `:2: expect.status[1]: "600": status codes run from 100 to 599`},
		{"not a range", `{"status":"2xx"}`, `:2: expect.status: "2xx" is not a status code or range`},
		{"unknown key", `{"statuss":200}`, `:2: expect: unknown key "statuss"`},
		{"bad latency", `{"max_latency":"fast"}`, `:2: expect.max_latency: "fast" is not a duration`},
		{"bad header", `{"header":{"Bad Name":true}}`, `:2: expect.header["Bad Name"]: the name is not a valid HTTP token`},
		{"not an object", `200`, `:2: expect: a JSON number is not allowed here`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := writeRequests(t, "{\"method\":\"GET\",\"path\":\"/ok\"}\n{\"method\":\"GET\",\"path\":\"/\",\"expect\":"+c.expect+"}\n")
			_, err := NewFileSource(path)
			if err == nil {
				t.Fatal("accepted")
			}
			if !strings.HasPrefix(err.Error(), path+":2: ") || !strings.Contains(err.Error(), path+c.want) {
				t.Errorf("got  %v\nwant %s%s", err, path, c.want)
			}
		})
	}
}

// Every problem of an expect object is reported, each on a line of its
// own that says where it is.
func TestFileSourceExpectAllProblems(t *testing.T) {
	path := writeRequests(t, `{"method":"GET","path":"/","expect":{"status":"600","body_regex":"(","json":{"a..b":1}}}`+"\n")
	_, err := NewFileSource(path)
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%v", len(lines), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, path+":1: expect.") {
			t.Errorf("line %q does not start with %s:1: expect.", l, path)
		}
	}
}
