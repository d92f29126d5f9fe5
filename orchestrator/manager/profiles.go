package manager

import "math"

// The open-loop calculators in this file follow a fixed schedule: every Next
// call is one round and advances the schedule, whatever the rounds' results.
// Like every calculator they are called from one goroutine (see
// types.Calculator).

var (
	_ LoadCalculator = (*stepCalculator)(nil)
	_ LoadCalculator = (*exponentialCalculator)(nil)
	_ LoadCalculator = (*logarithmicCalculator)(nil)
	_ LoadCalculator = constantCalculator(0)
)

// constantCalculator runs every round at one rate.
type constantCalculator int

// NewConstantLoadCalculator returns a calculator that runs every round at
// rps requests per second, until the test's duration ends it. A negative
// rps becomes 0.
func NewConstantLoadCalculator(rps int) LoadCalculator {
	return constantCalculator(max(rps, 0))
}

// Next returns the constant rate.
func (c constantCalculator) Next() int { return int(c) }

// stepCalculator raises the rate by a fixed step each round up to max.
type stepCalculator struct {
	max     int
	step    int
	next    int
	started bool
}

// NewStepFunctionLoadCalculator returns a calculator whose rates rise by step
// each round: min, min+step, min+2*step, ... The step that would pass max is
// clamped to max (max need not be a multiple of step), and max is then
// returned forever. For example min=5, max=12, step=5 gives 5, 10, 12, 12, ...
//
// The constructor cannot fail, so it repairs bad input instead: negative
// min or max become 0, a max below min is raised to min, and a step of zero
// or less becomes 1. Use ValidateRange to reject such values up front.
func NewStepFunctionLoadCalculator(min, max, step int) LoadCalculator {
	min, max = normaliseRange(min, max)
	if step <= 0 {
		step = 1
	}
	return &stepCalculator{max: max, step: step, next: min}
}

// Next returns the rate of the next round and advances by one step.
func (c *stepCalculator) Next() int {
	if c.started {
		c.next = addCapped(c.next, c.step, c.max)
	}
	c.started = true
	return c.next
}

// exponentialCalculator doubles the rate each round up to max.
type exponentialCalculator struct {
	max     int
	next    int
	started bool
}

// NewExponentialLoadCalculator returns a calculator whose rate doubles each
// round: min, 2*min, 4*min, ... The doubling that would pass max is clamped
// to max, and max is then returned forever. With min=0 the sequence is
// 0, 1, 2, 4, 8, ... (the round after a zero rate runs at 1 rps).
//
// The constructor cannot fail, so it repairs bad input instead: negative
// min or max become 0 and a max below min is raised to min. Use
// ValidateRange (with NoStep) to reject such values up front.
func NewExponentialLoadCalculator(min, max int) LoadCalculator {
	min, max = normaliseRange(min, max)
	return &exponentialCalculator{max: max, next: min}
}

// Next returns the rate of the next round and doubles it for the round after.
func (c *exponentialCalculator) Next() int {
	if c.started {
		c.next = doubleCapped(c.next, c.max)
	}
	c.started = true
	return c.next
}

// logRounds is the round index at which the logarithmic calculator reaches
// its maximum.
const logRounds = 10

// logarithmicCalculator rises quickly at first and flattens toward max.
type logarithmicCalculator struct {
	min   int
	max   int
	round int
}

// NewLogarithmicLoadCalculator returns a calculator whose rate rises quickly
// at first and then flattens toward max. The rate of round k (counting from
// 0) is
//
//	r(k) = min + round((max-min) * ln(1+k) / ln(1+10))
//
// for k <= 10, where round is to the nearest integer (halves away from zero),
// so round 0 runs at min and round 10 at max; every later round runs at max.
// For example min=0, max=100 gives 0, 29, 46, 58, 67, 75, 81, 87, 92, 96, 100,
// 100, ...
//
// The constructor cannot fail, so it repairs bad input instead: negative
// min or max become 0 and a max below min is raised to min. Use
// ValidateRange (with NoStep) to reject such values up front.
func NewLogarithmicLoadCalculator(min, max int) LoadCalculator {
	min, max = normaliseRange(min, max)
	return &logarithmicCalculator{min: min, max: max}
}

// Next returns the rate of the next round on the logarithmic curve.
func (c *logarithmicCalculator) Next() int {
	k := c.round
	if k >= logRounds {
		return c.max
	}
	c.round++
	span := float64(c.max - c.min)
	rise := math.Round(span * math.Log1p(float64(k)) / math.Log1p(logRounds))
	return min(c.min+int(rise), c.max)
}
