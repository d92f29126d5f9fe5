package lualib

import (
	"slices"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// sequenceScript draws a mix of values from every seeded function.
const sequenceScript = `
local random = require("imager.random")
local uuid = require("imager.uuid")
local out = {}
for i = 1, 20 do
  out[#out + 1] = tostring(random.int(1, 1000000))
  out[#out + 1] = string.format("%.17g", random.float())
  out[#out + 1] = uuid.v4()
  out[#out + 1] = random.string(8)
  out[#out + 1] = random.weighted({"a", "b", "c"}, {1, 2, 3})
end
out[#out + 1] = table.concat(random.shuffle({1, 2, 3, 4, 5, 6, 7, 8}), ",")
return table.concat(out, " ")
`

// sequence runs sequenceScript in a fresh VM seeded with seed.
func sequence(t *testing.T, seed uint64, prelude string) string {
	t.Helper()
	L := lua.NewState()
	defer L.Close()
	Preload(L, &Env{Rand: NewRand(seed)})
	if err := L.DoString(prelude + sequenceScript); err != nil {
		t.Fatalf("seed %d: %v", seed, err)
	}
	return L.Get(-1).String()
}

func TestSeedDeterminism(t *testing.T) {
	a1, a2 := sequence(t, 42, ""), sequence(t, 42, "")
	if a1 != a2 {
		t.Errorf("same seed gave different sequences:\n%s\n%s", a1, a2)
	}
	if b := sequence(t, 43, ""); b == a1 {
		t.Errorf("seeds 42 and 43 gave the same sequence %s", b)
	}
	reseeded := sequence(t, 7, `require("imager.random").seed(42) `)
	if reseeded != a1 {
		t.Errorf("random.seed(42) does not reproduce seed 42:\ngot  %s\nwant %s", reseeded, a1)
	}
}

func TestSeparateVMsHaveSeparateGenerators(t *testing.T) {
	// Two VMs with equal seeds must not disturb each other's sequence.
	L1, L2 := lua.NewState(), lua.NewState()
	defer L1.Close()
	defer L2.Close()
	Preload(L1, &Env{Rand: NewRand(5)})
	Preload(L2, &Env{Rand: NewRand(5)})
	draw := `return require("imager.random").int(1, 1e9)`
	var s1, s2 []string
	for range 5 {
		for _, p := range []struct {
			L   *lua.LState
			out *[]string
		}{{L1, &s1}, {L2, &s2}} {
			if err := p.L.DoString(draw); err != nil {
				t.Fatal(err)
			}
			*p.out = append(*p.out, p.L.Get(-1).String())
			p.L.Pop(1)
		}
	}
	if !slices.Equal(s1, s2) {
		t.Errorf("VM sequences differ: %v vs %v", s1, s2)
	}
}

func TestNames(t *testing.T) {
	want := []string{"imager.data", "imager.encoding", "imager.hash", "imager.json", "imager.log",
		"imager.random", "imager.time", "imager.url", "imager.uuid"}
	if got := Names(); !slices.Equal(got, want) {
		t.Errorf("Names() = %v, want %v", got, want)
	}
}

// TestLoadersWithBaseTableStringOnly loads every module in a VM that has
// only the base, table and string libraries and no package library, the way
// a sandbox would, and calls one function of each.
func TestLoadersWithBaseTableStringOnly(t *testing.T) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	for _, lib := range []struct {
		name string
		fn   lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}} {
		L.Push(L.NewFunction(lib.fn))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("package", lua.LNil)
	env := &Env{Rand: NewRand(1), Dir: testDataDir(t)}
	Preload(L, env) // no package library: must be a harmless no-op
	loaders := Loaders(env)
	loaded := L.NewTable()
	L.SetGlobal("require", L.NewFunction(func(L *lua.LState) int {
		name := L.CheckString(1)
		if v := loaded.RawGetString(name); v != lua.LNil {
			L.Push(v)
			return 1
		}
		loader, ok := loaders[name]
		if !ok {
			L.RaiseError("no module %s", name)
		}
		L.Push(L.NewFunction(loader))
		L.Push(lua.LString(name))
		L.Call(1, 1)
		loaded.RawSetString(name, L.Get(-1))
		return 1
	}))
	script := `
local checks = {
  {"imager.random", function(m) return m.int(1, 1) == 1 end},
  {"imager.json", function(m) return m.encode({a = {1, 2}}) == '{"a":[1,2]}' end},
  {"imager.url", function(m) return m.query({q = "a b"}) == "q=a+b" end},
  {"imager.uuid", function(m) return #m.v4() == 36 end},
  {"imager.time", function(m) return m.now() > 0 end},
  {"imager.data", function(m) return #m.lines("lines.txt") > 0 end},
  {"imager.log", function(m) m.info("hi"); return true end},
  {"imager.encoding", function(m) return m.hex_encode("A") == "41" end},
  {"imager.hash", function(m) return #m.sha256("") == 64 end},
}
local failed = {}
for _, c in ipairs(checks) do
  if not c[2](require(c[1])) then failed[#failed + 1] = c[1] end
end
return table.concat(failed, ",")
`
	if err := L.DoString(script); err != nil {
		t.Fatalf("modules without package/math/os/io: %v", err)
	}
	if failed := L.Get(-1).String(); failed != "" {
		t.Errorf("modules misbehaved: %s", failed)
	}
	if n := len(loaders); n != len(Names()) {
		t.Errorf("Loaders has %d modules, Names %d", n, len(Names()))
	}
}

func TestPreloadRegistersAll(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Preload(L, nil)
	for _, name := range Names() {
		if err := L.DoString(`assert(type(require("` + name + `")) == "table")`); err != nil {
			t.Errorf("require %s: %v", name, err)
		}
	}
	if err := L.DoString(`require("imager.nope")`); err == nil || !strings.Contains(err.Error(), "imager.nope") {
		t.Errorf("unknown module error = %v", err)
	}
}
