package manager_test

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// The examples print the rates of a calculator's first rounds with take
// (in profiles_test.go), which calls Next once per round, as the
// orchestrator does before each round starts.

// The step calculator climbs by step each round and holds at max; the
// last step is cut short at max.
func ExampleNewStepFunctionLoadCalculator() {
	fmt.Println(take(manager.NewStepFunctionLoadCalculator(5, 12, 5), 5))
	fmt.Println(take(manager.NewStepFunctionLoadCalculator(10, 50, 10), 7))
	// Output:
	// [5 10 12 12 12]
	// [10 20 30 40 50 50 50]
}

// The exponential calculator doubles the rate each round up to max.
func ExampleNewExponentialLoadCalculator() {
	fmt.Println(take(manager.NewExponentialLoadCalculator(10, 100), 6))
	fmt.Println(take(manager.NewExponentialLoadCalculator(0, 20), 7))
	// Output:
	// [10 20 40 80 100 100]
	// [0 1 2 4 8 16 20]
}

// The logarithmic calculator rises fast at first and reaches max at
// round 10.
func ExampleNewLogarithmicLoadCalculator() {
	fmt.Println(take(manager.NewLogarithmicLoadCalculator(0, 100), 12))
	// Output:
	// [0 29 46 58 67 75 81 87 92 96 100 100]
}

// The constant calculator runs every round at one rate; the test's
// duration ends it.
func ExampleNewConstantLoadCalculator() {
	fmt.Println(take(manager.NewConstantLoadCalculator(25), 4))
	// Output:
	// [25 25 25 25]
}

// The adaptive calculator is a FeedbackLoadCalculator: it moves on only
// when Observe delivers a finished round. Here a modelled target answers
// within 40ms up to 100 rps and takes 900ms beyond, and every round is
// observed before the next is planned. The calculator ramps by doubling,
// backs off to 1 rps after the breach at 160, probes between the highest
// healthy rate and the breach, and holds the highest sustainable rate
// found at a granularity of 10 rps.
func ExampleNewAdaptiveExponentialLoadCalculator() {
	calc := manager.NewAdaptiveExponentialLoadCalculator(10, 400, 250)
	feedback, ok := calc.(manager.FeedbackLoadCalculator)
	if !ok {
		fmt.Println("not a feedback calculator")
		return
	}
	p99 := func(rps int) time.Duration {
		if rps <= 100 {
			return 40 * time.Millisecond
		}
		return 900 * time.Millisecond
	}
	var seq []int
	for round := range int64(14) {
		rps := calc.Next()
		seq = append(seq, rps)
		feedback.Observe(manager.LoadObservation{
			Round: round, PlannedRPS: rps, AchievedRPS: float64(rps),
			Planned: int64(rps), Sent: int64(rps), Success: int64(rps),
			P50: p99(rps) / 2, P90: p99(rps), P99: p99(rps), Max: p99(rps),
		})
	}
	fmt.Println(seq)
	// Output:
	// [10 20 40 80 160 1 120 1 100 1 110 1 100 100]
}

// burstCalculator is a custom calculator: a steady base rate with a burst
// every few rounds. It is safe for concurrent use.
type burstCalculator struct {
	mu    sync.Mutex
	base  int
	burst int
	every int
	round int
}

var _ manager.LoadCalculator = (*burstCalculator)(nil)

// Next returns the burst rate every few rounds and the base rate otherwise.
func (c *burstCalculator) Next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.round++
	if c.round%c.every == 0 {
		return c.burst
	}
	return c.base
}

// A custom calculator only needs a Next method to be used wherever the
// orchestrator takes a manager.LoadCalculator.
func ExampleLoadCalculator() {
	var calc manager.LoadCalculator = &burstCalculator{base: 20, burst: 200, every: 3}
	rates := make([]int, 7)
	for i := range rates {
		rates[i] = calc.Next()
	}
	fmt.Println(rates)
	// Output: [20 20 200 20 20 200 20]
}

// sawtooth is a custom calculator that ends the test by itself: it climbs
// from min to max in three rounds, falls back to min and climbs again, and
// returns a negative rate once it has run its rounds.
type sawtooth struct {
	min, max, rounds, round int
}

var _ manager.LoadCalculator = (*sawtooth)(nil)

// Next returns the rate of the next round, or -1 once rounds have run.
func (s *sawtooth) Next() int {
	if s.round >= s.rounds {
		return -1
	}
	tooth := s.round % 3
	s.round++
	return s.min + (s.max-s.min)*tooth/2
}

// Next returning a negative rate ends the test: the orchestrator plans no
// round after it.
func ExampleLoadCalculator_endOfTest() {
	fmt.Println(take(&sawtooth{min: 10, max: 30, rounds: 7}, 8))
	// Output:
	// [10 20 30 10 20 30 10 -1]
}

// ValidateRange checks a rate range the way the built-in calculators'
// flags are checked; a custom calculator's factory can use it and name
// the values its own way with RangeError.Format.
func ExampleValidateRange() {
	fmt.Println(manager.ValidateRange(10, 30))
	fmt.Println(manager.ValidateRange(30, 10))
	var re *manager.RangeError
	if err := manager.ValidateStep(0); errors.As(err, &re) {
		fmt.Println(re.Format(func(field string) string { return "-" + field + "-rps" }))
	}
	// Output:
	// <nil>
	// min rate (30) is greater than max rate (10)
	// -step-rps (0) must be greater than zero
}
