package manager

import (
	"context"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func TestSchedulerStepProfile(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(NewStepFunctionLoadCalculator(10, 30, 10)),
			Interval:   time.Second,
			Duration:   3 * time.Second,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 3)
		h.sched.Join(b)
		h.sched.Join(a)
		returned, err := h.wait(h.start(ctx), time.Minute)
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}

		rounds, _ := h.results()
		if got, want := indexes(rounds), []int64{0, 1, 2}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		checkAccounting(t, rounds)
		// 10, 20, 30 split 1:3: floors 2/7, 5/15, 7/22, remainder to exec-a.
		if got, want := a.counts(), []int{3, 5, 8}; !slices.Equal(got, want) {
			t.Errorf("exec-a job counts = %v, want %v", got, want)
		}
		if got, want := b.counts(), []int{7, 15, 22}; !slices.Equal(got, want) {
			t.Errorf("exec-b job counts = %v, want %v", got, want)
		}
		start := rounds[0].Start
		if start.Before(h.t0) || start.After(h.t0.Add(time.Second)) {
			t.Errorf("round 0 Start = +%v after Run started, want within one interval", start.Sub(h.t0))
		}
		var want tally.Counts
		for k, r := range rounds {
			rps := 10 * (k + 1)
			if r.PlannedRPS != rps || r.Counts.Planned != int64(rps) || r.Counts.Success != int64(rps) || r.Counts.Sent != int64(rps) {
				t.Errorf("round %d: PlannedRPS/Planned/Sent/Success = %d/%d/%d/%d, want %d each",
					k, r.PlannedRPS, r.Counts.Planned, r.Counts.Sent, r.Counts.Success, rps)
			}
			if r.Counts.Lost != 0 || r.Counts.Failed() != 0 {
				t.Errorf("round %d: Lost = %d, Failed = %d, want 0", k, r.Counts.Lost, r.Counts.Failed())
			}
			if math.Abs(r.AchievedRPS-float64(rps)) > 0.01*float64(rps) {
				t.Errorf("round %d: AchievedRPS = %.2f, want %d within 1%%", k, r.AchievedRPS, rps)
			}
			if got, want := r.Start, start.Add(time.Duration(k)*time.Second); !got.Equal(want) {
				t.Errorf("round %d: Start = t0%+v, want t0%+v", k, got.Sub(start), want.Sub(start))
			}
			if r.Executors != 2 || r.Interval != time.Second {
				t.Errorf("round %d: Executors = %d, Interval = %v, want 2, 1s", k, r.Executors, r.Interval)
			}
			if got, want := r.P50, testLatency; got < want*99/100 || got > want*101/100 {
				t.Errorf("round %d: p50 = %v, want about %v", k, got, want)
			}
			want.Add(r.Counts)
		}
		for _, f := range []*fakeExecutor{a, b} {
			jobs, at := f.snapshot()
			for i, j := range jobs {
				r := rounds[i]
				if j.Round != r.Round || !j.StartAt.Equal(r.Start) || j.Duration != time.Second {
					t.Errorf("%s job %d: Round/StartAt/Duration = %d/t0%+v/%v, want %d/t0%+v/1s",
						f.id, i, j.Round, j.StartAt.Sub(start), j.Duration, r.Round, r.Start.Sub(start))
				}
				if !at[i].Before(j.StartAt) {
					t.Errorf("%s job %d dispatched at t0%+v, want before its start t0%+v", f.id, i, at[i].Sub(start), j.StartAt.Sub(start))
				}
				// The source repeats one request: the job carries it once.
				if len(j.Requests) != 1 || j.Order != nil || j.Request(j.Count-1).Path != "/n" {
					t.Errorf("%s job %d: %d requests, order %v for Count %d; want the one request, no order",
						f.id, i, len(j.Requests), j.Order, j.Count)
				}
			}
		}
		if got, want := returned, start.Add(3*time.Second); !got.Equal(want) {
			t.Errorf("Run returned at t0%+v, want t0%+v (end of the last round)", got.Sub(start), want.Sub(start))
		}

		sum := h.sched.Summary()
		if sum.Rounds != 3 || sum.Counts != want || sum.Elapsed != 3*time.Second {
			t.Errorf("Summary = %d rounds, %+v, elapsed %v; want 3, %+v, 3s", sum.Rounds, sum.Counts, sum.Elapsed, want)
		}
		if got, want := sum.Latency.TotalCount(), int64(60); got != want {
			t.Errorf("Summary latency samples = %d, want %d", got, want)
		}
		if got, want := sum.AchievedRPS(), 20.0; math.Abs(got-want) > 0.2 {
			t.Errorf("Summary AchievedRPS = %.2f, want %.0f", got, want)
		}

		for _, m := range []struct {
			name, label string
			want        float64
		}{
			{"imager_orchestrator_jobs_dispatched_total", "", 6},
			{"imager_orchestrator_job_requests_total", "", 60},
			{"imager_orchestrator_registered_executors", "", 2},
			{"imager_orchestrator_round", "", 2},
			{"imager_orchestrator_planned_rps", "", 30},
			{"imager_orchestrator_round_requests_total", "success", 60},
			{"imager_orchestrator_round_requests_total", "lost", 0},
		} {
			if got := h.metric(m.name, m.label); got != m.want {
				t.Errorf("%s{%s} = %v, want %v", m.name, m.label, got, m.want)
			}
		}
	})
}

func TestSchedulerExecutorLeaves(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(NewStepFunctionLoadCalculator(10, 30, 10)),
			Interval:   time.Second,
			Duration:   3 * time.Second,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		h.sched.Join(a)
		h.sched.Join(b)
		errc := h.start(ctx)

		// Leave once round 0 is over and round 1 is running: round 1's
		// job on exec-b has been dispatched but not reported.
		time.Sleep(1700 * time.Millisecond)
		synctest.Wait()
		rounds, _ := h.results()
		jobs, _ := b.snapshot()
		if len(rounds) != 1 || len(jobs) != 2 || !time.Now().Before(jobs[1].StartAt.Add(jobs[1].Duration)) {
			t.Fatalf("before Leave: %d rounds finished, %d jobs on exec-b; want round 0 finished and round 1 running", len(rounds), len(jobs))
		}
		// exec-b keeps running: its late report for round 1 must be ignored.
		h.sched.Leave(b, "stream broken")

		if _, err := h.wait(errc, time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, finished := h.results()
		if got, want := indexes(rounds), []int64{0, 1, 2}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		checkAccounting(t, rounds)
		for k, r := range rounds {
			// Leave settles exec-b's jobs at once: no round waits for
			// its report deadline.
			if got, want := finished[k].Sub(r.Start), r.Interval; got != want {
				t.Errorf("round %d finished %v after its start, want %v", k, got, want)
			}
		}
		tests := []struct {
			planned, success, lost int64
			executors              int
		}{
			{planned: 10, success: 10, lost: 0, executors: 2},
			{planned: 20, success: 10, lost: 10, executors: 2}, // exec-b's half is lost
			{planned: 30, success: 30, lost: 0, executors: 1},  // all on exec-a
		}
		for k, tt := range tests {
			r := rounds[k]
			if r.Counts.Planned != tt.planned || r.Counts.Success != tt.success || r.Counts.Lost != tt.lost || r.Executors != tt.executors {
				t.Errorf("round %d: Planned/Success/Lost/Executors = %d/%d/%d/%d, want %d/%d/%d/%d",
					k, r.Counts.Planned, r.Counts.Success, r.Counts.Lost, r.Executors, tt.planned, tt.success, tt.lost, tt.executors)
			}
		}
		if got, want := a.counts(), []int{5, 10, 30}; !slices.Equal(got, want) {
			t.Errorf("exec-a job counts = %v, want %v", got, want)
		}
		if got, want := b.counts(), []int{5, 10}; !slices.Equal(got, want) {
			t.Errorf("exec-b job counts = %v, want %v", got, want)
		}
		if sum := h.sched.Summary(); sum.Planned != 60 || sum.Success != 50 || sum.Lost != 10 {
			t.Errorf("Summary Planned/Success/Lost = %d/%d/%d, want 60/50/10", sum.Planned, sum.Success, sum.Lost)
		}
		if got := h.metric("imager_orchestrator_executor_disconnects_total", ""); got != 1 {
			t.Errorf("executor disconnects = %v, want 1", got)
		}
		if got := h.metric("imager_orchestrator_registered_executors", ""); got != 1 {
			t.Errorf("registered executors = %v, want 1", got)
		}
	})
}

func TestSplitCounts(t *testing.T) {
	tests := []struct {
		total      int
		capacities []int
		want       []int
	}{
		{total: 10, capacities: []int{1, 3}, want: []int{3, 7}},
		{total: 30, capacities: []int{1, 3}, want: []int{8, 22}},
		{total: 10, capacities: []int{1, 1}, want: []int{5, 5}},
		{total: 11, capacities: []int{1, 1}, want: []int{6, 5}},
		{total: 2, capacities: []int{1, 1, 1}, want: []int{1, 1, 0}},
		{total: 7, capacities: []int{5}, want: []int{7}},
		{total: 0, capacities: []int{2, 3}, want: []int{0, 0}},
		{total: 100, capacities: []int{1, 2, 3, 4}, want: []int{10, 20, 30, 40}},
		{total: 9, capacities: []int{2, 2, 2, 2}, want: []int{3, 2, 2, 2}},
		{total: 10, capacities: []int{0, 1}, want: []int{5, 5}},  // zero counts as 1
		{total: 10, capacities: []int{-4, 1}, want: []int{5, 5}}, // negative counts as 1
		{total: 12, capacities: []int{0, -1, 2}, want: []int{3, 3, 6}},
		{total: 1000003, capacities: []int{1, 1000}, want: []int{1000, 999003}},
	}
	for _, tt := range tests {
		got := splitCounts(tt.total, tt.capacities)
		if !slices.Equal(got, tt.want) {
			t.Errorf("splitCounts(%d, %v) = %v, want %v", tt.total, tt.capacities, got, tt.want)
		}
		sum := 0
		for _, n := range got {
			sum += n
		}
		if sum != tt.total {
			t.Errorf("splitCounts(%d, %v) sums to %d, want %d", tt.total, tt.capacities, sum, tt.total)
		}
	}
}

func TestNewSchedulerValidates(t *testing.T) {
	calc := NewStepFunctionLoadCalculator(1, 1, 1)
	target := func() (string, error) { return "http://127.0.0.1:1", nil }
	tests := []struct {
		name    string
		cfg     SchedulerConfig
		wantErr bool
	}{
		{"complete", SchedulerConfig{Calculator: types.CalculatorOf(calc), Source: &fakeSource{}, Target: target}, false},
		{"no calculator", SchedulerConfig{Source: &fakeSource{}, Target: target}, true},
		{"no source", SchedulerConfig{Calculator: types.CalculatorOf(calc), Target: target}, true},
		{"no target", SchedulerConfig{Calculator: types.CalculatorOf(calc), Source: &fakeSource{}}, true},
	}
	for _, tt := range tests {
		_, err := NewScheduler(tt.cfg)
		if got := err != nil; got != tt.wantErr {
			t.Errorf("%s: NewScheduler error = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}

func TestSchedulerSendsTLSWithEveryJob(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		tc := &tally.TLSConfig{InsecureSkipVerify: true, CAPEM: []byte("ca")}
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(NewConstantLoadCalculator(4)),
			Interval:   time.Second,
			Duration:   2 * time.Second,
			TLS:        tc,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		h.sched.Join(a)
		h.sched.Join(b)
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		for _, f := range []*fakeExecutor{a, b} {
			jobs, _ := f.snapshot()
			if len(jobs) != 2 {
				t.Fatalf("%s got %d jobs, want 2", f.id, len(jobs))
			}
			for i, j := range jobs {
				if j.TLS != tc || j.Count != 2 {
					t.Errorf("%s job %d: TLS %v, Count %d; want the scheduler's TLS configuration and 2", f.id, i, j.TLS, j.Count)
				}
			}
		}
	})
}
