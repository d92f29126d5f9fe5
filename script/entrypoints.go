package script

import (
	"fmt"
	"math"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/types"
)

// The scenario functions a VM calls: request(), rps(round), observe(result)
// and reset(), with the tables they take and give.

// MaxRPS is the largest rate rps(round) may return.
const MaxRPS = 1_000_000_000

// Round is what rps(round) sees: the round about to be planned.
type Round struct {
	// Index counts rounds from 0.
	Index int64
	// Elapsed is the time since the first round was planned.
	Elapsed time.Duration
	// Last is the most recent finished round, nil before the first.
	Last *types.RoundStats
}

// Request calls request() and converts the request table it returns.
func (v *VM) Request() (types.RequestSpec, error) {
	if err := v.ready(); err != nil {
		return types.RequestSpec{}, err
	}
	if v.request == nil {
		return types.RequestSpec{}, fmt.Errorf("%s: no request() function", v.s.name)
	}
	if err := v.call("request()", v.request, 1, nil); err != nil {
		return types.RequestSpec{}, err
	}
	ret := v.L.Get(-1)
	v.L.Pop(1)
	return v.toRequest(ret)
}

// RPS calls rps(round). It returns the rate (non-integers rounded), or
// end=true when rps returned nil. A negative, non-finite or non-number
// result is an error.
func (v *VM) RPS(round Round) (rps int, end bool, err error) {
	if err := v.ready(); err != nil {
		return 0, false, err
	}
	if v.rps == nil {
		return 0, false, fmt.Errorf("%s: no rps(round) function", v.s.name)
	}
	if err := v.call("rps(round)", v.rps, 1, v.roundTable(round)); err != nil {
		return 0, false, err
	}
	ret := v.L.Get(-1)
	v.L.Pop(1)
	switch x := ret.(type) {
	case *lua.LNilType:
		return 0, true, nil
	case lua.LNumber:
		f := float64(x)
		switch {
		case math.IsNaN(f) || math.IsInf(f, 0):
			return 0, false, v.convError(v.rps, "rps(round) returned %s: want a finite rate >= 0, or nil to end the test", describe(ret))
		case f < 0:
			return 0, false, v.convError(v.rps, "rps(round) returned %s: want a rate >= 0, or nil to end the test", describe(ret))
		case f > MaxRPS:
			return 0, false, v.convError(v.rps, "rps(round) returned %s: want a rate of at most %d", describe(ret), MaxRPS)
		}
		return int(math.Round(f)), false, nil
	default:
		return 0, false, v.convError(v.rps, "rps(round) returned %s: want a number (requests per second), or nil to end the test", describe(ret))
	}
}

// Observe calls observe(result) with a finished round's results, if the
// scenario defines observe.
func (v *VM) Observe(o types.RoundStats) error {
	if err := v.ready(); err != nil {
		return err
	}
	if v.observe == nil {
		return nil
	}
	return v.call("observe(result)", v.observe, 0, v.observationTable(o))
}

// Reset calls reset(), if the scenario defines it.
func (v *VM) Reset() error {
	if err := v.ready(); err != nil {
		return err
	}
	if v.reset == nil {
		return nil
	}
	return v.call("reset()", v.reset, 0, nil)
}

// roundTable builds rps's argument {index, elapsed, last}.
func (v *VM) roundTable(r Round) *lua.LTable {
	t := v.L.CreateTable(0, 3)
	t.RawSetString("index", lua.LNumber(r.Index))
	t.RawSetString("elapsed", lua.LNumber(r.Elapsed.Seconds()))
	if r.Last != nil {
		t.RawSetString("last", v.observationTable(*r.Last))
	}
	return t
}

// observationTable converts a finished round's results; latencies are in
// milliseconds.
func (v *VM) observationTable(o types.RoundStats) *lua.LTable {
	t := v.L.CreateTable(0, 16)
	ms := func(d time.Duration) lua.LNumber { return lua.LNumber(float64(d) / float64(time.Millisecond)) }
	t.RawSetString("index", lua.LNumber(o.Round))
	t.RawSetString("planned_rps", lua.LNumber(o.PlannedRPS))
	t.RawSetString("achieved_rps", lua.LNumber(o.AchievedRPS))
	t.RawSetString("planned", lua.LNumber(o.Planned))
	t.RawSetString("sent", lua.LNumber(o.Sent))
	t.RawSetString("success", lua.LNumber(o.Success))
	t.RawSetString("failed", lua.LNumber(o.Failed))
	t.RawSetString("timeouts", lua.LNumber(o.Timeouts))
	t.RawSetString("dropped", lua.LNumber(o.Dropped))
	t.RawSetString("lost", lua.LNumber(o.Lost))
	t.RawSetString("check_failed", lua.LNumber(o.CheckFailed))
	t.RawSetString("p50", ms(o.P50))
	t.RawSetString("p90", ms(o.P90))
	t.RawSetString("p99", ms(o.P99))
	t.RawSetString("p999", ms(o.P999))
	t.RawSetString("max", ms(o.Max))
	return t
}
