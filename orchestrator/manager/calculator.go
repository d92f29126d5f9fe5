// Package manager plans the orchestrator's load. It names LoadCalculator,
// the interface that picks each round's request rate, and
// FeedbackLoadCalculator for calculators that also learn from the results of
// finished rounds (both contracts live in package types). It ships the built-in calculators: constant, step,
// exponential, logarithmic and adaptive-exponential. The package also hosts
// the executor registry and the round scheduler that drive the calculators.
package manager

import (
	"errors"
	"fmt"

	"github.com/PeladoCollado/imager/types"
)

// LoadCalculator decides the requests-per-second of the next round: Next is
// called once for each round, in round order, before the round starts, and
// a negative rate ends the test. It is types.LoadCalculator; the scheduler
// drives it through types.CalculatorOf, and a calculator that implements
// types.Calculator instead can also end the test with an error. Like every
// plug-in it is called from one goroutine (see types.Calculator).
//
// A custom calculator only has to implement Next; it can be plugged into the
// orchestrator through a load calculator factory.
type LoadCalculator = types.LoadCalculator

// FeedbackLoadCalculator is a LoadCalculator that also learns from each
// finished round: Observe is called once for every finished round, in round
// order, with that round's merged results (see types.Observer for how that
// interleaves with Next).
type FeedbackLoadCalculator interface {
	LoadCalculator
	// Observe delivers the results of a finished round.
	Observe(LoadObservation)
}

// LoadObservation is the merged result of one finished round, as a
// FeedbackLoadCalculator sees it.
type LoadObservation = types.RoundStats

// RangeError is a rate range a calculator cannot run: Field names the
// value at fault ("min", "max" or "step"), Value is what was given and
// Problem says what is wrong with it. When the problem is a relation to
// another value ("is greater than"), Other names that value and
// OtherValue holds it. Configuration code maps the names to its own (a
// flag, a file key).
type RangeError struct {
	Field   string
	Value   int
	Problem string
	// Other and OtherValue are empty and 0 unless Problem is a relation.
	Other      string
	OtherValue int
}

// Error implements error, naming the values as rates: "min rate (60) is
// greater than max rate (50)".
func (e *RangeError) Error() string {
	return e.Format(func(field string) string { return field + " rate" })
}

// Format writes the error with each value named by name(field), for
// example a flag: "-min-rps (60) is greater than -max-rps (50)".
func (e *RangeError) Format(name func(field string) string) string {
	msg := fmt.Sprintf("%s (%d) %s", name(e.Field), e.Value, e.Problem)
	if e.Other != "" {
		msg += fmt.Sprintf(" %s (%d)", name(e.Other), e.OtherValue)
	}
	return msg
}

// ValidateRange checks a rate range before a calculator is built: min and
// max must not be negative and min must not exceed max. Every problem found
// is reported, each as a *RangeError, joined.
//
// The constructors in this package cannot fail and quietly repair the values
// ValidateRange and ValidateStep reject, so configuration code should call
// them first to tell the user about a mistake.
func ValidateRange(min, max int) error {
	var errs []error
	if min < 0 {
		errs = append(errs, &RangeError{Field: "min", Value: min, Problem: "must not be negative"})
	}
	if max < 0 {
		errs = append(errs, &RangeError{Field: "max", Value: max, Problem: "must not be negative"})
	}
	if min > max {
		errs = append(errs, &RangeError{Field: "min", Value: min, Problem: "is greater than", Other: "max", OtherValue: max})
	}
	return errors.Join(errs...)
}

// ValidateStep checks the step of a stepped calculator: it must be
// greater than zero. A problem is a *RangeError.
func ValidateStep(step int) error {
	if step <= 0 {
		return &RangeError{Field: "step", Value: step, Problem: "must be greater than zero"}
	}
	return nil
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
