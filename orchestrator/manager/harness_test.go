package manager

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/PeladoCollado/imager/internal/metrics"
)

// The scheduler tests run inside synctest bubbles: the fake clock starts
// when the bubble does and only moves when every goroutine in it is
// blocked, so the round grid is exact and time.Sleep in a fake executor
// costs nothing.

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

// wait returns when Run returned and its result. When Run has not returned
// within limit of fake time it stops Run, waits for it so that the bubble
// ends cleanly, and fails the test.
func (h *harness) wait(errc <-chan error, limit time.Duration) (time.Time, error) {
	h.t.Helper()
	select {
	case err := <-errc:
		return time.Now(), err
	case <-time.After(limit):
		h.stop()
		err := <-errc
		h.t.Fatalf("Run did not return within %v; once stopped it returned %v", limit, err)
		return time.Time{}, nil
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
		if got, want := r.Counts.Accounted(), r.Counts.Planned; got != want {
			t.Errorf("round %d: Accounted() = %d, want Planned = %d (%+v)", r.Round, got, want, r.Counts)
		}
	}
}

// indexes returns the rounds' indexes in order.
func indexes(rounds []*RoundResult) []int64 {
	out := make([]int64, len(rounds))
	for i, r := range rounds {
		out[i] = r.Round
	}
	return out
}
