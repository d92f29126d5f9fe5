package script

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

func TestRequestExpect(t *testing.T) {
	vm := newVM(t, `local json = require("imager.json")
function request()
  return {path = "/a", name = "a", expect = {
    name = "checks",
    status = {200, "204", "300-302"},
    body_contains = {"ok", "id"},
    body_regex = "^\\{",
    json = {["data.id"] = 7, ["$.tags"] = {"x", "y"}, ["meta"] = {n = 1.5}, empty = json.array(), none = json.null, ok = true},
    header = {["Content-Type"] = "application/json", ETag = true},
    max_body_bytes = 65536,
    max_latency = "250ms",
  }}
end
`, VMConfig{})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	want := &types.Expect{
		Name:         "checks",
		Status:       []types.StatusRange{{Lo: 200, Hi: 200}, {Lo: 204, Hi: 204}, {Lo: 300, Hi: 302}},
		BodyContains: []string{"ok", "id"},
		BodyRegex:    `^\{`,
		JSON: map[string]json.RawMessage{
			"data.id": json.RawMessage(`7`), "$.tags": json.RawMessage(`["x","y"]`), "meta": json.RawMessage(`{"n":1.5}`),
			"empty": json.RawMessage(`[]`), "none": json.RawMessage(`null`), "ok": json.RawMessage(`true`),
		},
		Header:       map[string]types.HeaderMatch{"Content-Type": {Value: "application/json"}, "ETag": {Present: true}},
		MaxBodyBytes: 65536,
		MaxLatency:   250 * time.Millisecond,
	}
	if !reflect.DeepEqual(spec.Expect, want) {
		t.Fatalf("expect\ngot  %+v\nwant %+v", spec.Expect, want)
	}
}

func TestRequestExpectSingleValues(t *testing.T) {
	vm := newVM(t, `function request()
  return {path = "/", expect = {status = "200-299", body_contains = "ok"}}
end
`, VMConfig{})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	want := &types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 299}}, BodyContains: []string{"ok"}}
	if !reflect.DeepEqual(spec.Expect, want) {
		t.Fatalf("got %+v, want %+v", spec.Expect, want)
	}
}

// A bad expect table is refused naming request()'s scenario position and
// the key at fault; lists count from 1, as in Lua.
func TestRequestExpectErrors(t *testing.T) {
	tests := []struct{ name, expect, want string }{
		{"bad regex", `{body_regex = "a("}`, `scenario.lua:1: request() returned expect.body_regex: "a(" is not an RE2 regular expression`},
		{"bad path", `{json = {["a..b"] = 1}}`, `scenario.lua:1: request() returned expect.json["a..b"]: JSON path "a..b" has an empty member name`},
		{"reversed range", `{status = {200, "299-200"}}`, `scenario.lua:1: request() returned expect.status[2]: "299-200": the range starts above its end`},
		{"code out of range", `{status = 600}`, `scenario.lua:1: request() returned expect.status: "600": status codes run from 100 to 599`},
		{"not a range", `{status = {"2xx"}}`, `expect.status[1]: "2xx" is not a status code or range`},
		{"fractional code", `{status = 200.5}`, `expect.status: a number (200.5) is not a status code`},
		{"status map", `{status = {ok = 200}}`, `expect.status is a table with keys other than 1..n: want a list`},
		{"status boolean", `{status = {true}}`, `expect.status[1] is a boolean (true): want a status code`},
		{"empty contains", `{body_contains = {"a", ""}}`, `expect.body_contains[2]: the text is empty`},
		{"contains number", `{body_contains = 5}`, `expect.body_contains is a number (5): want a string`},
		{"unknown key", `{statuss = 200}`, `request() returned expect has the unknown key "statuss" (known: name, status`},
		{"positional key", `{200}`, `expect has the key a number (1): want only the keys`},
		{"not a table", `"200"`, `request() returned expect is a string ("200"): want a table`},
		{"json not a table", `{json = "a=1"}`, `expect.json is a string ("a=1"): want a table of path = value`},
		{"json value function", `{json = {a = print}}`, `expect.json["a"]: the value cannot be JSON: $: cannot encode a function`},
		{"header false", `{header = {ETag = false}}`, `expect.header["ETag"] is false: want a string (the value) or true (present)`},
		{"header bad name", `{header = {["Bad Name"] = true}}`, `expect.header["Bad Name"]: the name is not a valid HTTP token`},
		{"latency number", `{max_latency = 250}`, `expect.max_latency is a number (250): want a duration string such as "250ms"`},
		{"latency bad", `{max_latency = "fast"}`, `expect.max_latency: "fast" is not a duration`},
		{"bytes fraction", `{max_body_bytes = 1.5}`, `expect.max_body_bytes is a number (1.5): want a whole number of bytes`},
		{"bytes negative", `{max_body_bytes = -1}`, `expect.max_body_bytes: -1 is negative`},
		{"name not a string", `{name = 1}`, `expect.name is a number (1): want a string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function request() return {path = '/', expect = "+tt.expect+"} end\n", VMConfig{})
			_, err := vm.Request()
			wantErr(t, err, tt.want)
			if !strings.HasPrefix(err.Error(), "scenario.lua:1: request() returned ") {
				t.Errorf("error %q does not start with the scenario position", err)
			}
		})
	}
}

// Every problem of a table is reported, each line with the position.
func TestRequestExpectAllProblems(t *testing.T) {
	vm := newVM(t, "function request()\n  return {path = '/', expect = {status = 600, body_regex = '(', max_latency = 5}}\nend\n", VMConfig{})
	_, err := vm.Request()
	if err == nil {
		t.Fatal("accepted")
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d lines, want 3:\n%v", len(lines), err)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "scenario.lua:1: request() returned expect.") {
			t.Errorf("line %q lacks the position", l)
		}
	}
}

// A table returned again and again is converted once: every request
// shares the same *types.Expect, equal to a fresh conversion. A table
// changed in place is converted again.
func TestRequestExpectCached(t *testing.T) {
	vm := newVM(t, `local checks = {status = "200-299", json = {["a.b"] = {1, 2}}, header = {ETag = true}}
local n = 0
function request()
  n = n + 1
  if n == 4 then checks.status = 404 end
  if n == 6 then checks.json["a.b"][2] = 3 end
  return {path = "/", expect = checks}
end
`, VMConfig{})
	var got []*types.Expect
	for range 7 {
		spec, err := vm.Request()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, spec.Expect)
	}
	if got[0] != got[1] || got[1] != got[2] {
		t.Error("an unchanged table was converted again")
	}
	first := &types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 299}}, JSON: map[string]json.RawMessage{"a.b": json.RawMessage(`[1,2]`)},
		Header: map[string]types.HeaderMatch{"ETag": {Present: true}}}
	if !reflect.DeepEqual(got[0], first) {
		t.Errorf("got %+v, want %+v", got[0], first)
	}
	if got[3] == got[2] || !reflect.DeepEqual(got[3].Status, []types.StatusRange{{Lo: 404, Hi: 404}}) {
		t.Errorf("after status changed: got %+v", got[3])
	}
	if got[4] != got[3] {
		t.Error("the changed table was not cached again")
	}
	if string(got[5].JSON["a.b"]) != `[1,3]` {
		t.Errorf("after a nested change: got %s, want [1,3]", got[5].JSON["a.b"])
	}
	if got[6] != got[5] {
		t.Error("the changed table was not cached again")
	}
}

// Fresh tables for every request are converted every time, and the cache
// stays bounded.
func TestRequestExpectCacheBounded(t *testing.T) {
	vm := newVM(t, `local n = 0
function request()
  n = n + 1
  return {path = "/", expect = {status = 200 + n % 100}}
end
`, VMConfig{})
	for i := range 3 * maxCachedExpects {
		spec, err := vm.Request()
		if err != nil {
			t.Fatal(err)
		}
		if want := 200 + (i+1)%100; spec.Expect.Status[0].Lo != want {
			t.Fatalf("request %d: status %d, want %d", i, spec.Expect.Status[0].Lo, want)
		}
		if len(vm.expects.entries) > maxCachedExpects {
			t.Fatalf("the cache holds %d tables, more than %d", len(vm.expects.entries), maxCachedExpects)
		}
	}
}

// A request without expect has none.
func TestRequestWithoutExpect(t *testing.T) {
	vm := newVM(t, "function request() return {path = '/'} end\n", VMConfig{})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	if spec.Expect != nil {
		t.Fatalf("got %+v, want nil", spec.Expect)
	}
}
