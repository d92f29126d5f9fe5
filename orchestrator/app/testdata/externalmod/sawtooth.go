package main

import (
	"errors"
	"fmt"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// sawtooth is a load calculator whose rate climbs from min by step each
// round until it reaches max, then falls straight back to min and climbs
// again: with min 10, max 30 and step 10 the rounds run at 10, 20, 30, 10,
// 20, 30, ... It never ends the test by itself.
type sawtooth struct {
	min, max, step int
	cur            int
	started        bool
}

var _ manager.LoadCalculator = (*sawtooth)(nil)

// newSawtooth checks the range with manager.ValidateRange and
// ValidateStep, so mistakes are reported the way the built-ins report
// them, and returns the calculator.
func newSawtooth(min, max, step int) (*sawtooth, error) {
	if err := errors.Join(manager.ValidateRange(min, max), manager.ValidateStep(step)); err != nil {
		return nil, fmt.Errorf("invalid rate range: %w", err)
	}
	return &sawtooth{min: min, max: max, step: step}, nil
}

// Next returns the rate of the next round. The last tooth step is cut
// short at max, so every cycle touches max before dropping.
func (c *sawtooth) Next() int {
	switch {
	case !c.started:
		c.started = true
		c.cur = c.min
	case c.cur >= c.max:
		c.cur = c.min
	case c.step >= c.max-c.cur:
		c.cur = c.max
	default:
		c.cur += c.step
	}
	return c.cur
}
