package types

import "time"

// The contracts below are how a program plugs its own load into imager.
// One rule covers all of them: the orchestrator's scheduler calls every
// method of a source or a calculator from its one goroutine, one call at a
// time and never concurrently, so an implementation needs no lock for the
// scheduler's sake. (A source may still do work in parallel inside one
// call, as the Lua source's NextBatch does.)

// BatchSource is a RequestSource that can make many requests in one call,
// for example by running several scripting VMs in parallel. The scheduler
// calls NextBatch instead of Next n times when a source has it; NextBatch
// returns exactly n requests or an error, in a new slice each call (the
// slice becomes the round's requests).
type BatchSource interface {
	RequestSource
	NextBatch(n int) ([]RequestSpec, error)
}

// RoundHook is told that a round is being planned, before the round's rate
// and requests are asked for. A reloadable scenario switches versions there,
// so that a round never mixes two. Sources and calculators may implement
// it; index counts rounds on the time grid from 0.
type RoundHook interface {
	BeginRound(index int64)
}

// Calculator decides the rate of each round and says when the test ends.
// The scheduler calls NextRate once per round, in round order, before the
// round starts. stop true ends the test: the round is not run and no other
// is planned (rps is then ignored). A non-nil err ends the test as failed,
// with err as the reason. Otherwise rps, never negative, is the round's rate
// in requests per second; 0 runs an empty round.
type Calculator interface {
	NextRate(round int64) (rps int, stop bool, err error)
}

// LoadCalculator is the first and simplest calculator contract: Next
// returns the next round's rate, and a negative rate ends the test.
// CalculatorOf adapts it to Calculator.
type LoadCalculator interface {
	Next() int
}

// Observer is told the result of every finished round, in round order.
// Rounds are pipelined on a fixed time grid, so the rate of round k+1 is
// asked for before round k's result arrives: an implementation must accept
// a NextRate (or Next) call that has seen no new observation, and an
// observation of an earlier rate than the one it last returned.
type Observer interface {
	Observe(RoundStats)
}

// RoundStats is the result of one finished round as calculators, scripts
// and metrics see it, computed once when the round ends: every planned
// request counted once by outcome, and latency quantiles measured from
// each request's intended send time (or its actual send, when earlier).
type RoundStats struct {
	// Round is the index of the finished round, counting from 0.
	Round int64
	// PlannedRPS is the rate the calculator asked for.
	PlannedRPS int
	// AchievedRPS is the rate at which requests were actually sent.
	AchievedRPS float64

	// Planned is the number of requests scheduled in the round.
	Planned int64
	// Sent is the number of requests that went out on the wire.
	Sent int64
	// Success counts responses judged successful (2xx and 3xx).
	Success int64
	// Failed counts every request that did not succeed: Planned − Success.
	// It includes the Timeouts, Dropped, Lost and CheckFailed counted
	// below, as well as 4xx and 5xx responses and connection errors.
	Failed int64
	// ClientErrors and ServerErrors count 4xx and 5xx responses (503 and
	// 504 are timeouts).
	ClientErrors, ServerErrors int64
	// Timeouts counts 503 and 504 responses and requests that got no
	// response headers within the request timeout.
	Timeouts int64
	// ConnErrors counts requests that failed to connect, send or read.
	ConnErrors int64
	// Dropped counts requests never sent because an executor's in-flight
	// bound was reached.
	Dropped int64
	// Lost counts planned requests whose outcome is unknown, for example
	// because the executor holding them went away before reporting.
	Lost int64
	// CheckFailed counts responses that failed one of their request's
	// response checks (see Expect).
	CheckFailed int64
	// Dials counts the connections the round opened to the target and
	// DialErrors the connection attempts that failed.
	Dials, DialErrors int64

	// P50, P90, P95, P99 and P999 are latency quantiles of the round; Max
	// is its largest latency.
	P50, P90, P95, P99, P999, Max time.Duration
}

// CalculatorOf returns c as a Calculator. A value that already implements
// Calculator is returned as it is. Otherwise Next's negative rate becomes
// stop, and a calculator with an `Err() error` method that returns non-nil
// at that point ends the test with that error. The adapter passes
// Observe and BeginRound on to c when c has them.
func CalculatorOf(c LoadCalculator) Calculator {
	if nc, ok := c.(Calculator); ok {
		return nc
	}
	return legacyCalculator{c}
}

// legacyCalculator adapts a LoadCalculator to Calculator.
type legacyCalculator struct{ c LoadCalculator }

var (
	_ Calculator = legacyCalculator{}
	_ Observer   = legacyCalculator{}
	_ RoundHook  = legacyCalculator{}
)

// NextRate implements Calculator.
func (l legacyCalculator) NextRate(int64) (int, bool, error) {
	rps := l.c.Next()
	if rps >= 0 {
		return rps, false, nil
	}
	if f, ok := l.c.(interface{ Err() error }); ok {
		if err := f.Err(); err != nil {
			return 0, true, err
		}
	}
	return 0, true, nil
}

// Observe implements Observer, passing o on when c is an Observer.
func (l legacyCalculator) Observe(o RoundStats) {
	if obs, ok := l.c.(Observer); ok {
		obs.Observe(o)
	}
}

// BeginRound implements RoundHook, passing index on when c is a RoundHook.
func (l legacyCalculator) BeginRound(index int64) {
	if h, ok := l.c.(RoundHook); ok {
		h.BeginRound(index)
	}
}
