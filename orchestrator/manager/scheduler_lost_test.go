package manager

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Tests of requests that go missing: jobs never reported, refused or
// partly sent, and rounds that must wait for a late one before them.

// TestSchedulerLostRequests covers the ways one executor's requests end
// up lost while the other executor's succeed. Both have capacity 1, so
// each round of 10 requests is split 5/5.
func TestSchedulerLostRequests(t *testing.T) {
	const (
		interval = time.Second
		timeout  = 100 * time.Millisecond
		grace    = 400 * time.Millisecond
	)
	tests := []struct {
		name   string
		broken func(*fakeExecutor)
		// wantSent and wantLost are per round; finish is how long after
		// a round's start it is finished.
		wantSent, wantLost int64
		finish             time.Duration
		wantDispatched     float64
		// wantRefused is how many reports are refused as inconsistent.
		wantRefused float64
	}{
		{
			name:     "never reports",
			broken:   func(f *fakeExecutor) { f.silent = func(tally.Job) bool { return true } },
			wantSent: 5, wantLost: 5,
			finish:         interval + timeout + grace,
			wantDispatched: 4,
		},
		{
			name:     "dispatch fails",
			broken:   func(f *fakeExecutor) { f.dispatchErr = errors.New("stream closed") },
			wantSent: 5, wantLost: 5,
			finish:         interval,
			wantDispatched: 2,
		},
		{
			// Its outcomes do not add up to its planned requests: the
			// report is refused and all its requests count as lost.
			name:     "report that does not add up",
			broken:   func(f *fakeExecutor) { f.sent = func(n int) int { return n - 3 } },
			wantSent: 5, wantLost: 5,
			finish:         interval,
			wantDispatched: 4,
			wantRefused:    2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				h := newHarness(t, SchedulerConfig{
					Calculator:     types.CalculatorOf(NewStepFunctionLoadCalculator(10, 10, 1)),
					Interval:       interval,
					Duration:       2 * interval,
					RequestTimeout: timeout,
					ReportGrace:    grace,
				})
				a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
				tt.broken(b)
				h.sched.Join(a)
				h.sched.Join(b)
				returned, err := h.wait(h.start(ctx), time.Minute)
				if err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
				rounds, finished := h.results()
				if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
					t.Fatalf("rounds = %v, want %v", got, want)
				}
				checkAccounting(t, rounds)
				for k, r := range rounds {
					if r.Counts.Planned != 10 || r.Counts.Sent != tt.wantSent || r.Counts.Success != tt.wantSent || r.Counts.Lost != tt.wantLost {
						t.Errorf("round %d: Planned/Sent/Success/Lost = %d/%d/%d/%d, want 10/%d/%d/%d",
							k, r.Counts.Planned, r.Counts.Sent, r.Counts.Success, r.Counts.Lost, tt.wantSent, tt.wantSent, tt.wantLost)
					}
					if got, want := r.AchievedRPS, float64(tt.wantSent)/interval.Seconds(); math.Abs(got-want) > 0.01*want {
						t.Errorf("round %d: AchievedRPS = %.2f, want %.2f", k, got, want)
					}
					if got := finished[k].Sub(r.Start); got != tt.finish {
						t.Errorf("round %d finished %v after its start, want %v", k, got, tt.finish)
					}
				}
				if last := rounds[len(rounds)-1]; !returned.Equal(finished[len(finished)-1]) {
					t.Errorf("Run returned %v after round %d finished, want at once", returned.Sub(finished[len(finished)-1]), last.Round)
				}
				if got := h.metric("imager_orchestrator_jobs_dispatched_total", ""); got != tt.wantDispatched {
					t.Errorf("jobs dispatched = %v, want %v", got, tt.wantDispatched)
				}
				if got := h.metric("imager_orchestrator_reports_refused_total", ""); got != tt.wantRefused {
					t.Errorf("reports refused = %v, want %v", got, tt.wantRefused)
				}
				if got := h.metric("imager_orchestrator_round_requests_total", "lost"); got != float64(2*tt.wantLost) {
					t.Errorf("lost requests metric = %v, want %d", got, 2*tt.wantLost)
				}
			})
		})
	}
}

// TestSchedulerRoundsFinishInOrder has exec-b miss only round 0's report,
// with a report deadline longer than an interval: rounds 1 and 2 are
// complete long before round 0 gives up, and must wait for it.
func TestSchedulerRoundsFinishInOrder(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		const deadline = time.Second + 100*time.Millisecond + 2*time.Second
		h := newHarness(t, SchedulerConfig{
			Calculator:     types.CalculatorOf(&scriptedCalculator{rates: []int{10}, repeat: true}),
			Interval:       time.Second,
			Duration:       3 * time.Second,
			RequestTimeout: 100 * time.Millisecond,
			ReportGrace:    2 * time.Second,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		b.silent = func(j tally.Job) bool { return j.Round == 0 }
		h.sched.Join(a)
		h.sched.Join(b)
		returned, err := h.wait(h.start(ctx), time.Minute)
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, finished := h.results()
		if got, want := indexes(rounds), []int64{0, 1, 2}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		checkAccounting(t, rounds)
		giveUp := rounds[0].Start.Add(deadline)
		for k, r := range rounds {
			wantLost := int64(0)
			if k == 0 {
				wantLost = 5
			}
			if r.Counts.Planned != 10 || r.Counts.Lost != wantLost || r.Counts.Success != 10-wantLost {
				t.Errorf("round %d: Planned/Success/Lost = %d/%d/%d, want 10/%d/%d", k, r.Counts.Planned, r.Counts.Success, r.Counts.Lost, 10-wantLost, wantLost)
			}
			if !finished[k].Equal(giveUp) {
				t.Errorf("round %d finished %v after round 0 started, want %v (when round 0 gave up)", k, finished[k].Sub(rounds[0].Start), deadline)
			}
		}
		if !returned.Equal(giveUp) {
			t.Errorf("Run returned %v after round 0 started, want %v", returned.Sub(rounds[0].Start), deadline)
		}
	})
}
