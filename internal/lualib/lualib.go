// Package lualib holds the Lua modules a scenario may require: imager.random,
// imager.json, imager.url, imager.uuid, imager.time, imager.data, imager.log,
// imager.encoding and imager.hash. Each module lives in its own Go file whose
// doc comment describes every Lua function precisely; docs/LUA.md is written
// from those comments.
//
// The modules use only the base, table and string libraries of the VM. The
// host hands them what they need from the outside world through an [Env]:
// the VM's random generator (so a -seed makes runs repeatable), the scenario
// folder (the only place imager.data reads from), a logger and a clock.
//
// Conventions shared by every module:
//   - Errors are raised as Lua errors whose text starts with the scenario
//     position and the full function name, for example
//     "scenario.lua:12: imager.random.int: lo (5) is greater than hi (3)".
//   - A "string" argument also accepts a number (converted as tostring would);
//     a "number" argument must be a number; an "integer" must be a number
//     with no fractional part and magnitude at most 2^53.
//   - A "list" is a table with values at keys 1..n (its length is # on it).
//   - Lua numbers are float64: integers above 2^53 lose precision.
package lualib

import (
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// Env is what the modules need from the host VM. One Env per VM: modules keep
// per-VM state (the generator, caches) and a VM runs on one goroutine.
type Env struct {
	// Rand is the VM's generator, seeded by the host from -seed so runs are
	// repeatable; the modules use nothing else for randomness. nil means a
	// generator from NewRand(0), created on first use. imager.random.seed
	// replaces it. VMs seeded alike repeat each other's values and UUIDs:
	// a host running several VMs for one scenario should seed each one
	// differently (for example NewRand(seed + vmIndex)).
	Rand *rand.Rand
	// Dir is the scenario's own folder: imager.data reads only files inside it.
	Dir string
	// Logger receives imager.log records (nil discards them).
	Logger *slog.Logger
	// Now is the wall clock (nil means time.Now).
	Now func() time.Time
	// Start is when the VM started, the origin of imager.time.monotonic.
	// A zero Start means the moment Loaders was called.
	Start time.Time
	// Budget is the memory the running call may still allocate; the
	// modules charge it before building a large result. nil means no
	// limit.
	Budget *Budget
}

// pcgStream is the second PCG seed word used by NewRand: a fixed constant so
// one -seed value names exactly one sequence.
const pcgStream = 0x696d61676572 // "imager"

// NewRand returns the generator imager uses for a seed: a PCG source with
// seed words (seed, a fixed constant). The host should build Env.Rand with it
// so that imager.random.seed(n) in a scenario reproduces a run started with
// -seed=n.
func NewRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, pcgStream))
}

// rng returns the VM's generator, creating the default one if the host gave none.
func (e *Env) rng() *rand.Rand {
	if e.Rand == nil {
		e.Rand = NewRand(0)
	}
	return e.Rand
}

// now reads the wall clock.
func (e *Env) now() time.Time {
	if e.Now == nil {
		return time.Now()
	}
	return e.Now()
}

// Loaders returns module name -> loader for every module. A loader pushes the
// module table and returns 1; it ignores its arguments, so it can be called
// by gopher-lua's require (which passes the name) or by a host's own require.
func Loaders(env *Env) map[string]lua.LGFunction {
	if env == nil {
		env = &Env{}
	}
	start := env.Start
	if start.IsZero() {
		start = env.now()
	}
	return map[string]lua.LGFunction{
		ModuleData:     dataLoader(env),
		ModuleEncoding: encodingLoader(env),
		ModuleHash:     hashLoader,
		ModuleJSON:     jsonLoader(env),
		ModuleLog:      logLoader(env),
		ModuleRandom:   randomLoader(env),
		ModuleTime:     timeLoader(env, start),
		ModuleURL:      urlLoader(env),
		ModuleUUID:     uuidLoader(env),
	}
}

// Names returns the module names, sorted.
func Names() []string {
	names := make([]string, 0, 9)
	for name := range Loaders(&Env{}) {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Preload registers every module in L's package.preload table so that
// require("imager.json") works with gopher-lua's require. When the VM has no
// package library (package.preload is not a table) it registers nothing: such
// a host should resolve names through Loaders instead.
func Preload(L *lua.LState, env *Env) {
	pkg, ok := L.GetGlobal("package").(*lua.LTable)
	if !ok {
		return
	}
	preload, ok := pkg.RawGetString("preload").(*lua.LTable)
	if !ok {
		return
	}
	for name, loader := range Loaders(env) {
		preload.RawSetString(name, L.NewFunction(loader))
	}
}

// newModule builds a module table from its functions.
func newModule(L *lua.LState, funcs map[string]lua.LGFunction) *lua.LTable {
	mod := L.CreateTable(0, len(funcs))
	for name, fn := range funcs {
		mod.RawSetString(name, L.NewFunction(fn))
	}
	return mod
}

// raise raises a Lua error "<fn>: <message>" positioned at the Lua caller.
func raise(L *lua.LState, fn, format string, args ...any) {
	L.RaiseError("%s: %s", fn, fmt.Sprintf(format, args...))
}

// typeName is the Lua type name of argument n ("no value" when absent).
func typeName(L *lua.LState, n int) string {
	if n > L.GetTop() {
		return "no value"
	}
	return L.Get(n).Type().String()
}

// checkString returns string argument n (numbers are converted).
func checkString(L *lua.LState, n int, fn, arg string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return formatNumber(float64(v))
	}
	raise(L, fn, "argument #%d (%s) must be a string, got %s", n, arg, typeName(L, n))
	return ""
}

// optString returns string argument n or def when it is nil or absent.
func optString(L *lua.LState, n int, fn, arg, def string) string {
	if L.Get(n) == lua.LNil {
		return def
	}
	return checkString(L, n, fn, arg)
}

// checkNumber returns number argument n.
func checkNumber(L *lua.LState, n int, fn, arg string) float64 {
	if v, ok := L.Get(n).(lua.LNumber); ok {
		return float64(v)
	}
	raise(L, fn, "argument #%d (%s) must be a number, got %s", n, arg, typeName(L, n))
	return 0
}

// maxExactInt is the largest integer a Lua number (float64) holds exactly.
const maxExactInt = 1 << 53

// checkInt returns integer argument n: a number with no fraction, |n| <= 2^53.
func checkInt(L *lua.LState, n int, fn, arg string) int64 {
	f := checkNumber(L, n, fn, arg)
	if f != math.Trunc(f) || math.Abs(f) > maxExactInt {
		raise(L, fn, "argument #%d (%s) must be an integer within ±2^53, got %s", n, arg, formatNumber(f))
	}
	return int64(f)
}

// checkTable returns table argument n.
func checkTable(L *lua.LState, n int, fn, arg string) *lua.LTable {
	if t, ok := L.Get(n).(*lua.LTable); ok {
		return t
	}
	raise(L, fn, "argument #%d (%s) must be a table, got %s", n, arg, typeName(L, n))
	return nil
}

// optTable returns table argument n, or nil when it is nil or absent.
func optTable(L *lua.LState, n int, fn, arg string) *lua.LTable {
	if L.Get(n) == lua.LNil {
		return nil
	}
	return checkTable(L, n, fn, arg)
}

// listLen is the length of the sequence 1..n in t, counting integer keys that
// gopher-lua stored outside the array part.
func listLen(t *lua.LTable) int {
	n := t.Len()
	for t.RawGetInt(n+1) != lua.LNil {
		n++
	}
	return n
}

// formatNumber renders a Lua number the way tostring does for integers and
// with the shortest round-trip form otherwise.
func formatNumber(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}
