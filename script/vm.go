package script

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// Defaults of VMConfig's limits.
const (
	// DefaultCallTimeout bounds each call into Lua.
	DefaultCallTimeout = time.Second
	// DefaultMemoryLimit bounds the heap growth during one call.
	DefaultMemoryLimit = 256 << 20
	// DefaultMaxStringBytes bounds strings built by string.rep,
	// string.format and string.gsub.
	DefaultMaxStringBytes = 16 << 20
	// MaxCallDepth bounds the Lua call stack: deeper recursion fails with
	// a "stack overflow" error.
	MaxCallDepth = 200
)

// Bounds of the Lua value stack, in slots (16 bytes each).
const (
	registryInitial = 4 << 10
	registryMax     = 256 << 10
	// registryGrowStep is how many slots the stack grows by at a time.
	// gopher-lua grows it to what is needed plus this step, copying it
	// each time: with its default of 32 slots, a built-in pushing many
	// values (unpack, string.byte) copied the stack thousands of times
	// and ran for tens of seconds before overflowing.
	registryGrowStep = registryMax / 16
)

// VMConfig configures a VM. The zero value works: limits take their
// defaults.
type VMConfig struct {
	// Seed seeds the VM's random generator (imager.random and
	// math.random), so equal seeds give equal runs.
	Seed int64
	// Options are the -scenario-options key=value pairs, handed to
	// setup(options) as strings.
	Options map[string]string
	// Flags are the built-in flags' values, handed to setup as
	// options.flags; a '-' in a name becomes '_' (min-rps -> min_rps).
	Flags map[string]any
	// Logger receives print output and imager.log records; nil discards.
	Logger *slog.Logger
	// CallTimeout bounds every call into Lua; default 1s.
	CallTimeout time.Duration
	// MemoryLimit bounds the heap growth during one call, in bytes;
	// default 256 MiB.
	MemoryLimit int64
	// MaxStringBytes bounds strings that string.rep, string.format and
	// string.gsub build; default 16 MiB.
	MaxStringBytes int
	// Now is the wall clock of imager.time (nil means time.Now).
	Now func() time.Time
	// Start is the origin of imager.time.monotonic; zero means when the
	// VM is made.
	Start time.Time
}

// withDefaults fills in the zero limits.
func (c VMConfig) withDefaults() VMConfig {
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MemoryLimit <= 0 {
		c.MemoryLimit = DefaultMemoryLimit
	}
	if c.MaxStringBytes <= 0 {
		c.MaxStringBytes = DefaultMaxStringBytes
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// VM is one sandboxed Lua state running a scenario. It has its own
// globals, random generator and module cache: state a scenario keeps in Lua
// variables is per VM. A VM is not safe for concurrent use.
//
// After a call breaks the time or memory limit, the VM throws its Lua state
// away; the next call first rebuilds it from the compiled scenario (running
// the top level and setup again), so the VM stays usable but the
// scenario's Lua state starts over. A plain Lua error (error(), a bad
// index, a bad return value) leaves the state as the failed call left it.
type VM struct {
	s   *Scenario
	cfg VMConfig

	L      *lua.LState
	ctx    context.Context
	cancel context.CancelFunc
	g      *guard
	env    *lualib.Env
	broken error // set when the state must be rebuilt before the next call

	request, rps, setup, reset, observe *lua.LFunction
	thresholds                          []string

	loaders map[string]lua.LGFunction
	loaded  map[string]lua.LValue // require cache
	loading map[string]bool       // modules being loaded, to catch loops

	conv    converter   // scratch space for conversions
	expects expectCache // expect tables request() returned, converted
}

// NewVM makes a VM for the scenario: it opens the sandboxed libraries, runs
// the scenario's top level and then setup(options), if defined, all under
// the configured limits.
func (s *Scenario) NewVM(cfg VMConfig) (*VM, error) {
	cfg = cfg.withDefaults()
	if _, ok := cfg.Options["flags"]; ok {
		return nil, fmt.Errorf("%s: scenario option %q is reserved for the built-in flags", s.name, "flags")
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.Now()
	}
	v := &VM{s: s, cfg: cfg}
	if err := v.init(); err != nil {
		v.Close()
		return nil, err
	}
	return v, nil
}

// init builds a fresh Lua state, runs the chunk and setup.
func (v *VM) init() error {
	if v.L != nil {
		v.closeState()
	}
	v.broken = nil
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.g = newGuard(v.cfg.CallTimeout, v.cfg.MemoryLimit, v.cancel)
	v.L = lua.NewState(lua.Options{
		SkipOpenLibs:     true,
		CallStackSize:    MaxCallDepth,
		RegistrySize:     registryInitial,
		RegistryMaxSize:  registryMax,
		RegistryGrowStep: registryGrowStep,
	})
	v.L.SetContext(v.ctx)
	v.env = &lualib.Env{
		Rand:   lualib.NewRand(uint64(v.cfg.Seed)),
		Dir:    v.s.dir,
		Logger: v.cfg.Logger,
		Now:    v.cfg.Now,
		Start:  v.cfg.Start,
		Budget: v.g.budget,
	}
	v.expects.reset()
	v.loaders = lualib.Loaders(v.env)
	v.loaded = make(map[string]lua.LValue)
	v.loading = make(map[string]bool)
	v.request, v.rps, v.setup, v.reset, v.observe = nil, nil, nil, nil, nil
	if err := v.openLibs(); err != nil {
		return err
	}
	if err := v.call("the top level", v.L.NewFunctionFromProto(v.s.proto), 0, nil); err != nil {
		return err
	}
	var errs []error
	var err error
	for _, f := range []struct {
		name string
		dst  **lua.LFunction
	}{
		{"request", &v.request}, {"rps", &v.rps}, {"setup", &v.setup}, {"reset", &v.reset}, {"observe", &v.observe},
	} {
		switch fn := v.L.GetGlobal(f.name).(type) {
		case *lua.LFunction:
			*f.dst = fn
		case *lua.LNilType:
		default:
			errs = append(errs, fmt.Errorf("%s: global %q is a %s, want a function", v.s.name, f.name, fn.Type()))
		}
	}
	v.thresholds, err = v.readThresholds()
	if err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	if v.setup != nil {
		if err := v.call("setup(options)", v.setup, 0, v.optionsTable()); err != nil {
			return err
		}
	}
	return nil
}

// Roles reports which roles the scenario defines in this VM.
func (v *VM) Roles() Roles {
	return Roles{Request: v.request != nil, RPS: v.rps != nil, Thresholds: v.thresholds}
}

// maxThresholds bounds the thresholds list of a scenario.
const maxThresholds = 100

// readThresholds reads the optional global thresholds: a list of
// threshold expressions, as -threshold takes them.
func (v *VM) readThresholds() ([]string, error) {
	var t *lua.LTable
	switch g := v.L.GetGlobal("thresholds").(type) {
	case *lua.LNilType:
		return nil, nil
	case *lua.LTable:
		t = g
	default:
		return nil, fmt.Errorf("%s: global %q is a %s, want a list of strings such as {\"p99 < 250ms\"}", v.s.name, "thresholds", g.Type())
	}
	n := t.Len()
	if n > maxThresholds {
		return nil, fmt.Errorf("%s: thresholds has %d entries, at most %d allowed", v.s.name, n, maxThresholds)
	}
	keys := 0
	t.ForEach(func(lua.LValue, lua.LValue) { keys++ })
	if keys != n {
		return nil, fmt.Errorf("%s: thresholds must be a list (keys 1..n), not a table with other keys", v.s.name)
	}
	out := make([]string, 0, n)
	for i := 1; i <= n; i++ {
		s, ok := t.RawGetInt(i).(lua.LString)
		if !ok {
			return nil, fmt.Errorf("%s: thresholds[%d] is a %s, want a string such as \"p99 < 250ms\"", v.s.name, i, t.RawGetInt(i).Type())
		}
		out = append(out, string(s))
	}
	return out, nil
}

// Close releases the VM's Lua state. The VM must not be used afterwards.
func (v *VM) Close() {
	if v.L != nil {
		v.closeState()
	}
}

// closeState stops the guard and closes the Lua state.
func (v *VM) closeState() {
	v.g.stop()
	v.cancel()
	v.L.Close()
	v.L = nil
}

// optionsTable builds setup's argument: the -scenario-options as strings,
// with the built-in flags under options.flags.
func (v *VM) optionsTable() *lua.LTable {
	t := v.L.CreateTable(0, len(v.cfg.Options)+1)
	for k, val := range v.cfg.Options {
		t.RawSetString(k, lua.LString(val))
	}
	flags := v.L.CreateTable(0, len(v.cfg.Flags))
	for k, val := range v.cfg.Flags {
		flags.RawSetString(strings.ReplaceAll(k, "-", "_"), toLua(v.L, val))
	}
	t.RawSetString("flags", flags)
	return t
}

// toLua converts a flag value for setup.
func toLua(L *lua.LState, val any) lua.LValue {
	switch x := val.(type) {
	case nil:
		return lua.LNil
	case string:
		return lua.LString(x)
	case bool:
		return lua.LBool(x)
	case int:
		return lua.LNumber(x)
	case int64:
		return lua.LNumber(x)
	case uint64:
		return lua.LNumber(x)
	case float64:
		return lua.LNumber(x)
	case time.Duration:
		return lua.LNumber(x.Seconds())
	case []string:
		t := L.CreateTable(len(x), 0)
		for _, s := range x {
			t.Append(lua.LString(s))
		}
		return t
	case fmt.Stringer:
		return lua.LString(x.String())
	default:
		return lua.LString(fmt.Sprint(x))
	}
}
