package manager

import (
	"fmt"
	"math"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// SyntheticTarget is a made-up target used to feed feedback calculators in
// a dry run, where nothing is sent. It behaves like a single queue: latency
// grows as load nears capacity, and load beyond capacity times out.
//
// For a round at r requests/s, with u = r / CapacityRPS (0 when capacity
// is unlimited):
//
//	u < 1:  p50 = BaseLatency / (1 - u), p90 = 2 * p50, p99 = 4 * p50,
//	        max = 8 * p50 (each capped at Timeout); no timeouts
//	u >= 1: the share (r - CapacityRPS) / r of requests times out; the rest
//	        see p50 = 20 * BaseLatency and p90, p99, max = Timeout
//
// ErrorRate of the requests that do not time out fail (4xx/5xx). Every
// planned request is sent: achieved equals planned.
type SyntheticTarget struct {
	// BaseLatency is the median latency of an idle target; 0 means 20ms.
	BaseLatency time.Duration
	// CapacityRPS is the rate the target can serve; 0 means unlimited.
	CapacityRPS int
	// ErrorRate is the share of failed responses, from 0 to 1.
	ErrorRate float64
	// Timeout caps latency; 0 means one minute.
	Timeout time.Duration
}

// Observe returns the round result the model predicts for round index at
// plannedRPS over interval.
func (m SyntheticTarget) Observe(index int64, plannedRPS int, interval time.Duration) LoadObservation {
	base := m.BaseLatency
	if base <= 0 {
		base = 20 * time.Millisecond
	}
	timeout := m.Timeout
	if timeout <= 0 {
		timeout = time.Minute
	}
	planned := int64(math.Round(float64(plannedRPS) * interval.Seconds()))
	obs := LoadObservation{Round: index, PlannedRPS: plannedRPS, AchievedRPS: float64(plannedRPS), Planned: planned, Sent: planned}
	u := 0.0
	if m.CapacityRPS > 0 {
		u = float64(plannedRPS) / float64(m.CapacityRPS)
	}
	capAt := func(d time.Duration) time.Duration { return min(d, timeout) }
	if u < 1 {
		p50 := time.Duration(float64(base) / (1 - u))
		obs.P50, obs.P90, obs.P99, obs.Max = capAt(p50), capAt(2*p50), capAt(4*p50), capAt(8*p50)
	} else {
		obs.Timeouts = int64(math.Round(float64(planned) * (u - 1) / u))
		obs.P50, obs.P90, obs.P99, obs.Max = capAt(20*base), timeout, timeout, timeout
	}
	answered := planned - obs.Timeouts
	errs := int64(math.Round(float64(answered) * min(max(m.ErrorRate, 0), 1)))
	obs.Success = answered - errs
	// Failed is every outcome but success: the error responses and the
	// timeouts.
	obs.Failed = errs + obs.Timeouts
	return obs
}

// PlannedRound is one round of a dry run: the rate the calculator chose
// and, for feedback calculators, the result the model fed back.
type PlannedRound struct {
	Index int64
	RPS   int
	// Observation is what the model predicted for this round.
	Observation LoadObservation
}

// DryRun asks calc for up to rounds rates without sending anything. A
// calculator that is a types.Observer is fed the model's prediction for
// each round the way the orchestrator feeds real results: round k's result
// arrives after the rate of round k+1 has been chosen. The run stops early
// when the calculator ends the test, and returns the rounds planned so far
// with the calculator's error when it failed. advance, when not nil, is
// called before every round but the first, to move a simulated clock on.
func DryRun(calc types.Calculator, model SyntheticTarget, rounds int, interval time.Duration, advance func()) ([]PlannedRound, error) {
	obs, feedback := calc.(types.Observer)
	hook, hooked := calc.(types.RoundHook)
	var out []PlannedRound
	for i := range rounds {
		if i > 0 && advance != nil {
			advance()
		}
		if hooked {
			hook.BeginRound(int64(i))
		}
		rps, stop, err := calc.NextRate(int64(i))
		if feedback && i > 0 {
			obs.Observe(out[i-1].Observation)
		}
		switch {
		case err != nil:
			return out, fmt.Errorf("round %d: load calculator: %w", i, err)
		case stop:
			return out, nil
		case rps < 0:
			return out, fmt.Errorf("round %d: load calculator: negative rate %d without stop", i, rps)
		}
		out = append(out, PlannedRound{Index: int64(i), RPS: rps, Observation: model.Observe(int64(i), rps, interval)})
	}
	return out, nil
}
