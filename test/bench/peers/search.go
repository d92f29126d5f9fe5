package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
)

// attemptFunc runs a generator open-loop at rate for the configured
// duration.
type attemptFunc func(ctx context.Context, rate int) (outcome, error)

// tryFunc runs one attempt of a search at x: bench.relative's, at x
// thousandths of wrk's closed-loop rate.
type tryFunc func(ctx context.Context, x int) (outcome, error)

// errTimedOut marks a generator run killed for outlasting its bound; the
// search counts it as a rate not held.
var errTimedOut = errors.New("did not finish within the run's duration plus a minute")

// search finds the highest x at which a generator holds its rate
// (outcome.held), x being what its Try takes, by a bisection between Lo,
// tried first, and Hi, assumed not held. When the bisection ends just
// below a ceiling that was never tried, the ceiling is tried, and each
// time it holds the ceiling doubles, so a low guess of Hi does not cap the
// result.
type search struct {
	Name        string
	Try         tryFunc
	Lo, Hi      int
	Precision   float64
	MaxAttempts int
	Log         io.Writer
	// Label formats the searched value x in the log; nil prints x.
	Label    func(x int) string
	attempts int
	// Capped is set by run when no x above the result was seen to fail:
	// the attempts ran out first, so the real limit may be higher.
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
		return strconv.Itoa(x)
	}
	return s.Label(x)
}

// midpoint is the mean of lo and hi, rounded. (The search bisected
// absolute rates at their geometric mean until 2026-12-02: from 1,000/s
// it crept up on a limit near its ceiling, 7,620, 21,030, 34,940/s …,
// and with 7 attempts once ended with every rate held.)
func midpoint(lo, hi int) int {
	return int(math.Round((float64(lo) + float64(hi)) / 2))
}
