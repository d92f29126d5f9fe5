package manager

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func TestSchedulerCalculatorEndsTest(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		calc := &scriptedCalculator{rates: []int{10, 10}}
		h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(calc), Interval: time.Second})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		returned, err := h.wait(h.start(ctx), time.Minute)
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		checkAccounting(t, rounds)
		if got, want := returned, rounds[1].Start.Add(time.Second); !got.Equal(want) {
			t.Errorf("Run returned %v after round 1 ended, want at its end", got.Sub(want))
		}
		if got, _ := calc.calls(); !slices.Equal(got, []int{10, 10, -1}) {
			t.Errorf("Next returned %v, want [10 10 -1]", got)
		}
		if sum := h.sched.Summary(); sum.Rounds != 2 || sum.Success != 20 {
			t.Errorf("Summary Rounds/Success = %d/%d, want 2/20", sum.Rounds, sum.Success)
		}
	})
}

func TestSchedulerCancelDrains(t *testing.T) {
	// Round 0 covers [0.5s, 1.5s) and round 1 [1.5s, 2.5s) after Run
	// starts; the context ends at 1.7s, while round 1 is running.
	const cancelAt = 1700 * time.Millisecond
	tests := []struct {
		name       string
		drain      time.Duration
		wantLost   int64         // in round 1
		wantReturn time.Duration // after Run started
	}{
		{name: "reports arrive in time", drain: 5 * time.Second, wantLost: 0, wantReturn: 2500 * time.Millisecond},
		{name: "drain deadline passes", drain: 300 * time.Millisecond, wantLost: 10, wantReturn: cancelAt + 300*time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				runCtx, stop := context.WithCancel(ctx)
				defer stop()
				calc := &scriptedCalculator{rates: []int{10}, repeat: true}
				h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(calc), Interval: time.Second, DrainTimeout: tt.drain})
				h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
				errc := h.start(runCtx)
				time.Sleep(cancelAt)
				stop()
				returned, err := h.wait(errc, time.Minute)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("Run = %v, want %v", err, context.Canceled)
				}
				if got := returned.Sub(h.t0); got != tt.wantReturn {
					t.Errorf("Run returned %v after it started, want %v", got, tt.wantReturn)
				}
				if got := returned.Sub(h.t0.Add(cancelAt)); got > tt.drain {
					t.Errorf("Run returned %v after cancel, want within DrainTimeout %v", got, tt.drain)
				}
				rounds, _ := h.results()
				if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
					t.Fatalf("rounds = %v, want %v", got, want)
				}
				checkAccounting(t, rounds)
				if r := rounds[1]; r.Counts.Planned != 10 || r.Counts.Lost != tt.wantLost || r.Counts.Success != 10-tt.wantLost {
					t.Errorf("round 1 Planned/Success/Lost = %d/%d/%d, want 10/%d/%d", r.Counts.Planned, r.Counts.Success, r.Counts.Lost, 10-tt.wantLost, tt.wantLost)
				}
				sum := h.sched.Summary()
				if sum.Rounds != 2 || sum.Planned != 20 || sum.Lost != tt.wantLost || sum.Success != 20-tt.wantLost {
					t.Errorf("Summary Rounds/Planned/Success/Lost = %d/%d/%d/%d, want 2/20/%d/%d",
						sum.Rounds, sum.Planned, sum.Success, sum.Lost, 20-tt.wantLost, tt.wantLost)
				}
				if got, _ := calc.calls(); len(got) != 2 {
					t.Errorf("Next called %d times, want 2 (no round planned after cancel)", len(got))
				}
			})
		})
	}
}

func TestSchedulerWaitsForExecutors(t *testing.T) {
	t.Run("cancelled while waiting", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			runCtx, stop := context.WithCancel(t.Context())
			defer stop()
			calc := &scriptedCalculator{rates: []int{10}, repeat: true}
			h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(calc), Duration: 2 * time.Second})
			errc := h.start(runCtx)
			time.Sleep(10 * time.Second)
			synctest.Wait()
			select {
			case err := <-errc:
				t.Fatalf("Run returned %v with no executor, want it to wait", err)
			default:
			}
			stop()
			returned, err := h.wait(errc, time.Minute)
			if !errors.Is(err, context.Canceled) {
				t.Errorf("Run = %v, want %v", err, context.Canceled)
			}
			if got := returned.Sub(h.t0); got != 10*time.Second {
				t.Errorf("Run returned %v after it started, want 10s (at cancel)", got)
			}
			if got, _ := calc.calls(); len(got) != 0 {
				t.Errorf("Next called %d times, want 0", len(got))
			}
			if rounds, _ := h.results(); len(rounds) != 0 {
				t.Errorf("%d rounds finished, want 0", len(rounds))
			}
		})
	})
	t.Run("late executor starts the test", func(t *testing.T) {
		bubble(t, func(t *testing.T) {
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			calc := &scriptedCalculator{rates: []int{10}, repeat: true}
			h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(calc), Interval: time.Second, Duration: 2 * time.Second})
			errc := h.start(ctx)
			time.Sleep(5 * time.Second)
			joined := time.Now()
			h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
			returned, err := h.wait(errc, time.Minute)
			if err != nil {
				t.Fatalf("Run = %v, want nil", err)
			}
			rounds, _ := h.results()
			if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
				t.Fatalf("rounds = %v, want %v", got, want)
			}
			checkAccounting(t, rounds)
			if start := rounds[0].Start; start.Before(joined) || start.After(joined.Add(time.Second)) {
				t.Errorf("round 0 started %v after the executor joined, want within one interval", start.Sub(joined))
			}
			if got, want := returned, rounds[0].Start.Add(2*time.Second); !got.Equal(want) {
				t.Errorf("Run returned %v after round 0 started, want 2s (the test's duration)", got.Sub(rounds[0].Start))
			}
		})
	})
}

func TestSchedulerFeedback(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		calc := &scriptedCalculator{rates: []int{5, 0, 12, 7}}
		h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(calc), Interval: time.Second})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 2))
		h.sched.Join(newFake(ctx, h.sched, "exec-b", 1))
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		returned, observed := calc.calls()
		if got, want := returned, []int{5, 0, 12, 7, -1}; !slices.Equal(got, want) {
			t.Fatalf("Next returned %v, want %v", got, want)
		}
		if len(observed) != 4 {
			t.Fatalf("Observe called %d times, want 4 (once per round)", len(observed))
		}
		for k, o := range observed {
			rps := returned[k]
			if o.Round != int64(k) || o.PlannedRPS != rps || o.Planned != int64(rps) || o.Success != int64(rps) || o.Lost != 0 {
				t.Errorf("observation %d: Round/PlannedRPS/Planned/Success/Lost = %d/%d/%d/%d/%d, want %d/%d/%d/%d/0",
					k, o.Round, o.PlannedRPS, o.Planned, o.Success, o.Lost, k, rps, rps, rps)
			}
			if got, want := o.AchievedRPS, float64(rps); got < want*0.99 || got > want*1.01 {
				t.Errorf("observation %d: AchievedRPS = %.2f, want %v", k, got, want)
			}
			if rps > 0 && (o.P50 < testLatency*99/100 || o.P99 > testLatency*101/100) {
				t.Errorf("observation %d: P50/P99 = %v/%v, want about %v", k, o.P50, o.P99, testLatency)
			}
		}
	})
}

func TestSchedulerSourceFails(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Round 0 draws 10 requests; round 1 has 10 for exec-a but none
		// left for exec-b.
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(&scriptedCalculator{rates: []int{10}, repeat: true}),
			Source:     &fakeSource{failAfter: 15},
			Interval:   time.Second,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		h.sched.Join(a)
		h.sched.Join(b)
		_, err := h.wait(h.start(ctx), time.Minute)
		if !errors.Is(err, errSourceDry) {
			t.Fatalf("Run = %v, want an error wrapping %v", err, errSourceDry)
		}
		rounds, _ := h.results()
		if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		checkAccounting(t, rounds)
		if got, want := a.counts(), []int{5, 5}; !slices.Equal(got, want) {
			t.Errorf("exec-a job counts = %v, want %v", got, want)
		}
		if got, want := b.counts(), []int{5}; !slices.Equal(got, want) {
			t.Errorf("exec-b job counts = %v, want %v", got, want)
		}
	})
}

func TestPendingRoundSettle(t *testing.T) {
	start := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	rep := func(sent, success, timeouts int64) *tally.Report {
		r := tally.NewReport("j", 0)
		r.Sent, r.Success, r.Timeouts = sent, success, timeouts
		r.FirstSend, r.LastSend = start, start.Add(900*time.Millisecond)
		return r
	}
	late := func(r *tally.Report) *tally.Report {
		r.LastSend = r.LastSend.Add(time.Second)
		return r
	}
	stoppedAt := func(r *tally.Report, last time.Duration) *tally.Report {
		r.LastSend = start.Add(last)
		return r
	}
	planned := func(r *tally.Report, n int64) *tally.Report {
		r.Planned = n
		return r
	}
	tests := []struct {
		name        string
		report      *tally.Report // nil: never reported
		stopping    bool
		want        tally.Counts
		wantSettled bool
		wantRPS     float64
	}{
		{"full", rep(10, 9, 1), false, tally.Counts{Planned: 10, Sent: 10, Success: 9, Timeouts: 1}, true, 10},
		{"partial", rep(6, 5, 1), false, tally.Counts{Planned: 10, Sent: 6, Success: 5, Timeouts: 1, Lost: 4}, true, 6},
		// A report that plans less is only believed once the run stopped.
		{"short plan while running", planned(rep(6, 6, 0), 6), false, tally.Counts{Planned: 10, Sent: 6, Success: 6, Lost: 4}, true, 6},
		// Stopped 600ms in: 6 of 10 requests fell due, the last at 500ms,
		// so they went out at the planned 10 rps.
		{"short plan after stop", stoppedAt(planned(rep(6, 6, 0), 6), 500*time.Millisecond), true, tally.Counts{Planned: 6, Sent: 6, Success: 6}, true, 10},
		{"missing", nil, false, tally.Counts{Planned: 10, Lost: 10}, true, 0},
		// The last send was 1s late, so sending took 2s: 5 rps.
		{"late sends", late(rep(10, 10, 0)), false, tally.Counts{Planned: 10, Sent: 10, Success: 10}, true, 5},
		// Stopped 3ms in: the one request due at 0 went out; at the
		// planned 10 rps it stands for 100ms, not 3ms (333 rps).
		{"stopped just after the start", stoppedAt(planned(rep(1, 1, 0), 1), 0), true, tally.Counts{Planned: 1, Sent: 1, Success: 1}, true, 10},
	}
	for _, tt := range tests {
		p := &pendingRound{
			result: RoundResult{RoundStats: types.RoundStats{PlannedRPS: 10}, Start: start, Interval: time.Second},
			merged: tally.NewReport("", 0),
			jobs:   map[string]*pendingJob{"j": {executor: "e", planned: 10}},
		}
		p.outstanding = 1
		if got := p.settle("j", tt.report, tt.stopping); got != tt.wantSettled {
			t.Errorf("%s: settle = %v, want %v", tt.name, got, tt.wantSettled)
		}
		if p.settle("j", rep(10, 10, 0), false) {
			t.Errorf("%s: second settle of the same job = true, want false", tt.name)
		}
		if p.outstanding != 0 {
			t.Errorf("%s: outstanding = %d, want 0", tt.name, p.outstanding)
		}
		end := start.Add(time.Second)
		if tt.stopping {
			end = start.Add(600 * time.Millisecond)
			if tt.report != nil && tt.report.Planned == 1 {
				end = start.Add(3 * time.Millisecond)
			}
		}
		r := p.finish(end)
		if r.Counts != tt.want {
			t.Errorf("%s: counts = %+v, want %+v", tt.name, r.Counts, tt.want)
		}
		if got, want := r.AchievedRPS, tt.wantRPS; math.Abs(got-want) > 1e-9 {
			t.Errorf("%s: AchievedRPS = %v, want %v", tt.name, got, want)
		}
	}
}
