package script

import (
	"fmt"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// LoadCalculator is a load calculator backed by a scenario's rps(round),
// with observe(result) fed by Observe when the scenario defines it. It
// runs one VM; Next and Observe may be called from different goroutines.
//
// A failing scenario ends the test with an error: when rps or observe
// raises an error, breaks a limit or returns something that is not a rate,
// Next returns -1 (the scheduler's "end of test") and Err returns the
// error, so the orchestrator reports the test as failed with the scenario's
// file:line message while every round measured so far is still reported.
// When rps returns nil, Next returns -1 and Err stays nil: the scenario
// ended the test normally.
type LoadCalculator struct {
	mu    sync.Mutex
	vm    *VM
	now   func() time.Time
	index int64
	first time.Time
	last  *manager.LoadObservation
	ended bool
	err   error
}

var (
	_ manager.LoadCalculator         = (*LoadCalculator)(nil)
	_ manager.FeedbackLoadCalculator = (*LoadCalculator)(nil)
	_ manager.FailingCalculator      = (*LoadCalculator)(nil)
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
		return nil, fmt.Errorf("%s: -load-calculator=lua needs an rps(round) function", s.name)
	}
	return &LoadCalculator{vm: vm, now: cfg.Now}, nil
}

// Next calls rps(round) for the next round. round.index counts the calls
// from 0, round.elapsed is the time since the first call, and round.last
// is the most recent observation. It returns -1 when rps returns nil or
// fails, and on every call after that.
func (c *LoadCalculator) Next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return -1
	}
	now := c.now()
	if c.index == 0 {
		c.first = now
	}
	rps, end, err := c.vm.RPS(Round{Index: c.index, Elapsed: now.Sub(c.first), Last: c.last})
	c.index++
	if err != nil {
		c.err = err
		c.ended = true
		return -1
	}
	if end {
		c.ended = true
		return -1
	}
	return rps
}

// Observe records a finished round as round.last for the next rps call
// and calls observe(result) when the scenario defines it. An observe
// error ends the test at the next Next, like an rps error.
func (c *LoadCalculator) Observe(o manager.LoadObservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
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
func (c *LoadCalculator) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Close releases the VM.
func (c *LoadCalculator) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vm.Close()
}

// ContinueFrom carries prev's place into c, for a reloaded scenario that
// takes over mid-test: c's round index, elapsed time and last result go on
// from where prev stopped. Call it before c's first Next.
func (c *LoadCalculator) ContinueFrom(prev *LoadCalculator) {
	prev.mu.Lock()
	index, first, last := prev.index, prev.first, prev.last
	prev.mu.Unlock()
	c.mu.Lock()
	defer c.mu.Unlock()
	c.index, c.first, c.last = index, first, last
}
