package manager

import (
	"fmt"
	"math"
	"slices"
	"time"
)

var _ FeedbackLoadCalculator = (*adaptiveCalculator)(nil)

const (
	// recoveryRPS is the rate of the recovery rounds that follow a breach.
	recoveryRPS = 1
	// searchGranularity is the resolution, in requests per second, of the
	// binary search for the highest sustainable rate.
	searchGranularity = 10
)

// adaptivePhase is the stage the adaptive calculator is in.
type adaptivePhase int

const (
	// phaseRamp doubles the rate after every healthy round.
	phaseRamp adaptivePhase = iota
	// phaseRecovery runs at recoveryRPS until a round is healthy.
	phaseRecovery
	// phaseProbe runs one binary-search probe between lo and hi.
	phaseProbe
	// phaseHold keeps the settled rate.
	phaseHold
)

// adaptiveCalculator searches for the highest rate the target sustains. It is
// a state machine driven by Observe; Next only reads the current rate.
type adaptiveCalculator struct {
	max int
	// maxLatency is the p99 limit; 0 selects timeout mode.
	maxLatency time.Duration

	phase adaptivePhase
	// rate is what Next returns and the rate whose next observation
	// decides the following step.
	rate int
	// lo is the highest rate known to be healthy, hi the lowest rate known
	// to breach; both are meaningful after the first breach.
	lo, hi int
	// healthy holds, ascending and without duplicates, every rate a ramp,
	// probe or hold round was observed healthy at.
	healthy []int
	// lastRound is the round of the last observation that was acted on, or
	// -1 before the first one.
	lastRound int64
}

// NewAdaptiveExponentialLoadCalculator returns a calculator that searches for
// the highest rate the target sustains. The returned value also implements
// FeedbackLoadCalculator and only moves on when Observe delivers results.
//
// A round is healthy when its p99 latency is at most maxLatencyMillis
// milliseconds and fewer than half of its planned requests failed a
// response check (CheckFailed*2 < Planned): a target that answers fast
// with error bodies is not healthy. With maxLatencyMillis 0 the calculator
// is in timeout mode instead: a round is healthy when fewer than half of
// its planned requests timed out or failed a response check
// ((Timeouts+CheckFailed)*2 < Planned). A round with no planned requests
// is healthy.
//
// The search runs in phases:
//
//   - Ramp: start at min (at 1 when min is 0) and double the rate, clamped to
//     max, after every healthy round. If max itself is healthy, hold max.
//   - Breach: the first unhealthy round sets hi to its rate and lo to the
//     highest rate seen healthy below it (0 if none), then enters recovery.
//   - Recovery: run at 1 rps until a recovery round is healthy. Then, if
//     hi-lo <= 10, hold lo; otherwise probe.
//   - Probe: run at lo + d, where d is (hi-lo)/2 rounded down to a multiple
//     of 10 and at least 10. A healthy probe becomes lo, a breaching one hi.
//     If the probe was healthy and now hi-lo <= 10, hold lo; otherwise
//     recover again before the next probe.
//   - Hold: keep the settled rate, the highest sustainable one found at a
//     granularity of 10 rps. A hold round that breaches is a new breach: hi
//     becomes the held rate, lo the highest rate seen healthy below it (or
//     0), and the search goes on with recovery. The held rate can be 0 when
//     even the lowest rate tried breached.
//
// Rounds are pipelined, so Next for one round is called before the previous
// round's observation arrives. The calculator is therefore a state machine
// advanced only by Observe: Next returns the current rate and repeats it
// until an observation moves the state on. An observation is acted on only
// when its PlannedRPS equals the rate currently being evaluated (the rate
// Next returns) and its Round is not older than the last observation acted
// on; all other observations are stale (rounds that ran at an earlier rate,
// or arrived late) and are ignored. During a ramp under pipelining this
// means each rate typically runs for two rounds.
//
// The constructor cannot fail, so it repairs bad input instead: negative
// min, max or maxLatencyMillis become 0 and a max below min is raised to
// min. All rates, including the 1 rps recovery rate, are clamped to max.
func NewAdaptiveExponentialLoadCalculator(min, max int, maxLatencyMillis int64) LoadCalculator {
	min, max = normaliseRange(min, max)
	var limit time.Duration
	switch {
	case maxLatencyMillis <= 0:
		limit = 0
	case maxLatencyMillis > int64(math.MaxInt64/time.Millisecond):
		limit = math.MaxInt64
	default:
		limit = time.Duration(maxLatencyMillis) * time.Millisecond
	}
	start := min
	if start == 0 {
		start = 1
	}
	return &adaptiveCalculator{
		max:        max,
		maxLatency: limit,
		phase:      phaseRamp,
		rate:       clampRate(start, max),
		lastRound:  -1,
	}
}

// Next returns the rate of the next round. It does not advance the search:
// without a new observation it returns the same rate again.
func (c *adaptiveCalculator) Next() int {
	return c.rate
}

// Observe feeds the result of a finished round into the search. Stale
// observations, as described on NewAdaptiveExponentialLoadCalculator, are
// ignored.
func (c *adaptiveCalculator) Observe(o LoadObservation) {
	if o.PlannedRPS != c.rate || o.Round < c.lastRound {
		return
	}
	c.lastRound = o.Round
	ok := c.isHealthy(o)

	switch c.phase {
	case phaseRamp:
		if !ok {
			c.breach()
			return
		}
		c.recordHealthy(c.rate)
		if c.rate >= c.max {
			c.hold(c.rate)
			return
		}
		c.rate = doubleCapped(c.rate, c.max)
	case phaseRecovery:
		if !ok {
			return
		}
		if c.converged() {
			c.hold(c.lo)
			return
		}
		c.phase = phaseProbe
		c.rate = c.probeRate()
	case phaseProbe:
		if !ok {
			c.hi = c.rate
			c.recover()
			return
		}
		c.recordHealthy(c.rate)
		c.lo = c.rate
		if c.converged() {
			c.hold(c.lo)
			return
		}
		c.recover()
	case phaseHold:
		if !ok {
			c.breach()
			return
		}
		c.recordHealthy(c.rate)
	}
}

// isHealthy applies the health rule of the configured mode to o.
func (c *adaptiveCalculator) isHealthy(o LoadObservation) bool {
	if c.maxLatency > 0 {
		return o.P99 <= c.maxLatency && (o.Planned == 0 || o.CheckFailed*2 < o.Planned)
	}
	// Check failures are errors like timeouts: a wrong answer is no
	// better than none.
	return o.Planned == 0 || (o.Timeouts+o.CheckFailed)*2 < o.Planned
}

// breach handles an unhealthy ramp or hold round at the current rate.
func (c *adaptiveCalculator) breach() {
	c.hi = c.rate
	c.lo = c.highestHealthyBelow(c.hi)
	c.recover()
}

// recover enters the recovery phase.
func (c *adaptiveCalculator) recover() {
	c.phase = phaseRecovery
	c.rate = clampRate(recoveryRPS, c.max)
}

// hold settles on rate.
func (c *adaptiveCalculator) hold(rate int) {
	c.phase = phaseHold
	c.rate = rate
}

// converged reports whether the search interval is down to the granularity.
func (c *adaptiveCalculator) converged() bool {
	return c.hi-c.lo <= searchGranularity
}

// probeRate is the next binary-search probe: lo plus half the interval,
// rounded down to the granularity and at least one granule. Callers ensure
// hi-lo > searchGranularity, so the probe lies strictly between lo and hi.
func (c *adaptiveCalculator) probeRate() int {
	d := (c.hi - c.lo) / 2 / searchGranularity * searchGranularity
	return c.lo + max(d, searchGranularity)
}

// recordHealthy remembers that rate was observed healthy.
func (c *adaptiveCalculator) recordHealthy(rate int) {
	i, found := slices.BinarySearch(c.healthy, rate)
	if !found {
		c.healthy = slices.Insert(c.healthy, i, rate)
	}
}

// highestHealthyBelow returns the highest rate observed healthy that is
// below limit, or 0 if there is none.
func (c *adaptiveCalculator) highestHealthyBelow(limit int) int {
	i, _ := slices.BinarySearch(c.healthy, limit)
	if i == 0 {
		return 0
	}
	return c.healthy[i-1]
}

// clampRate returns rate, or limit when rate is above it.
func clampRate(rate, limit int) int {
	return min(rate, limit)
}

// SearchResult says what the search has found so far, for the end of a
// run: the settled rate, or the bounds it got to.
func (c *adaptiveCalculator) SearchResult() string {
	switch {
	case c.phase == phaseHold:
		return fmt.Sprintf("adaptive search settled on %d rps, the highest rate found healthy", c.rate)
	case c.hi == 0:
		return fmt.Sprintf("adaptive search still ramping: no breach up to %d rps", c.rate)
	default:
		return fmt.Sprintf("adaptive search not settled: %d rps healthy, %d rps breached", c.lo, c.hi)
	}
}
