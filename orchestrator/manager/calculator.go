// Package manager plans the orchestrator's load. It defines LoadCalculator,
// the interface that picks each round's request rate, and
// FeedbackLoadCalculator for calculators that also learn from the results of
// finished rounds. It ships the built-in calculators: constant, step,
// exponential, logarithmic and adaptive-exponential. The package also hosts
// the executor registry and the round scheduler that drive the calculators.
package manager

import (
	"errors"
	"fmt"
	"time"
)

// LoadCalculator decides the requests-per-second of the next round. The
// orchestrator calls Next once for each round, in round order, before the
// round starts. Next should never return a negative rate.
//
// A custom calculator only has to implement Next; it can be plugged into the
// orchestrator through a load calculator factory.
type LoadCalculator interface {
	// Next returns the rate, in requests per second, of the next round.
	Next() int
}

// FeedbackLoadCalculator is a LoadCalculator that also learns from each
// finished round. The orchestrator calls Observe once for every finished
// round, with that round's merged results.
//
// Rounds are pipelined on a fixed time grid, so Next for round k+1 is called
// before the observation of round k arrives. Implementations must therefore
// tolerate Next calls that have seen no new observation, and observations
// that describe an earlier rate than the one Next last returned. Observe and
// Next may be called from different goroutines.
type FeedbackLoadCalculator interface {
	LoadCalculator
	// Observe delivers the results of a finished round.
	Observe(LoadObservation)
}

// LoadObservation is the merged result of one finished round, as seen by a
// FeedbackLoadCalculator.
type LoadObservation struct {
	// Round is the index of the finished round, counting from 0.
	Round int64
	// PlannedRPS is the rate Next returned for the round.
	PlannedRPS int
	// AchievedRPS is the rate at which requests were actually sent.
	AchievedRPS float64

	// Planned is the number of requests scheduled in the round.
	Planned int64
	// Sent is the number of requests that went out on the wire.
	Sent int64
	// Success counts 2xx and 3xx responses.
	Success int64
	// Failed counts every request that did not succeed: Planned − Success.
	// It includes the Timeouts, Dropped and Lost counted below, as well as
	// 4xx and 5xx responses and connection errors.
	Failed int64
	// Timeouts counts 503 and 504 responses and requests that got no
	// response headers within the request timeout.
	Timeouts int64
	// Dropped counts requests never sent because an executor's in-flight
	// cap was reached.
	Dropped int64
	// Lost counts planned requests whose outcome is unknown, for example
	// because the executor holding them went away before reporting.
	Lost int64

	// P50 is the median latency of the round.
	P50 time.Duration
	// P90 is the 90th percentile latency of the round.
	P90 time.Duration
	// P99 is the 99th percentile latency of the round.
	P99 time.Duration
	// Max is the largest latency of the round.
	Max time.Duration
}

// NoStep, passed as the step argument of ValidateRange, skips the step check.
// Configuration code uses it for calculators that have no step.
const NoStep = -1

// ValidateRange checks the rate flags of a load calculator before one is
// built: min (-min-rps) and max (-max-rps) must not be negative, min must not
// exceed max, and step (-step-rps) must be positive. Pass NoStep (-1) as step
// to skip the step check for calculators without a step; every other step
// value of zero or less is rejected. All problems found are reported
// together, each naming its flag and value, for example
// "-min-rps (60) is greater than -max-rps (50)".
//
// The constructors in this package cannot fail and quietly repair the values
// ValidateRange rejects, so configuration code should call ValidateRange
// first to tell the user about a mistake.
func ValidateRange(min, max, step int) error {
	var errs []error
	if min < 0 {
		errs = append(errs, fmt.Errorf("-min-rps (%d) must not be negative", min))
	}
	if max < 0 {
		errs = append(errs, fmt.Errorf("-max-rps (%d) must not be negative", max))
	}
	if min > max {
		errs = append(errs, fmt.Errorf("-min-rps (%d) is greater than -max-rps (%d)", min, max))
	}
	if step != NoStep && step <= 0 {
		errs = append(errs, fmt.Errorf("-step-rps (%d) must be greater than zero", step))
	}
	return errors.Join(errs...)
}

// normaliseRange repairs a rate range the way the constructors document:
// negative bounds become 0 and a max below min is raised to min.
func normaliseRange(min, max int) (int, int) {
	min = nonNegative(min)
	max = nonNegative(max)
	if max < min {
		max = min
	}
	return min, max
}

// nonNegative returns v, or 0 when v is negative.
func nonNegative(v int) int {
	if v < 0 {
		return 0
	}
	return v
}

// addCapped returns v+inc, or limit when the sum would pass limit. It does
// not overflow for any v <= limit and inc >= 0.
func addCapped(v, inc, limit int) int {
	if v >= limit || inc >= limit-v {
		return limit
	}
	return v + inc
}

// doubleCapped returns 2*v (or 1 when v is 0), or limit when that would pass
// limit. It does not overflow for any 0 <= v <= limit.
func doubleCapped(v, limit int) int {
	if v == 0 {
		return min(1, limit)
	}
	return addCapped(v, v, limit)
}
