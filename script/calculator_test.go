package script

import (
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/types"
)

// fakeClock is a settable clock for VMConfig.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// seenRound reads entry i (1-based) of the calc scenario's seen table.
func seenRound(t *testing.T, c *LoadCalculator, i int) (index, elapsed float64, lastIndex lua.LValue) {
	t.Helper()
	seen, ok := c.vm.L.GetGlobal("seen").(*lua.LTable)
	if !ok {
		t.Fatal("no seen table")
	}
	r, ok := seen.RawGetInt(i).(*lua.LTable)
	if !ok {
		t.Fatalf("seen[%d] is not a table", i)
	}
	lastIndex = lua.LNil
	if last, ok := r.RawGetString("last").(*lua.LTable); ok {
		lastIndex = last.RawGetString("index")
	}
	return float64(r.RawGetString("index").(lua.LNumber)), float64(r.RawGetString("elapsed").(lua.LNumber)), lastIndex
}

func TestLoadCalculatorSequence(t *testing.T) {
	s, err := Load("testdata/calc/scenario.lua")
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Unix(1000, 0)}
	calc, err := NewLoadCalculator(s, VMConfig{Now: clock.Now, Flags: map[string]any{"max-rps": 30}})
	if err != nil {
		t.Fatal(err)
	}
	defer calc.Close()
	obs := func(round int64, planned int) types.RoundStats {
		return types.RoundStats{Round: round, PlannedRPS: planned, P99: 20 * time.Millisecond}
	}
	steps := []struct {
		advance     time.Duration
		observe     *types.RoundStats
		want        int
		wantElapsed float64
		wantLast    lua.LValue
	}{
		{want: 10, wantElapsed: 0, wantLast: lua.LNil},
		{advance: time.Second, observe: ptr(obs(0, 10)), want: 20, wantElapsed: 1, wantLast: lua.LNumber(0)},
		// No new observation: last is still round 0.
		{advance: 1500 * time.Millisecond, want: 20, wantElapsed: 2.5, wantLast: lua.LNumber(0)},
		// 2*20 is capped by -max-rps 30 (from setup's options.flags).
		{advance: time.Second, observe: ptr(obs(1, 20)), want: 30, wantElapsed: 3.5, wantLast: lua.LNumber(1)},
		// Round 4: rps returns nil and the test ends.
		{advance: time.Second, want: -1, wantElapsed: 4.5, wantLast: lua.LNumber(1)},
	}
	for i, step := range steps {
		clock.Add(step.advance)
		if step.observe != nil {
			calc.Observe(*step.observe)
		}
		if got := calc.Next(); got != step.want {
			t.Fatalf("step %d: Next() = %d, want %d", i, got, step.want)
		}
		index, elapsed, last := seenRound(t, calc, i+1)
		if index != float64(i) || elapsed != step.wantElapsed || last != step.wantLast {
			t.Errorf("step %d: round = {index %v, elapsed %v, last.index %v}, want {%d, %v, %v}", i, index, elapsed, last, i, step.wantElapsed, step.wantLast)
		}
	}
	if got := calc.Next(); got != -1 {
		t.Errorf("Next() after the end = %d, want -1", got)
	}
	if err := calc.Err(); err != nil {
		t.Errorf("Err() = %v, want nil: the scenario ended the test normally", err)
	}
	if got := calc.vm.L.GetGlobal("observed"); got != lua.LNumber(2) {
		t.Errorf("observe() ran %v times, want 2", got)
	}
}

func ptr[T any](v T) *T { return &v }

func TestLoadCalculatorErrors(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		observe bool
		want    string
	}{
		{name: "rps fails", src: "function rps(round)\n  if round.index == 1 then error('out of plan') end\n  return 5\nend", want: "scenario.lua:2: out of plan (in rps(round))"},
		{name: "rps returns a string", src: "function rps(round)\n  if round.index == 1 then return 'ten' end\n  return 5\nend", want: `scenario.lua:1: rps(round) returned a string ("ten")`},
		{name: "observe fails", src: "function rps(round) return 5 end\nfunction observe(r)\n  error('cannot learn')\nend", observe: true, want: "scenario.lua:3: cannot learn (in observe(result))"},
		{name: "rps too slow", src: "function rps(round)\n  if round.index == 1 then while true do end end\n  return 5\nend", want: "rps(round) exceeded the 100ms call time limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calc, err := NewLoadCalculator(loadSource(t, tt.src, nil), VMConfig{CallTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer calc.Close()
			if got := calc.Next(); got != 5 {
				t.Fatalf("first Next() = %d, want 5", got)
			}
			if tt.observe {
				calc.Observe(types.RoundStats{})
			}
			if got := calc.Next(); got != -1 {
				t.Fatalf("Next() = %d, want -1 after the failure", got)
			}
			wantErr(t, calc.Err(), tt.want)
			if got := calc.Next(); got != -1 {
				t.Errorf("Next() after the failure = %d, want -1", got)
			}
		})
	}
}
