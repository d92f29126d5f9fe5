package script

import (
	"errors"
	"testing"
	"time"
)

// The guarded `..` and built-ins behave as Lua 5.1 (and gopher-lua) do for
// ordinary scripts: each snippet asserts its own results.
func TestGuardedBuiltinsKeepLuaSemantics(t *testing.T) {
	tests := []struct {
		name string
		src  string
	}{
		{"concat of strings and numbers", `assert(("a" .. 1 .. "b" .. 2.5) == "a1b2.5"); assert(1 .. 2 == "12")`},
		{"parenthesised and nested", `local a = "x"; assert((a .. "y") .. ("z" .. a) == "xyzx")`},
		{"last operand is one value", `local function f() return "x", "y" end
assert(("a" .. f()) == "ax"); assert(select("#", "a" .. f()) == 1)`},
		{"varargs operand", `local function g(...) return "a" .. ... end; assert(g("b", "c") == "ab")`},
		{"__concat on either side", `local o = setmetatable({}, {__concat = function(a, b)
  return (type(a) == "table" and "O" or a) .. (type(b) == "table" and "O" or b) end})
assert(("a" .. o) == "aO"); assert((o .. "b") == "Ob"); assert(("x" .. o .. "y") == "xOy")`},
		{"in keys, closures and loops", `local t = {["k" .. 1] = 2}; assert(t.k1 == 2)
local s = ""; for i = 1, 3 do s = s .. i end; assert(s == "123")
local function mk(p) return function(x) return p .. x end end; assert(mk("p")("q") == "pq")`},
		{"table.concat", `assert(table.concat({1, 2, 3}, ",") == "1,2,3"); assert(table.concat({"a", "b", "c"}, "", 2) == "bc")
assert(table.concat({"a", "b", "c"}, "-", 2, 3) == "b-c"); assert(table.concat({}) == ""); assert(table.concat({"a"}, ",", 5) == "")
assert(not pcall(table.concat, {"a", {}}))`},
		{"unpack", `assert(select("#", unpack({1, 2, 3})) == 3); local a, b = unpack({1, 2, 3}, 2); assert(a == 2 and b == 3)
assert(select("#", unpack({}, 1, 0)) == 0); assert(select("#", unpack({}, 1, 3)) == 3)`},
		{"string functions", `assert(string.char(72, 105) == "Hi"); assert(("abc"):reverse() == "cba"); assert(("aB"):upper() == "AB")
assert(("aB"):lower() == "ab"); local x, y = ("AB"):byte(1, -1); assert(x == 65 and y == 66)`},
		{"table.sort", `local t = {3, 1, 2}; table.sort(t); assert(table.concat(t) == "123")
t = {"b", "c", "a"}; table.sort(t, function(a, b) return a > b end); assert(table.concat(t) == "cba")
assert(not pcall(table.sort, {1, "a", 2}))`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			newVM(t, tt.src+"\nfunction request() return {path = '/'} end", VMConfig{})
		})
	}
}

func TestConcatErrorNamesTheLine(t *testing.T) {
	_, err := loadSource(t, "local x\n\nlocal y = 'a' .. x\n", nil).NewVM(VMConfig{})
	wantErr(t, err, "scenario.lua:3: cannot perform concat operation between string and nil")
}

// A built-in refused for its size breaks the call even inside pcall: the
// error is a memory limit error naming the built-in, and the VM is rebuilt.
func TestBudgetBreaksTheCallThroughPcall(t *testing.T) {
	vm := newVM(t, `
local calls = 0
function request()
  calls = calls + 1
  if calls == 2 then
    local s = string.rep("x", 1024 * 1024)
    local ok = pcall(function() return s .. s .. s .. s .. s end)
    while true do end
  end
  return {path = "/", query = {calls = calls}}
end`, VMConfig{MemoryLimit: 4 << 20, CallTimeout: time.Minute})
	if _, err := vm.Request(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := vm.Request()
	wantErr(t, err, "concatenation (..): result of 5242880 bytes exceeds the memory limit of 4 MiB", "(in request())")
	if !errors.Is(err, ErrMemoryLimit) {
		t.Errorf("errors.Is(%v, ErrMemoryLimit) = false", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("the call ran %v after the refused concatenation", took)
	}
	spec, err := vm.Request()
	if err != nil || spec.QueryString != "calls=1" {
		t.Fatalf("after the limit: %q, %v; want a rebuilt VM (calls=1)", spec.QueryString, err)
	}
}
