package check

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/types"
)

// jsonCheck compiles one JSON check of path for value.
func jsonCheck(t testing.TB, path, value string) *Set {
	t.Helper()
	s, err := Compile("", types.Expect{JSON: map[string]json.RawMessage{path: json.RawMessage(value)}})
	if err != nil {
		t.Fatalf("Compile %s = %s: %v", path, value, err)
	}
	return s
}

func TestJSONValues(t *testing.T) {
	cases := []struct {
		body, path, value string
		pass              bool
	}{
		{`{"a":1}`, "a", `1`, true},
		{`{"a":1}`, "a", `1.0`, true},
		{`{"a":1}`, "a", `1e0`, true},
		{`{"a":10}`, "a", `1E1`, true},
		{`{"a":0.10}`, "a", `1e-1`, true},
		{`{"a":100}`, "a", `1e+2`, true},
		{`{"a":-0}`, "a", `0`, true},
		{`{"a":0.000}`, "a", `-0e5`, true},
		{`{"a":1}`, "a", `-1`, false},
		{`{"a":1}`, "a", `2`, false},
		{`{"a":1}`, "a", `"1"`, false},
		{`{"a":12345678901234567890}`, "a", `12345678901234567891`, false},
		{`{"a":12345678901234567890}`, "a", `1234567890123456789e1`, true},
		{`{"a":1e99999999999999999999}`, "a", `1e99999999999999999999`, true},
		{`{"a":1e99999999999999999999}`, "a", `1e99999999999999999998`, false},
		{`{"a":"x"}`, "a", `"x"`, true},
		{`{"a":"x"}`, "a", `"X"`, false},
		{`{"a":"\u00e9\n\/"}`, "a", `"é\n/"`, true},
		{`{"a":"\ud83d\ude00"}`, "a", `"😀"`, true},
		{`{"a":"\ud83d"}`, "a", `"\ufffd"`, true},
		{"{\"a\":\"\xff\"}", "a", `"\ufffd"`, true},
		{`{"a":"xy"}`, "a", `"x"`, false},
		{`{"a":"x"}`, "a", `"xy"`, false},
		{`{"a":null}`, "a", `null`, true},
		{`{"a":null}`, "a", `false`, false},
		{`{"a":true}`, "a", `true`, true},
		{`{"a":false}`, "a", `true`, false},
		{`{"a":{"x":1,"y":[1,2]}}`, "a", `{"y":[1,2.0],"x":1}`, true},
		{`{"a":{"x":1,"y":[1,2]}}`, "a", `{"y":[2,1],"x":1}`, false},
		{`{"a":{"x":1}}`, "a", `{"x":1,"y":2}`, false},
		{`{"a":[]}`, "a", `[]`, true},
		{`{"a":[]}`, "a", `{}`, false},
		{`{"a":{"b":[{"c":5}]}}`, "a.b[0].c", `5`, true},
		{`{"a":{"b":[{"c":5}]}}`, "a.b[1].c", `5`, false},
		{`{"a":{"b":[{"c":5}]}}`, "a.b.c", `5`, false},
		{`{"a":{"b":[{"c":5}]}}`, "a[0]", `5`, false},
		{`{"x.y":{"z":true}}`, `["x.y"].z`, `true`, true},
		{`{"x":{"y":{"z":true}}}`, `["x.y"].z`, `true`, false},
		{`{"k\u00e9y":1}`, `kéy`, `1`, true},
		{`{"a\"b":1}`, `["a\"b"]`, `1`, true},
		{`{"a":1,"a":2}`, "a", `2`, true},
		{`{"a":{"b":1},"a":{"c":2}}`, "a.b", `1`, false},
		{`[10,20,30]`, "[2]", `30`, true},
		{` 7 `, "$", `7`, true},
		{`{"a":1}`, "$", `{"a":1}`, true},
		{`{"a":1}`, "b", `null`, false},
		{`{"a":1} x`, "a", `1`, false},
		{`{"a":1,}`, "a", `1`, false},
		{`{"a":01}`, "a", `1`, false},
		{`{"a":"\x"}`, "b", `1`, false},
		{`{"a":1}{}`, "a", `1`, false},
		{``, "$", `null`, false},
	}
	for _, c := range cases {
		s := jsonCheck(t, c.path, c.value)
		r := Response{Body: []byte(c.body), BodyLen: int64(len(c.body))}
		if got := s.Judge(r) == -1; got != c.pass {
			t.Errorf("body %s, %s = %s: pass %v, want %v", c.body, c.path, c.value, got, c.pass)
		}
	}
}

func TestScannerAgreesWithEncodingJSON(t *testing.T) {
	docs := []string{
		`{}`, `[]`, `""`, `0`, `-0`, `-`, `01`, `1.`, `.5`, `1e`, `1e+`, `1E-7`, `tru`, `true`, `nul`, `null `,
		`{"a":}`, `{"a"}`, `{,}`, `[1,]`, `[,1]`, `[1 2]`, `"\u12"`, `"\u12G4"`, `"\ud800"`, "\"\x01\"", "\"\t\"",
		`"\/"`, `{"a":[{"b":{"c":[null,true,false,"x",1.5e3]}}]}`, "\xef\xbb\xbf{}", " \r\n\t[ ] ",
		strings.Repeat("[", maxNesting) + strings.Repeat("]", maxNesting),
		strings.Repeat("[", maxNesting+1) + strings.Repeat("]", maxNesting+1),
		strings.Repeat(`{"a":`, maxNesting) + "1" + strings.Repeat("}", maxNesting),
		strings.Repeat(`{"a":`, maxNesting+1) + "1" + strings.Repeat("}", maxNesting+1),
	}
	for _, d := range docs {
		if got, want := valid([]byte(d)), json.Valid([]byte(d)); got != want {
			t.Errorf("valid(%.40q) = %v, encoding/json says %v", d, got, want)
		}
	}
}

// FuzzFind checks the scanner against encoding/json on arbitrary bodies
// and paths: the same documents are valid, the same values found, and a
// value found equals the one encoding/json finds.
func FuzzFind(f *testing.F) {
	f.Add([]byte(okBody), "data.items[1].name")
	f.Add([]byte(`{"a\u00e9":[1,{"b":"\ud83d\ude00"}]}`), `["aé"][1].b`)
	f.Add([]byte(`{"a":1,"a":{"b":2}}`), "a.b")
	f.Add([]byte(`[1e400,-0.0,"x"]`), "[0]")
	f.Add([]byte(`{"a":"\ud800x"}`), "a")
	f.Fuzz(func(t *testing.T, body []byte, rawPath string) {
		path, err := types.ParseJSONPath(rawPath)
		if err != nil {
			path = types.JSONPath{{Key: "a"}}
		}
		got, ok := find(body, path)
		if ok != json.Valid(body) {
			t.Fatalf("find says valid %v, encoding/json %v", ok, !ok)
		}
		if !ok {
			return
		}
		want, found := walk(t, body, path)
		if (got != nil) != found {
			t.Fatalf("path %s: found %q, encoding/json found %v", path, got, found)
		}
		if got == nil {
			return
		}
		e, err := newExpected(got)
		if err != nil {
			t.Fatalf("value %q at %s: %v", got, path, err)
		}
		if !e.matches(want) {
			t.Fatalf("path %s: the value %q does not match encoding/json's %s", path, got, want)
		}
		if e, err := newExpected(want); err != nil || !e.matches(got) {
			t.Fatalf("path %s: encoding/json's value %s does not match %q (%v)", path, want, got, err)
		}
	})
}

// walk finds the value at path by decoding body with encoding/json.
func walk(t *testing.T, body []byte, path types.JSONPath) ([]byte, bool) {
	v, err := decodeTree(body)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	for _, seg := range path {
		switch x := v.(type) {
		case map[string]any:
			if seg.IsIndex {
				return nil, false
			}
			var ok bool
			if v, ok = x[seg.Key]; !ok {
				return nil, false
			}
		case []any:
			if !seg.IsIndex || seg.Index >= len(x) {
				return nil, false
			}
			v = x[seg.Index]
		default:
			return nil, false
		}
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatalf("marshal: %v", err)
	}
	return out, true
}

// FuzzJudge runs a Set with every kind of check on arbitrary responses:
// it never panics, and Judge agrees with Failures.
func FuzzJudge(f *testing.F) {
	f.Add([]byte(okBody), 200, int64(0), "application/json")
	f.Add([]byte(`{"error":"overloaded"}`), 200, int64(0), "text/html")
	f.Add([]byte(``), 204, int64(5000), "")
	f.Add([]byte(`{"status":"ok"`), 500, int64(-1), " application/json ")
	s, err := Compile("fuzz", fullExpect())
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, status int, extra int64, contentType string) {
		r := Response{Status: status, Body: body, BodyLen: int64(len(body)) + extra,
			Headers: []Header{{Name: []byte("Content-Type"), Value: []byte(contentType)}}}
		first, mask := s.Judge(r), s.Failures(r)
		switch {
		case first < 0 && mask != 0, first >= 0 && mask&(1<<first) == 0, first >= 0 && mask&(1<<first-1) != 0:
			t.Fatalf("Judge = %d, Failures = %b", first, mask)
		}
	})
}
