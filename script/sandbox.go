package script

import (
	"fmt"
	"math"
	"runtime/metrics"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// removedGlobals are base-library functions a scenario does not get: they
// load code from files or strings, reach function environments, print to
// the process's stdout, or are gopher-lua's hidden helpers.
var removedGlobals = []string{
	"dofile", "loadfile", "load", "loadstring", "module",
	"getfenv", "setfenv", "_printregs", "newproxy",
}

// unavailable are the globals a scenario reading them is told about: the
// libraries and functions the sandbox leaves out. Other undefined globals
// read as nil, as usual.
var unavailable = map[string]bool{
	"io": true, "debug": true, "package": true, "channel": true,
	"dofile": true, "loadfile": true, "load": true, "loadstring": true, "module": true,
	"getfenv": true, "setfenv": true, "newproxy": true,
}

// allowedOS are the os functions a scenario keeps: clocks and dates only.
var allowedOS = map[string]bool{"time": true, "clock": true, "date": true, "difftime": true}

// maxPrintBytes bounds one print line sent to the logger.
const maxPrintBytes = 4 << 10

// openLibs opens the sandboxed standard library: base (minus loaders and
// environments, with print, collectgarbage and require replaced), table,
// string (with bounded amplifiers and guarded patterns), math (random
// from the VM's seeded generator), os (time, clock, date, difftime) and
// coroutine. There is no io, debug, package or channel library.
func (v *VM) openLibs() error {
	L := v.L
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{
		{lua.BaseLibName, lua.OpenBase},
		{lua.TabLibName, lua.OpenTable},
		{lua.StringLibName, lua.OpenString},
		{lua.MathLibName, lua.OpenMath},
		{lua.OsLibName, lua.OpenOs},
		{lua.CoroutineLibName, lua.OpenCoroutine},
	} {
		if err := L.CallByParam(lua.P{Fn: L.NewFunction(lib.open), NRet: 0, Protect: true}, lua.LString(lib.name)); err != nil {
			return fmt.Errorf("opening the Lua %q library: %w", lib.name, err)
		}
	}
	g := L.G.Global
	for _, name := range removedGlobals {
		g.RawSetString(name, lua.LNil)
	}
	g.RawSetString("print", L.NewFunction(v.print))
	g.RawSetString("collectgarbage", L.NewFunction(v.collectGarbage))
	g.RawSetString("require", L.NewFunction(v.require))
	g.RawSetString(concatGlobal, L.NewFunction(v.concat))
	if err := v.openBuiltinLimits(g); err != nil {
		return err
	}

	osTable, ok := g.RawGetString("os").(*lua.LTable)
	if !ok {
		return fmt.Errorf("opening the Lua os library: no os table")
	}
	var drop []string
	osTable.ForEach(func(k, _ lua.LValue) {
		if name, ok := k.(lua.LString); !ok || !allowedOS[string(name)] {
			drop = append(drop, k.String())
		}
	})
	for _, name := range drop {
		osTable.RawSetString(name, lua.LNil)
	}
	v.explainMissing(g, "", func(name string) bool { return unavailable[name] }, "")
	v.explainMissing(osTable, "os.", func(string) bool { return true }, " (os has only time, clock, date and difftime)")

	mathTable, ok := g.RawGetString("math").(*lua.LTable)
	if !ok {
		return fmt.Errorf("opening the Lua math library: no math table")
	}
	mathTable.RawSetString("random", L.NewFunction(v.mathRandom))
	mathTable.RawSetString("randomseed", L.NewFunction(v.mathRandomSeed))

	strTable, ok := g.RawGetString("string").(*lua.LTable)
	if !ok {
		return fmt.Errorf("opening the Lua string library: no string table")
	}
	v.openStringLimits(strTable)
	v.explainMissing(strTable, "string.", func(name string) bool { return name == "dump" }, "")
	return nil
}

// explainMissing gives t a metatable whose __index raises
// "<prefix><name> is not available in the imager sandbox<hint>" for the
// missing names refuse selects; other missing names read as nil.
func (v *VM) explainMissing(t *lua.LTable, prefix string, refuse func(string) bool, hint string) {
	L := v.L
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
		if name, ok := L.Get(2).(lua.LString); ok && refuse(string(name)) {
			L.RaiseError("%s%s is not available in the imager sandbox%s", prefix, string(name), hint)
		}
		L.Push(lua.LNil)
		return 1
	}))
	L.SetMetatable(t, mt)
}

// print sends its arguments, converted with tostring and separated by
// tabs, to the logger at info level instead of stdout.
func (v *VM) print(L *lua.LState) int {
	var b strings.Builder
	for i := 1; i <= L.GetTop(); i++ {
		if i > 1 {
			b.WriteByte('\t')
		}
		s := L.ToStringMeta(L.Get(i)).String()
		if room := max(maxPrintBytes+1-b.Len(), 0); len(s) > room {
			s = s[:room]
		}
		b.WriteString(s)
		if b.Len() > maxPrintBytes {
			break
		}
	}
	text := b.String()
	if len(text) > maxPrintBytes {
		text = text[:maxPrintBytes] + "...(truncated)"
	}
	v.cfg.Logger.Info(text, "scenario", v.s.name, "source", "print")
	return 0
}

// collectGarbage replaces collectgarbage: a scenario must not force
// process-wide collections. "count" returns the process heap in KiB (an
// approximation: the heap is shared by every VM and the host); the other
// Lua 5.1 options are accepted and do nothing.
func (v *VM) collectGarbage(L *lua.LState) int {
	switch opt := L.OptString(1, "collect"); opt {
	case "count":
		L.Push(lua.LNumber(float64(readHeap([]metrics.Sample{{Name: heapMetric}})) / 1024))
		return 1
	case "collect", "step", "stop", "restart", "setpause", "setstepmul":
		L.Push(lua.LNumber(0))
		return 1
	default:
		L.ArgError(1, fmt.Sprintf("invalid option %q", opt))
		return 0
	}
}

// mathRandom is Lua 5.1's math.random drawn from the VM's generator (the one
// imager.random uses): random() in [0,1), random(m) in [1,m], random(m,n)
// in [m,n].
func (v *VM) mathRandom(L *lua.LState) int {
	r := v.env.Rand
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r.Float64()))
		return 1
	case 1:
		m := L.CheckNumber(1)
		if m < 1 || m > math.MaxInt32 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(1 + r.Int64N(int64(m))))
		return 1
	case 2:
		lo, hi := math.Floor(float64(L.CheckNumber(1))), math.Floor(float64(L.CheckNumber(2)))
		if lo > hi || hi-lo >= math.MaxInt64/2 {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(lo + float64(r.Int64N(int64(hi-lo)+1))))
		return 1
	default:
		L.RaiseError("wrong number of arguments")
		return 0
	}
}

// mathRandomSeed reseeds the VM's generator (shared with imager.random).
func (v *VM) mathRandomSeed(L *lua.LState) int {
	v.env.Rand = lualib.NewRand(uint64(L.CheckInt64(1)))
	return 0
}
