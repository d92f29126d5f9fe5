package script

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// packLua joins any number of values with commas, as tostring shows them.
const packLua = `
local function pack(...)
  local t = {}
  for i = 1, select("#", ...) do t[i] = tostring((select(i, ...))) end
  return table.concat(t, ",")
end
local function all(f, s)
  local t = {}
  for a, b in f, s do t[#t + 1] = tostring(a) .. (b and ("/" .. tostring(b)) or "") end
  return table.concat(t, ";")
end
`

// TestPatternsMatchGopherLua compares the sandbox's guarded find, match,
// gmatch and gsub with gopher-lua's own.
func TestPatternsMatchGopherLua(t *testing.T) {
	exprs := []string{
		`pack(("hello world"):find("o w"))`,
		`pack(("hello world"):find("o", 6))`,
		`pack(("hello world"):find("l+"))`,
		`pack(("hello"):find("()ll()"))`,
		`pack(("hello"):find("(h)(e)"))`,
		`pack(("hello"):find("xyz"))`,
		`pack(("hello"):find(""))`,
		`pack(("hello"):find("l", -2))`,
		`pack(("a.b"):find(".", 1, true))`,
		`pack(("a.b"):find("%."))`,
		`pack(("hello"):find("^h"))`,
		`pack(("hello"):find("^e"))`,
		`pack(("key=val"):match("(%w+)=(%w+)"))`,
		`pack(("key=val"):match("%w+"))`,
		`pack(("  trim  "):match("^%s*(.-)%s*$"))`,
		`pack(("hello"):match("()ll()"))`,
		`pack(("hello"):match("l", 4))`,
		`pack(("x = [[a]]"):match("%[(%b[])%]"))`,
		`all(("one two three"):gmatch("%a+"))`,
		`all(("a=1, b=2"):gmatch("(%w+)=(%w+)"))`,
		`all(("abc"):gmatch("x*"))`,
		`all(("abc"):gmatch("^a"))`,
		`pack(("hello world"):gsub("o", "0"))`,
		`pack(("hello"):gsub("", "-"))`,
		`pack(("hello world"):gsub("(%w+)", "<%1>"))`,
		`pack(("abc"):gsub("%w", "%0%0"))`,
		`pack(("hello world"):gsub("%w+", {hello = "HI"}))`,
		`pack(("hello world"):gsub("%w+", function(w) return w:upper() end))`,
		`pack(("hello world"):gsub("%w+", function(w) return false end))`,
		`pack(("abc"):gsub("b", "x", 0))`,
		`pack(("aaa"):gsub("a", "b", 2))`,
		`pack(("abc"):gsub("^a", "x"))`,
		`pack(("abc"):gsub("^b", "x"))`,
		`pack(("a,b,,c"):gsub(",", ";"))`,
		`pack(("$1.50"):gsub("%$", "USD "))`,
		`pack(("abc"):gsub("(b)", "%1%1"))`,
		`pack(("abc"):gsub("b()", "%1"))`,
		`pack(("x1y22"):gsub("%d+", {["1"] = "one"}))`,
	}
	plain := lua.NewState()
	defer plain.Close()
	for _, expr := range exprs {
		t.Run(expr, func(t *testing.T) {
			if err := plain.DoString(packLua + "return " + expr); err != nil {
				t.Fatalf("gopher-lua: %v", err)
			}
			want := plain.Get(-1).String()
			plain.Pop(1)
			vm := newVM(t, packLua+"function request() return {path = '/', body = "+expr+"} end", VMConfig{})
			spec, err := vm.Request()
			if err != nil {
				t.Fatal(err)
			}
			if spec.Body != want {
				t.Errorf("sandbox %s = %q, gopher-lua gives %q", expr, spec.Body, want)
			}
		})
	}
}

// TestPatternsLua51 covers where the sandbox follows Lua 5.1 rather than
// gopher-lua.
func TestPatternsLua51(t *testing.T) {
	tests := []struct{ expr, want string }{
		{expr: `pack(("abc"):match("b", 3))`, want: "nil"},
		{expr: `pack(("abc"):gsub("b", "%x"))`, want: "axc,1"},
		{expr: `pack(("abc"):gsub("b", "100%%"))`, want: "a100%c,1"},
		{expr: `pack(("abc"):find("b", 10))`, want: "nil"},
		{expr: `pack(("abc"):gsub("b", 7))`, want: "a7c,1"},
		{expr: `pack(("abc"):find("b", 10, true))`, want: "nil"},
		{expr: `pack(pcall(string.gsub, "abc", "(b)", "%2"))`, want: "false,scenario.lua:12: invalid capture index %2"},
		{expr: `pack(pcall(string.gsub, "abc", "b", {b = {}}))`, want: "false,scenario.lua:12: string.gsub: invalid replacement value (a table)"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			vm := newVM(t, packLua+"function request() return {path = '/', body = "+tt.expr+"} end", VMConfig{})
			spec, err := vm.Request()
			if err != nil {
				t.Fatal(err)
			}
			if spec.Body != tt.want {
				t.Errorf("%s = %q, want %q", tt.expr, spec.Body, tt.want)
			}
		})
	}
}

func TestPatternWork(t *testing.T) {
	tests := []struct {
		n       int
		pattern string
		risky   bool
	}{
		{n: 100, pattern: "%w+=%w+", risky: false},
		{n: 1 << 20, pattern: "abc", risky: false},
		{n: 1 << 24, pattern: "a", risky: true},
		{n: 400, pattern: "a-a-b", risky: true},
		{n: 5000, pattern: "(a*)%1", risky: true},
		{n: 5000, pattern: "%b()", risky: true},
		{n: 50, pattern: "a-a-a-b", risky: false},
	}
	for _, tt := range tests {
		if got := patternWork(tt.n, tt.pattern) > riskyWork; got != tt.risky {
			t.Errorf("patternWork(%d, %q) risky = %v, want %v", tt.n, tt.pattern, got, tt.risky)
		}
	}
}
