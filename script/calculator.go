package script

import (
	"time"

	"github.com/PeladoCollado/imager/types"
)

// LoadCalculator is a load calculator backed by a scenario's rps(round),
// with observe(result) fed by Observe when the scenario defines it. It
// runs one VM and, like every calculator, is called from one goroutine
// (see types.Calculator).
//
// A failing scenario ends the test with an error: when rps or observe
// raises an error, breaks a limit or returns something that is not a rate,
// NextRate returns that error, so the orchestrator reports the test as
// failed with the scenario's file:line message while every round measured
// so far is still reported. When rps returns nil, NextRate returns stop:
// the scenario ended the test normally. Next and Err are the same answers
// in the LoadCalculator form (a negative rate, then the error).
type LoadCalculator struct {
	vm    *VM
	now   func() time.Time
	index int64
	first time.Time
	last  *types.RoundStats
	ended bool
	err   error
}

var (
	_ types.Calculator     = (*LoadCalculator)(nil)
	_ types.LoadCalculator = (*LoadCalculator)(nil)
	_ types.Observer       = (*LoadCalculator)(nil)
)

// NewLoadCalculator makes a calculator on a fresh VM. It fails when the
// scenario has no rps(round) function.
func NewLoadCalculator(s *Scenario, cfg VMConfig) (*LoadCalculator, error) {
	cfg = cfg.withDefaults()
	vm, err := s.NewVM(cfg)
	if err != nil {
		return nil, err
	}
	if !vm.Roles().RPS {
		vm.Close()
		return nil, &MissingFunctionError{Scenario: s.name, Function: FuncRPS}
	}
	return &LoadCalculator{vm: vm, now: cfg.Now}, nil
}

// NextRate calls rps(round) for the next round. round.index counts the
// calls from 0 (rounds skipped without asking do not count), round.elapsed
// is the time since the first call, and round.last is the most recent
// observation. Once it has stopped or failed it gives the same answer on
// every later call.
func (c *LoadCalculator) NextRate(int64) (rps int, stop bool, err error) {
	if c.ended {
		return 0, true, c.err
	}
	now := c.now()
	if c.index == 0 {
		c.first = now
	}
	rps, end, err := c.vm.RPS(Round{Index: c.index, Elapsed: now.Sub(c.first), Last: c.last})
	c.index++
	if err != nil || end {
		c.err = err
		c.ended = true
		return 0, true, err
	}
	return rps, false, nil
}

// Next is NextRate in the LoadCalculator form: -1 when the scenario
// stopped or failed (then Err says which).
func (c *LoadCalculator) Next() int {
	rps, stop, _ := c.NextRate(c.index)
	if stop {
		return -1
	}
	return rps
}

// Observe records a finished round as round.last for the next rps call
// and calls observe(result) when the scenario defines it. An observe
// error ends the test at the next NextRate, like an rps error.
func (c *LoadCalculator) Observe(o types.RoundStats) {
	c.last = &o
	if c.ended {
		return
	}
	if err := c.vm.Observe(o); err != nil {
		c.err = err
		c.ended = true
	}
}

// Err returns the error that ended the test, or nil.
func (c *LoadCalculator) Err() error { return c.err }

// Close releases the VM.
func (c *LoadCalculator) Close() { c.vm.Close() }

// ContinueFrom carries prev's place into c, for a reloaded scenario that
// takes over mid-test: c's round index, elapsed time and last result go on
// from where prev stopped. Call it before c's first Next.
func (c *LoadCalculator) ContinueFrom(prev *LoadCalculator) {
	c.index, c.first, c.last = prev.index, prev.first, prev.last
}
