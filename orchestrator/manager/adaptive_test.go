package manager_test

import (
	"math"
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// action is one call in a scripted interleaving: Next when next is set,
// otherwise Observe(obs).
type action struct {
	next bool
	obs  manager.LoadObservation
}

// N is a call to Next; its result is collected.
var N = action{next: true}

// lat is an observation of round at rate rps with the given p99 latency in
// milliseconds, for latency mode.
func lat(round int64, rps int, p99ms int64) action {
	return action{obs: manager.LoadObservation{
		Round:       round,
		PlannedRPS:  rps,
		AchievedRPS: float64(rps),
		Planned:     int64(rps),
		Sent:        int64(rps),
		Success:     int64(rps),
		P99:         time.Duration(p99ms) * time.Millisecond,
	}}
}

// tmo is an observation of round at rate rps with planned requests of which
// timeouts timed out, for timeout mode. Its latency is deliberately huge to
// show that timeout mode ignores latency.
func tmo(round int64, rps int, planned, timeouts int64) action {
	return action{obs: manager.LoadObservation{
		Round:      round,
		PlannedRPS: rps,
		Planned:    planned,
		Sent:       planned,
		Success:    planned - timeouts,
		Timeouts:   timeouts,
		P99:        time.Minute,
		Max:        time.Minute,
	}}
}

// play runs script against a new adaptive calculator and returns what the
// Next calls returned.
func play(t *testing.T, min, max int, maxLatencyMillis int64, script []action) []int {
	t.Helper()
	c, ok := manager.NewAdaptiveExponentialLoadCalculator(min, max, maxLatencyMillis).(manager.FeedbackLoadCalculator)
	if !ok {
		t.Fatal("adaptive calculator does not implement FeedbackLoadCalculator")
	}
	var got []int
	for _, a := range script {
		if a.next {
			got = append(got, c.Next())
		} else {
			c.Observe(a.obs)
		}
	}
	return got
}

// In the latency-mode cases the limit is 250 ms: 100 ms is healthy, 400 ms
// a breach.
func TestAdaptiveExponentialScripts(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		limitMs  int64
		script   []action
		want     []int
	}{
		{
			name: "ramp to max and hold", min: 10, max: 100, limitMs: 250,
			script: []action{N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 100), N, lat(3, 80, 100),
				N, lat(4, 100, 100), N, lat(5, 100, 100), N},
			want: []int{10, 20, 40, 80, 100, 100, 100},
		},
		{
			name: "min zero starts at one", min: 0, max: 4, limitMs: 250,
			script: []action{N, lat(0, 1, 100), N, lat(1, 2, 100), N, lat(2, 4, 100), N},
			want:   []int{1, 2, 4, 4},
		},
		{
			name: "max zero", min: 0, max: 0, limitMs: 250,
			script: []action{N, lat(0, 0, 0), N},
			want:   []int{0, 0},
		},
		{
			// Ramp breaches at 160 (lo 80, hi 160); the first recovery round
			// still breaches; probes 120 (ok), 140 (251 ms, breach), 130
			// (exactly 250 ms, ok) leave hi-lo = 10, so 130 is held.
			name: "latency breach, recovery, binary search, hold", min: 10, max: 500, limitMs: 250,
			script: []action{
				N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 100), N, lat(3, 80, 100),
				N, lat(4, 160, 400),
				N, lat(5, 1, 400), N, lat(6, 1, 100),
				N, lat(7, 120, 100),
				N, lat(8, 1, 100),
				N, lat(9, 140, 251),
				N, lat(10, 1, 100),
				N, lat(11, 130, 250),
				N, lat(12, 130, 100), N,
			},
			want: []int{10, 20, 40, 80, 160, 1, 1, 120, 1, 140, 1, 130, 130, 130},
		},
		{
			// One request per rps. Exactly half timing out is a breach (64);
			// a round with nothing planned is healthy (16). Probes: 42 (20 of
			// 42 timed out, ok), 52 (26 of 52, breach); hi-lo = 10 holds 42.
			name: "timeout mode", min: 0, max: 100, limitMs: 0,
			script: []action{
				N, tmo(0, 1, 1, 0), N, tmo(1, 2, 2, 0), N, tmo(2, 4, 4, 1), N, tmo(3, 8, 8, 3),
				N, tmo(4, 16, 0, 0), N, tmo(5, 32, 32, 15), N, tmo(6, 64, 64, 32),
				N, tmo(7, 1, 1, 1), N, tmo(8, 1, 1, 0),
				N, tmo(9, 42, 42, 20),
				N, tmo(10, 1, 1, 0),
				N, tmo(11, 52, 52, 26),
				N, tmo(12, 1, 1, 0),
				N, tmo(13, 42, 42, 0), N,
			},
			want: []int{1, 2, 4, 8, 16, 32, 64, 1, 1, 42, 1, 52, 1, 42, 42},
		},
		{
			name: "repeat without observation", min: 10, max: 100, limitMs: 250,
			script: []action{N, N, N, lat(0, 10, 100), N, N},
			want:   []int{10, 10, 10, 20, 20},
		},
		{
			// Next for round k+1 comes before the observation of round k.
			// Observations of rounds that ran at an earlier rate are stale,
			// even a breaching one (round 3).
			name: "pipelined rounds with stale observations", min: 10, max: 1000, limitMs: 100,
			script: []action{
				N, N, lat(0, 10, 50),
				N, lat(1, 10, 50),
				N, lat(2, 20, 400),
				N, lat(3, 20, 400),
				N, lat(4, 1, 50),
				N, lat(5, 1, 50),
				N, lat(6, 10, 50), N,
			},
			want: []int{10, 10, 20, 20, 1, 1, 10, 10, 10},
		},
		{
			// The breach of round 3 arrives after round 4 was acted on, and
			// a breach at a rate never planned arrives too: both are ignored.
			name: "late and foreign observations ignored", min: 10, max: 40, limitMs: 250,
			script: []action{
				N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 100),
				N, N, lat(4, 40, 100), lat(3, 40, 400), lat(5, 33, 400), N,
			},
			want: []int{10, 20, 40, 40, 40, 40},
		},
		{
			name: "callers that leave Round at zero still drive the search", min: 10, max: 40, limitMs: 250,
			script: []action{N, lat(0, 10, 100), N, lat(0, 20, 100), N, lat(0, 40, 400), N, lat(0, 1, 100), N},
			want:   []int{10, 20, 40, 1, 30},
		},
		{
			// Ramp holds max 80, which later breaches: hi 80, lo 40. Probes
			// 60 (ok), 70 (breach) settle on 60. Then 60 breaches: hi 60, lo
			// 40 (the highest healthy rate below 60); probe 50 is ok, held.
			name: "hold breach", min: 10, max: 80, limitMs: 250,
			script: []action{
				N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 100), N, lat(3, 80, 100),
				N, lat(4, 80, 100), N, lat(5, 80, 400),
				N, lat(6, 1, 100),
				N, lat(7, 60, 100),
				N, lat(8, 1, 100),
				N, lat(9, 70, 400),
				N, lat(10, 1, 100),
				N, lat(11, 60, 400),
				N, lat(12, 1, 100),
				N, lat(13, 50, 100), N,
			},
			want: []int{10, 20, 40, 80, 80, 80, 1, 60, 1, 70, 1, 60, 1, 50, 50},
		},
		{
			// The held rate 70 was a probe; when it breaches, lo falls back to
			// the healthy probe 60 below it, and hi-lo = 10 holds 60.
			name: "hold breach falls back to a healthy probe", min: 10, max: 80, limitMs: 250,
			script: []action{
				N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 100), N, lat(3, 80, 400),
				N, lat(4, 1, 100),
				N, lat(5, 60, 100),
				N, lat(6, 1, 100),
				N, lat(7, 70, 100),
				N, lat(8, 70, 400),
				N, lat(9, 1, 100), N,
			},
			want: []int{10, 20, 40, 80, 1, 60, 1, 70, 70, 1, 60},
		},
		{
			// Breach at 24 leaves hi-lo = 12: half of it rounds down to 0,
			// so the probe is one granule (10) above lo.
			name: "probe is at least one granule above lo", min: 3, max: 100, limitMs: 250,
			script: []action{
				N, lat(0, 3, 100), N, lat(1, 6, 100), N, lat(2, 12, 100), N, lat(3, 24, 400),
				N, lat(4, 1, 100),
				N, lat(5, 22, 100), N,
			},
			want: []int{3, 6, 12, 24, 1, 22, 22},
		},
		{
			// Nothing healthy below the breaching hold rate: lo is 0.
			name: "hold breach with nothing healthy below", min: 50, max: 50, limitMs: 250,
			script: []action{
				N, lat(0, 50, 100), N, lat(1, 50, 400),
				N, lat(2, 1, 100), N, lat(3, 20, 100),
				N, lat(4, 1, 100), N, lat(5, 30, 100),
				N, lat(6, 1, 100), N, lat(7, 40, 400),
				N, lat(8, 1, 100), N,
			},
			want: []int{50, 50, 1, 20, 1, 30, 1, 40, 1, 30},
		},
		{
			name: "negative limit means timeout mode", min: 10, max: 20, limitMs: -5,
			script: []action{N, tmo(0, 10, 10, 5), N},
			want:   []int{10, 1},
		},
		{
			// A limit beyond time.Duration's range is clamped, not wrapped.
			name: "huge limit stays in latency mode", min: 10, max: 20, limitMs: math.MaxInt64,
			script: []action{N, tmo(0, 10, 10, 10), N},
			want:   []int{10, 20},
		},
		{
			// Even the first rate breaches: hi 10, lo 0, so 0 is held.
			name: "first round breaches", min: 10, max: 100, limitMs: 250,
			script: []action{N, lat(0, 10, 400), N, lat(1, 1, 100), N, lat(2, 0, 0), N},
			want:   []int{10, 1, 0, 0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := play(t, tt.min, tt.max, tt.limitMs, tt.script)
			if !slices.Equal(got, tt.want) {
				t.Errorf("Next results = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestAdaptiveExponentialPipelinedTarget drives the calculator the way the
// orchestrator does (Next for round k, then the observation of round k-1)
// against a target that stays under the latency limit up to 137 rps.
func TestAdaptiveExponentialPipelinedTarget(t *testing.T) {
	const capacity, rounds = 137, 24
	c := manager.NewAdaptiveExponentialLoadCalculator(10, 500, 250).(manager.FeedbackLoadCalculator)
	got := make([]int, 0, rounds)
	for k := range rounds {
		got = append(got, c.Next())
		if k > 0 {
			prev := got[k-1]
			p99 := int64(100)
			if prev > capacity {
				p99 = 400
			}
			c.Observe(lat(int64(k-1), prev, p99).obs)
		}
	}
	want := []int{10, 10, 20, 20, 40, 40, 80, 80, 160, 160, 1, 1, 120, 120, 1, 1, 140, 140, 1, 1, 130, 130, 130, 130}
	if !slices.Equal(got, want) {
		t.Errorf("Next results = %v, want %v", got, want)
	}
}

func TestAdaptiveSearchResult(t *testing.T) {
	type searcher interface{ SearchResult() string }
	tests := []struct {
		name   string
		script []action
		want   string
	}{
		{"ramping", []action{N, lat(0, 10, 100), N}, "adaptive search still ramping: no breach up to 20 rps"},
		{"searching", []action{N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 400), N},
			"adaptive search not settled: 20 rps healthy, 40 rps breached"},
		{"settled", []action{N, lat(0, 10, 100), N, lat(1, 20, 100), N, lat(2, 40, 400), N, lat(3, 1, 100), N, lat(4, 30, 400), N, lat(5, 1, 100), N},
			"adaptive search settled on 20 rps, the highest rate found healthy"},
	}
	for _, tt := range tests {
		c := manager.NewAdaptiveExponentialLoadCalculator(10, 500, 250)
		fc := c.(manager.FeedbackLoadCalculator)
		for _, a := range tt.script {
			if a.next {
				fc.Next()
			} else {
				fc.Observe(a.obs)
			}
		}
		if got := c.(searcher).SearchResult(); got != tt.want {
			t.Errorf("%s: SearchResult() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
