package script

import (
	"errors"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "syntax error", src: "function request()\n  return {path = '/'\nend\n", want: "scenario.lua:3: syntax error near 'end'"},
		{name: "unfinished chunk", src: "function request()\n  return {path = '/'}\n", want: "scenario.lua: syntax error at end of file"},
		{name: "bad token", src: "x = 1\ny = @\n", want: "scenario.lua:2: syntax error"},
		{name: "precompiled chunk", src: "\x1bLuaQ\x00", want: "precompiled (binary) chunk"},
		{name: "NUL byte", src: "x = 1\x00", want: "NUL bytes"},
		{name: "too large", src: "-- " + strings.Repeat("x", MaxSourceBytes), want: "larger than 1048576 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(writeFiles(t, map[string]string{"scenario.lua": tt.src}), "scenario.lua")
			_, err := Load(path)
			wantErr(t, err, tt.want)
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.lua")); err == nil {
		t.Error("Load of a missing file: error = nil")
	}
}

func TestShebangLineKeepsLineNumbers(t *testing.T) {
	vm := newVM(t, "#!/usr/bin/env lua\nfunction request()\n  error('boom')\nend\n", VMConfig{})
	_, err := vm.Request()
	wantErr(t, err, "scenario.lua:3: boom")
}

func TestRequestErrors(t *testing.T) {
	tests := []struct {
		name string
		body string // request's body; request is defined on line 1
		want string
	}{
		{name: "runtime error names the failing line", body: "local t = nil\nreturn t.path", want: "scenario.lua:3: attempt to index a non-table object(nil) with key 'path' (in request())"},
		{name: "error() names its line", body: "\nerror('no more data')", want: "scenario.lua:3: no more data (in request())"},
		{name: "error without position", body: "error({code = 1})", want: "scenario.lua:1: request() failed: table:"},
		{name: "wrong return type", body: "return 'hello'", want: `scenario.lua:1: request() returned a string ("hello"), want a table {method, path, query, headers, body, name, expect}`},
		{name: "nothing returned", body: "", want: "scenario.lua:1: request() returned nil, want a table"},
		{name: "unknown field", body: "return {path = '/', heders = {}}", want: `scenario.lua:1: request() returned field "heders": unknown field (want method, path, query, headers, body, name, expect)`},
		{name: "positional value", body: "return {'/x'}", want: "scenario.lua:1: request() returned a table with key a number (1): want only the fields method, path, query, headers, body"},
		{name: "missing path", body: "return {method = 'GET'}", want: `scenario.lua:1: request() returned a request that cannot be sent as written: missing required field "path": want a path starting with '/'`},
		{name: "relative path", body: "return {path = 'x'}", want: `scenario.lua:1: request() returned a request that cannot be sent as written: path "x" must start with '/'`},
		{name: "path with a space", body: "return {path = '/a b'}", want: `path "/a b" holds a space: percent-encode it as %20`},
		{name: "path as number", body: "return {path = 5}", want: "request() returned path a number (5)"},
		{name: "bad method", body: "return {path = '/', method = 'GE T'}", want: `request() returned a request that cannot be sent as written: method "GE T" is not a valid HTTP method token`},
		{name: "empty method", body: "return {path = '/', method = ''}", want: `request() returned method a string (""): want an HTTP method name`},
		{name: "body as table", body: "return {path = '/', body = {}}", want: "request() returned body a table: want a string"},
		{name: "bad header value type", body: "return {path = '/', headers = {['X-A'] = true}}", want: `scenario.lua:1: request() returned headers: ["X-A"] is a boolean (true): want a string or a list of strings`},
		{name: "header value in a list", body: "return {path = '/', headers = {['X-A'] = {'a', {}}}}", want: `request() returned headers: ["X-A"] is a table`},
		{name: "header injection", body: "return {path = '/', headers = {['X-A'] = 'a\\r\\nHost: evil'}}", want: `header X-A: the value "a\r\nHost: evil" holds a CR or LF`},
		{name: "bad header name", body: "return {path = '/', headers = {['X A'] = 'a'}}", want: `header name "X A" is not a valid HTTP token`},
		{name: "headers not a table", body: "return {path = '/', headers = 'X-A: 1'}", want: "request() returned headers: got a string"},
		{name: "query value map", body: "return {path = '/', query = {a = {x = 1}}}", want: `request() returned query: "a" is a table with names: want a value or a list of values`},
		{name: "query value empty table", body: "return {path = '/', query = {a = {}}}", want: `request() returned query: "a" is an empty table`},
		{name: "query in path and field", body: "return {path = '/sum?a=1', query = {b = 2}}", want: `path "/sum?a=1" has a query and the query "b=2" is given too: give it in one place`},
		{name: "query value function", body: "return {path = '/', query = {a = print}}", want: `request() returned query: "a" is a function`},
		{name: "query key number", body: "return {path = '/', query = {1, 2}}", want: "request() returned query: key a number (1): want string names"},
		{name: "query string with space", body: "return {path = '/', query = 'a=1 2'}", want: `query "a=1 2" holds a space`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function request()\n"+tt.body+"\nend\n", VMConfig{})
			_, err := vm.Request()
			wantErr(t, err, tt.want)
		})
	}
}

func TestRPSErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{name: "negative", body: "return -5", want: "scenario.lua:1: rps(round) returned a number (-5): want a rate >= 0, or nil to end the test"},
		{name: "string", body: "return '10'", want: `scenario.lua:1: rps(round) returned a string ("10"): want a number (requests per second), or nil to end the test`},
		{name: "table", body: "return {}", want: "rps(round) returned a table: want a number"},
		{name: "infinite", body: "return math.huge * 2", want: "want a finite rate"},
		{name: "not a number", body: "return 0/0", want: "want a finite rate"},
		{name: "too large", body: "return 1e12", want: "want a rate of at most 1000000000"},
		{name: "runtime error", body: "return round.last.p99", want: "scenario.lua:2: attempt to index a non-table object(nil) with key 'p99' (in rps(round))"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function rps(round)\n"+tt.body+"\nend\n", VMConfig{})
			_, _, err := vm.RPS(Round{})
			wantErr(t, err, tt.want)
		})
	}
}

func TestRoleErrors(t *testing.T) {
	tests := []struct {
		name string
		src  string
		make func(*Scenario) error
		want string
	}{
		{
			name: "source without request",
			src:  "function rps(r) return 1 end",
			make: func(s *Scenario) error { _, err := NewRequestSource(s, VMConfig{}, 2); return err },
			want: "scenario.lua has no request() function",
		},
		{
			name: "calculator without rps",
			src:  "function request() return {path = '/'} end",
			make: func(s *Scenario) error { _, err := NewLoadCalculator(s, VMConfig{}); return err },
			want: "scenario.lua has no rps(round) function",
		},
		{
			name: "neither role",
			src:  "function setup() end",
			make: func(s *Scenario) error { _, err := s.Validate(VMConfig{}); return err },
			want: "scenario.lua: defines neither request() (a request source) nor rps(round) (a load calculator)",
		},
		{
			name: "role that is not a function",
			src:  "request = {path = '/'}",
			make: func(s *Scenario) error { _, err := s.Validate(VMConfig{}); return err },
			want: `scenario.lua: global "request" is a table, want a function`,
		},
		{
			name: "reserved option",
			src:  "function request() return {path = '/'} end",
			make: func(s *Scenario) error {
				_, err := s.NewVM(VMConfig{Options: map[string]string{"flags": "x"}})
				return err
			},
			want: `scenario option "flags" is reserved`,
		},
		{
			name: "error in setup",
			src:  "function setup(options)\n  local n = options.count + 1\nend\nfunction request() return {path = '/'} end",
			make: func(s *Scenario) error { _, err := s.NewVM(VMConfig{}); return err },
			want: "scenario.lua:2: cannot perform add operation between nil and number (in setup(options))",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantErr(t, tt.make(loadSource(t, tt.src, nil)), tt.want)
		})
	}
}

func TestValidateRoles(t *testing.T) {
	tests := []struct {
		src  string
		want Roles
	}{
		{src: "function request() return {path = '/'} end", want: Roles{Request: true}},
		{src: "function rps(r) return 1 end", want: Roles{RPS: true}},
		{src: "function request() return {path = '/'} end\nrps = function(r) return 1 end", want: Roles{Request: true, RPS: true}},
		{src: "function rps(r) return 1 end\nthresholds = {'p99 < 250ms', 'round: error_rate <= 0.01'}",
			want: Roles{RPS: true, Thresholds: []string{"p99 < 250ms", "round: error_rate <= 0.01"}}},
	}
	for _, tt := range tests {
		got, err := loadSource(t, tt.src, nil).Validate(VMConfig{})
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Validate(%q) = %+v, %v; want %+v", tt.src, got, err, tt.want)
		}
	}
}

func TestThresholdsErrors(t *testing.T) {
	tests := []struct{ src, want string }{
		{"function rps(r) return 1 end\nthresholds = 'p99 < 1s'", `scenario.lua: global "thresholds" is a string, want a list of strings such as {"p99 < 250ms"}`},
		{"function rps(r) return 1 end\nthresholds = {'p99 < 1s', 5}", `scenario.lua: thresholds[2] is a number, want a string such as "p99 < 250ms"`},
		{"function rps(r) return 1 end\nthresholds = {p99 = '1s'}", `scenario.lua: thresholds must be a list (keys 1..n), not a table with other keys`},
	}
	for _, tt := range tests {
		_, err := loadSource(t, tt.src, nil).Validate(VMConfig{})
		wantErr(t, err, tt.want)
	}
}

func TestObserveAndResetErrors(t *testing.T) {
	vm := newVM(t, "function rps(r) return 1 end\nfunction observe(r)\n  error('bad observation ' .. r.index)\nend\nfunction reset()\n  error('cannot reset')\nend\n", VMConfig{})
	wantErr(t, vm.Observe(types.RoundStats{Round: 7}), "scenario.lua:3: bad observation 7 (in observe(result))")
	wantErr(t, vm.Reset(), "scenario.lua:6: cannot reset (in reset())")
}

func TestDeepNestingIsRefused(t *testing.T) {
	const n = 20000
	tests := []struct {
		name string
		src  string
	}{
		{name: "tables", src: "return " + strings.Repeat("{", n) + strings.Repeat("}", n)},
		{name: "sum chain", src: "return 1" + strings.Repeat("+1", n)},
		{name: "concat chain", src: "return 'a'" + strings.Repeat("..'a'", n)},
		{name: "unary chain", src: "return " + strings.Repeat("not ", n) + "1"},
		{name: "blocks", src: strings.Repeat("do ", n) + strings.Repeat("end ", n)},
		{name: "functions", src: strings.Repeat("function f() ", n/2) + strings.Repeat("end ", n/2)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Load(filepath.Join(writeFiles(t, map[string]string{"scenario.lua": tt.src}), "scenario.lua"))
			wantErr(t, err, "scenario.lua:1: blocks or expressions nested more than 1000 levels deep")
			if took := time.Since(start); took > 5*time.Second {
				t.Errorf("Load took %v", took)
			}
		})
	}
	// Parentheses leave no trace in the syntax tree; ordinary depth
	// compiles.
	parens := "return " + strings.Repeat("(", n) + "1" + strings.Repeat(")", n)
	if _, err := Load(filepath.Join(writeFiles(t, map[string]string{"scenario.lua": parens}), "scenario.lua")); err != nil {
		t.Errorf("deep parentheses: %v", err)
	}
	src := "function request() return {path = '/' .. " + strings.Repeat("'a' .. ", 150) + "'b'} end"
	if _, err := Load(filepath.Join(writeFiles(t, map[string]string{"scenario.lua": src}), "scenario.lua")); err != nil {
		t.Errorf("a 150-part concatenation: %v", err)
	}
}

// TestMissingFunctionErrorIsTyped: a scenario lacking the function a role
// needs fails with a *MissingFunctionError naming the scenario and the
// function, which the flag layer rewords.
func TestMissingFunctionErrorIsTyped(t *testing.T) {
	_, err := NewRequestSource(loadSource(t, "function rps(r) return 1 end", nil), VMConfig{}, 1)
	var mf *MissingFunctionError
	if !errors.As(err, &mf) || mf.Scenario != "scenario.lua" || mf.Function != FuncRequest {
		t.Errorf("NewRequestSource without request() = %v, want a *MissingFunctionError for request()", err)
	}
	_, err = NewLoadCalculator(loadSource(t, "function request() return {path = '/'} end", nil), VMConfig{})
	if !errors.As(err, &mf) || mf.Function != FuncRPS {
		t.Errorf("NewLoadCalculator without rps() = %v, want a *MissingFunctionError for rps(round)", err)
	}
}

func TestObservationHasCheckFailedAndP999(t *testing.T) {
	vm := newVM(t, "function rps(r) return 1 end\nfunction observe(r)\n  error('cf=' .. r.check_failed .. ' failed=' .. r.failed .. ' p999=' .. r.p999)\nend\n", VMConfig{})
	err := vm.Observe(types.RoundStats{Round: 3, Planned: 10, Success: 6, Failed: 4, CheckFailed: 3, P999: 1500 * time.Microsecond})
	wantErr(t, err, "cf=3 failed=4 p999=1.5 (in observe(result))")
}
