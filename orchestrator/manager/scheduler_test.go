package manager

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/metrics"
	"github.com/PeladoCollado/imager/types"
)

// The scheduler tests run inside synctest bubbles: the fake clock starts
// when the bubble does and only moves when every goroutine in it is
// blocked, so the round grid is exact and time.Sleep in a fake executor
// costs nothing.

var (
	_ Executor            = (*fakeExecutor)(nil)
	_ types.RequestSource = (*fakeSource)(nil)
)

// testLatency is the latency every fake request records.
const testLatency = 2 * time.Millisecond

// fakeExecutor runs jobs on the fake clock: each job reports when its
// interval is over, as if every request had succeeded.
type fakeExecutor struct {
	id       string
	capacity int
	sched    *Scheduler
	ctx      context.Context // ends the fake's report goroutines

	// dispatchErr fails every Dispatch; silent, when set, picks the jobs
	// never reported; sent, when set, is how many of a job's requests go
	// out (all succeed).
	dispatchErr error
	silent      func(engine.Job) bool
	sent        func(count int) int

	mu   sync.Mutex
	jobs []engine.Job
	at   []time.Time // when each job was dispatched
}

// newFake returns an executor reporting to s until ctx ends.
func newFake(ctx context.Context, s *Scheduler, id string, capacity int) *fakeExecutor {
	return &fakeExecutor{id: id, capacity: capacity, sched: s, ctx: ctx}
}

func (f *fakeExecutor) ID() string    { return f.id }
func (f *fakeExecutor) Capacity() int { return f.capacity }

// Dispatch records job and, unless told otherwise, reports it once its
// interval is over.
func (f *fakeExecutor) Dispatch(job engine.Job) error {
	f.mu.Lock()
	f.jobs = append(f.jobs, job)
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	if f.dispatchErr != nil {
		return f.dispatchErr
	}
	if f.silent != nil && f.silent(job) {
		return nil
	}
	sent := job.Count
	if f.sent != nil {
		sent = f.sent(job.Count)
	}
	go func() {
		t := time.NewTimer(time.Until(job.StartAt.Add(job.Duration)))
		defer t.Stop()
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		f.sched.Report(f.id, successReport(job, sent))
	}()
	return nil
}

// counts returns the Count of every job dispatched so far, in order.
func (f *fakeExecutor) counts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.jobs))
	for i, j := range f.jobs {
		out[i] = j.Count
	}
	return out
}

// snapshot returns the jobs dispatched so far and when.
func (f *fakeExecutor) snapshot() ([]engine.Job, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.jobs), slices.Clone(f.at)
}

// successReport is the report of job when sent of its requests went out,
// evenly spaced, and all succeeded.
func successReport(job engine.Job, sent int) *engine.Report {
	rep := engine.NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	rep.Sent = int64(sent)
	rep.Success = int64(sent)
	if sent > 0 {
		rep.FirstSend = job.StartAt
		rep.LastSend = job.StartAt.Add(job.Duration * time.Duration(sent-1) / time.Duration(job.Count))
	}
	for range sent {
		_ = rep.Latency.RecordValue(testLatency.Microseconds())
		_ = rep.Service.RecordValue(testLatency.Microseconds() / 2)
	}
	return rep
}

// fakeSource yields GET /n forever, or fails after failAfter specs when
// that is set.
type fakeSource struct {
	n         int
	failAfter int
}

var errSourceDry = errors.New("source ran dry")

func (s *fakeSource) Next() (types.RequestSpec, error) {
	if s.failAfter > 0 && s.n >= s.failAfter {
		return types.RequestSpec{}, errSourceDry
	}
	s.n++
	return types.RequestSpec{Method: "GET", Path: "/n"}, nil
}

func (s *fakeSource) Reset() error { s.n = 0; return nil }

// bubble runs f in a synctest bubble. A scheduler loop that never blocks
// stops the fake clock, so its test would hang until the go test timeout;
// the watchdog turns that into a prompt crash naming the test.
func bubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	name := t.Name()
	watchdog := time.AfterFunc(30*time.Second, func() {
		panic(name + ": fake clock stuck for 30s of real time: the scheduler is spinning")
	})
	defer watchdog.Stop()
	synctest.Test(t, f)
}

// harness runs a Scheduler and records its finished rounds.
type harness struct {
	t     *testing.T
	sched *Scheduler
	reg   *prometheus.Registry
	t0    time.Time // the bubble's start: when Run is started
	stop  context.CancelFunc

	mu       sync.Mutex
	rounds   []*RoundResult
	finished []time.Time // when each round was handed to OnRound
}

// newHarness builds a Scheduler from cfg, filling in a source, target,
// metrics, logger and OnRound. It must be called inside the bubble.
func newHarness(t *testing.T, cfg SchedulerConfig) *harness {
	t.Helper()
	h := &harness{t: t, reg: prometheus.NewRegistry(), t0: time.Now()}
	m, err := metrics.NewOrchestrator(h.reg)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	if cfg.Source == nil {
		cfg.Source = &fakeSource{}
	}
	if cfg.Target == nil {
		cfg.Target = func() (string, error) { return "http://127.0.0.1:1", nil }
	}
	cfg.Metrics = m
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	cfg.OnRound = func(r *RoundResult) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.rounds = append(h.rounds, r)
		h.finished = append(h.finished, time.Now())
	}
	h.sched, err = NewScheduler(cfg)
	if err != nil {
		t.Fatalf("NewScheduler: %v", err)
	}
	return h
}

// start runs the scheduler until ctx ends; the result arrives on the
// returned channel.
func (h *harness) start(ctx context.Context) <-chan error {
	ctx, h.stop = context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() { errc <- h.sched.Run(ctx) }()
	return errc
}

// wait returns Run's result and when it came. When Run has not returned
// within limit of fake time it stops Run, waits for it so that the bubble
// ends cleanly, and fails the test.
func (h *harness) wait(errc <-chan error, limit time.Duration) (error, time.Time) {
	h.t.Helper()
	select {
	case err := <-errc:
		return err, time.Now()
	case <-time.After(limit):
		h.stop()
		err := <-errc
		h.t.Fatalf("Run did not return within %v; once stopped it returned %v", limit, err)
		return nil, time.Time{}
	}
}

// results returns the rounds finished so far and when each finished.
func (h *harness) results() ([]*RoundResult, []time.Time) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.rounds), slices.Clone(h.finished)
}

// metric returns the value of the unlabelled counter or gauge name, or the
// series whose label matches labelValue.
func (h *harness) metric(name, labelValue string) float64 {
	h.t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		h.t.Fatalf("gather: %v", err)
	}
	for _, mf := range families {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if labelValue != "" && !hasLabelValue(m, labelValue) {
				continue
			}
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	h.t.Fatalf("metric %s{%s} not found", name, labelValue)
	return 0
}

func hasLabelValue(m *dto.Metric, v string) bool {
	for _, l := range m.GetLabel() {
		if l.GetValue() == v {
			return true
		}
	}
	return false
}

// checkAccounting fails when a round's outcomes do not add up to its plan.
func checkAccounting(t *testing.T, rounds []*RoundResult) {
	t.Helper()
	for _, r := range rounds {
		if got, want := r.Accounted(), r.Planned; got != want {
			t.Errorf("round %d: Accounted() = %d, want Planned = %d (%+v)", r.Index, got, want, r.Counts)
		}
	}
}

// indexes returns the rounds' indexes in order.
func indexes(rounds []*RoundResult) []int64 {
	out := make([]int64, len(rounds))
	for i, r := range rounds {
		out[i] = r.Index
	}
	return out
}

func TestSchedulerStepProfile(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator: NewStepFunctionLoadCalculator(10, 30, 10),
			Interval:   time.Second,
			Duration:   3 * time.Second,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 3)
		h.sched.Join(b)
		h.sched.Join(a)
		err, returned := h.wait(h.start(ctx), time.Minute)
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
		var want engine.Counts
		for k, r := range rounds {
			rps := 10 * (k + 1)
			if r.PlannedRPS != rps || r.Planned != int64(rps) || r.Success != int64(rps) || r.Sent != int64(rps) {
				t.Errorf("round %d: PlannedRPS/Planned/Sent/Success = %d/%d/%d/%d, want %d each",
					k, r.PlannedRPS, r.Planned, r.Sent, r.Success, rps)
			}
			if r.Lost != 0 || r.Failed() != 0 {
				t.Errorf("round %d: Lost = %d, Failed = %d, want 0", k, r.Lost, r.Failed())
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
			if got, want := r.Quantile(50), testLatency; got < want*99/100 || got > want*101/100 {
				t.Errorf("round %d: p50 = %v, want about %v", k, got, want)
			}
			want.Add(r.Counts)
		}
		for _, f := range []*fakeExecutor{a, b} {
			jobs, at := f.snapshot()
			for i, j := range jobs {
				r := rounds[i]
				if j.Round != r.Index || !j.StartAt.Equal(r.Start) || j.Duration != time.Second {
					t.Errorf("%s job %d: Round/StartAt/Duration = %d/t0%+v/%v, want %d/t0%+v/1s",
						f.id, i, j.Round, j.StartAt.Sub(start), j.Duration, r.Index, r.Start.Sub(start))
				}
				if !at[i].Before(j.StartAt) {
					t.Errorf("%s job %d dispatched at t0%+v, want before its start t0%+v", f.id, i, at[i].Sub(start), j.StartAt.Sub(start))
				}
				if len(j.Requests) != j.Count {
					t.Errorf("%s job %d: %d requests for Count %d", f.id, i, len(j.Requests), j.Count)
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
			Calculator: NewStepFunctionLoadCalculator(10, 30, 10),
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

		if err, _ := h.wait(errc, time.Minute); err != nil {
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
			if r.Planned != tt.planned || r.Success != tt.success || r.Lost != tt.lost || r.Executors != tt.executors {
				t.Errorf("round %d: Planned/Success/Lost/Executors = %d/%d/%d/%d, want %d/%d/%d/%d",
					k, r.Planned, r.Success, r.Lost, r.Executors, tt.planned, tt.success, tt.lost, tt.executors)
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
	}{
		{
			name:     "never reports",
			broken:   func(f *fakeExecutor) { f.silent = func(engine.Job) bool { return true } },
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
			name:     "partial report",
			broken:   func(f *fakeExecutor) { f.sent = func(n int) int { return n - 3 } },
			wantSent: 7, wantLost: 3,
			finish:         interval,
			wantDispatched: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				h := newHarness(t, SchedulerConfig{
					Calculator:     NewStepFunctionLoadCalculator(10, 10, 1),
					Interval:       interval,
					Duration:       2 * interval,
					RequestTimeout: timeout,
					ReportGrace:    grace,
				})
				a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
				tt.broken(b)
				h.sched.Join(a)
				h.sched.Join(b)
				err, returned := h.wait(h.start(ctx), time.Minute)
				if err != nil {
					t.Fatalf("Run = %v, want nil", err)
				}
				rounds, finished := h.results()
				if got, want := indexes(rounds), []int64{0, 1}; !slices.Equal(got, want) {
					t.Fatalf("rounds = %v, want %v", got, want)
				}
				checkAccounting(t, rounds)
				for k, r := range rounds {
					if r.Planned != 10 || r.Sent != tt.wantSent || r.Success != tt.wantSent || r.Lost != tt.wantLost {
						t.Errorf("round %d: Planned/Sent/Success/Lost = %d/%d/%d/%d, want 10/%d/%d/%d",
							k, r.Planned, r.Sent, r.Success, r.Lost, tt.wantSent, tt.wantSent, tt.wantLost)
					}
					if got, want := r.AchievedRPS, float64(tt.wantSent)/interval.Seconds(); math.Abs(got-want) > 0.01*want {
						t.Errorf("round %d: AchievedRPS = %.2f, want %.2f", k, got, want)
					}
					if got := finished[k].Sub(r.Start); got != tt.finish {
						t.Errorf("round %d finished %v after its start, want %v", k, got, tt.finish)
					}
				}
				if last := rounds[len(rounds)-1]; !returned.Equal(finished[len(finished)-1]) {
					t.Errorf("Run returned %v after round %d finished, want at once", returned.Sub(finished[len(finished)-1]), last.Index)
				}
				if got := h.metric("imager_orchestrator_jobs_dispatched_total", ""); got != tt.wantDispatched {
					t.Errorf("jobs dispatched = %v, want %v", got, tt.wantDispatched)
				}
				if got := h.metric("imager_orchestrator_round_requests_total", "lost"); got != float64(2*tt.wantLost) {
					t.Errorf("lost requests metric = %v, want %d", got, 2*tt.wantLost)
				}
			})
		})
	}
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
		{"complete", SchedulerConfig{Calculator: calc, Source: &fakeSource{}, Target: target}, false},
		{"no calculator", SchedulerConfig{Source: &fakeSource{}, Target: target}, true},
		{"no source", SchedulerConfig{Calculator: calc, Target: target}, true},
		{"no target", SchedulerConfig{Calculator: calc, Source: &fakeSource{}}, true},
	}
	for _, tt := range tests {
		_, err := NewScheduler(tt.cfg)
		if got := err != nil; got != tt.wantErr {
			t.Errorf("%s: NewScheduler error = %v, want error %v", tt.name, err, tt.wantErr)
		}
	}
}
