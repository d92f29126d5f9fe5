package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
)

// attemptFunc runs a generator open-loop at rate for the configured
// duration.
type attemptFunc func(ctx context.Context, rate int) (outcome, error)

// errTimedOut marks a generator run killed for outlasting its bound; the
// search counts it as a rate not held.
var errTimedOut = errors.New("did not finish within the run's duration plus a minute")

// search finds the highest x at which a generator holds its rate
// (outcome.held), x being what its Try takes (a rate, or a fraction of
// one: bench.relative), by a bisection between Lo, tried first, and Hi,
// assumed not held.
// When the bisection ends just below a ceiling that was never tried, the
// ceiling is tried, and if it holds the search goes on up to twice it, so
// a low guess of Hi does not cap the result.
type search struct {
	Name        string
	Try         attemptFunc
	Lo, Hi      int
	Precision   float64
	MaxAttempts int
	Log         io.Writer
	// Label formats the searched value x in the log; nil prints it as a
	// rate, x/s.
	Label    func(x int) string
	attempts int
	// Capped is set by run when no rate above the result was seen to
	// fail: the attempts ran out first, so the real limit may be higher.
	Capped bool
}

// run returns the outcome at the highest x held; found is false when
// not even Lo held in two tries, and the outcome is then Lo's.
func (s *search) run(ctx context.Context) (best outcome, found bool, err error) {
	best, ok, err := s.try(ctx, s.Lo)
	if err == nil && !ok {
		// A miss at the lowest rate is most likely noise (a busy machine,
		// a slow start): one more try before giving up.
		best, ok, err = s.try(ctx, s.Lo)
	}
	if err != nil || !ok {
		return best, false, err
	}
	lo, hi, failedAbove := s.Lo, s.Hi, false
	for s.attempts < s.MaxAttempts {
		rate := midpoint(lo, hi)
		if float64(hi) <= float64(lo)*(1+s.Precision) || rate <= lo || rate >= hi {
			if failedAbove {
				break
			}
			rate = hi
		}
		o, ok, err := s.try(ctx, rate)
		if err != nil {
			return best, true, err
		}
		switch {
		case ok && rate == hi:
			lo, best, hi = rate, o, 2*hi
		case ok:
			lo, best = rate, o
		default:
			hi, failedAbove = rate, true
		}
	}
	s.Capped = !failedAbove
	return best, true, nil
}

// try runs one attempt at x and logs it.
func (s *search) try(ctx context.Context, x int) (outcome, bool, error) {
	s.attempts++
	o, err := s.Try(ctx, x)
	if errors.Is(err, errTimedOut) {
		fmt.Fprintf(s.Log, "%s at %s: not held: %v\n", s.Name, s.label(x), err)
		if o.Planned == 0 {
			o.Planned = float64(x)
		}
		return o, false, nil
	}
	if err != nil {
		return o, false, err
	}
	ok, why := o.held()
	verdict := "held"
	if !ok {
		verdict = "not held (" + why + ")"
	}
	fmt.Fprintf(s.Log, "%s at %s: %s: %s\n", s.Name, s.label(x), verdict, o)
	return o, ok, nil
}

// label formats x for the log.
func (s *search) label(x int) string {
	if s.Label == nil {
		return fmt.Sprintf("%d/s", x)
	}
	return s.Label(x)
}

// midpoint is the mean of lo and hi, rounded to 10 requests per second
// from 1,000 up. (A geometric mean took two more attempts to come within
// 2% of a limit near Hi, where the open-loop generators' limits are, and
// with a Hi set low by a slow first wrk run a search of 7 attempts ended
// with every rate held.)
func midpoint(lo, hi int) int {
	m := (float64(lo) + float64(hi)) / 2
	if m >= 1000 {
		return int(math.Round(m/10) * 10)
	}
	return int(math.Round(m))
}
