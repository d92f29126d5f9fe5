package manager

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// Tests of round 0 waiting for the expected executors
// (SchedulerConfig.ExpectExecutors, ExecutorWait, ExecutorWaitFail).

// logBuffer collects the scheduler's JSON log lines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// lines returns the decoded log lines whose msg is msg.
func (b *logBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, raw := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		if raw == "" {
			continue
		}
		var l map[string]any
		if err := json.Unmarshal([]byte(raw), &l); err != nil {
			t.Fatalf("log line %q: %v", raw, err)
		}
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// captureLog makes h's scheduler log JSON into the returned buffer. It
// must be called before Run starts.
func captureLog(h *harness) *logBuffer {
	b := &logBuffer{}
	h.sched.log = slog.New(slog.NewJSONHandler(b, nil))
	return b
}

// attr returns the numeric attribute key of a log line, or -1.
func attr(l map[string]any, key string) float64 {
	if v, ok := l[key].(float64); ok {
		return v
	}
	return -1
}

func TestSchedulerWaitsForExpectedExecutors(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:      types.CalculatorOf(NewConstantLoadCalculator(30)),
			Interval:        time.Second,
			Duration:        2 * time.Second,
			ExpectExecutors: 3,
			ExecutorWait:    time.Minute,
		})
		logs := captureLog(h)
		a, b, c := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1), newFake(ctx, h.sched, "exec-c", 1)
		h.sched.Join(a)
		errc := h.start(ctx)
		time.Sleep(10 * time.Second)
		h.sched.Join(b)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		for _, f := range []*fakeExecutor{a, b} {
			if jobs, _ := f.snapshot(); len(jobs) != 0 {
				t.Fatalf("%s got %d jobs with 2 of 3 executors joined, want none before the third joins", f.id, len(jobs))
			}
		}
		if got := logs.lines(t, "test started"); len(got) != 0 {
			t.Fatalf("test started with 2 of 3 executors joined: %v", got)
		}
		joinedC := time.Now()
		h.sched.Join(c)

		_, err := h.wait(errc, time.Minute)
		if err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 2 {
			t.Fatalf("%d rounds, want 2", len(rounds))
		}
		checkAccounting(t, rounds)
		// The third join starts the test at once, long before the wait
		// would have passed.
		if got, want := rounds[0].Start, joinedC.Add(h.sched.lead()); !got.Equal(want) {
			t.Errorf("round 0 starts %v after the third join, want %v", got.Sub(joinedC), want.Sub(joinedC))
		}
		if rounds[0].Executors != 3 {
			t.Errorf("round 0 split across %d executors, want 3", rounds[0].Executors)
		}
		for _, f := range []*fakeExecutor{a, b, c} {
			jobs, _ := f.snapshot()
			if len(jobs) == 0 || jobs[0].Round != 0 || jobs[0].Count != 10 {
				t.Errorf("%s: jobs %v; want its first job in round 0 with 10 requests", f.id, f.counts())
			}
		}
		waiting := logs.lines(t, "waiting for executors")
		if len(waiting) != 1 || attr(waiting[0], "want") != 3 || attr(waiting[0], "have") != 1 {
			t.Errorf("waiting for executors logged %v, want once with want=3 have=1", waiting)
		}
		started := logs.lines(t, "test started")
		if len(started) != 1 || attr(started[0], "executors") != 3 {
			t.Errorf("test started logged %v, want once with executors=3", started)
		}
		if got := logs.lines(t, "executor wait passed: starting with the executors present"); len(got) != 0 {
			t.Errorf("wait-passed warning logged though all executors joined: %v", got)
		}
	})
}

func TestSchedulerExecutorWaitPassesStartsWithThosePresent(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:      types.CalculatorOf(NewConstantLoadCalculator(10)),
			Interval:        time.Second,
			Duration:        2 * time.Second,
			ExpectExecutors: 3,
			ExecutorWait:    10 * time.Second,
		})
		logs := captureLog(h)
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		h.sched.Join(a)
		h.sched.Join(b)
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 2 || rounds[0].Executors != 2 {
			t.Fatalf("rounds %v; want 2, round 0 across the 2 executors present", indexes(rounds))
		}
		if got, want := rounds[0].Start.Sub(h.t0), 10*time.Second+h.sched.lead(); got != want {
			t.Errorf("round 0 starts %v after Run, want %v (the wait, then the lead)", got, want)
		}
		for _, f := range []*fakeExecutor{a, b} {
			if jobs, _ := f.snapshot(); len(jobs) == 0 || jobs[0].Round != 0 {
				t.Errorf("%s: no job in round 0", f.id)
			}
		}
		warned := logs.lines(t, "executor wait passed: starting with the executors present")
		if len(warned) != 1 || warned[0]["level"] != "WARN" || attr(warned[0], "want") != 3 || attr(warned[0], "have") != 2 {
			t.Errorf("warning %v, want one WARN line with want=3 have=2", warned)
		}
		if started := logs.lines(t, "test started"); len(started) != 1 || attr(started[0], "executors") != 2 {
			t.Errorf("test started logged %v, want executors=2", started)
		}
	})
}

func TestSchedulerExecutorWaitFail(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:       types.CalculatorOf(NewConstantLoadCalculator(10)),
			Interval:         time.Second,
			Duration:         2 * time.Second,
			ExpectExecutors:  3,
			ExecutorWait:     10 * time.Second,
			ExecutorWaitFail: true,
		})
		a, b := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1)
		h.sched.Join(a)
		h.sched.Join(b)
		returned, err := h.wait(h.start(ctx), time.Minute)
		var we *ExecutorWaitError
		if !errors.As(err, &we) || we.Want != 3 || we.Have != 2 || we.Wait != 10*time.Second {
			t.Fatalf("Run = %v, want an *ExecutorWaitError with 2 of 3 and the 10s wait", err)
		}
		for _, want := range []string{"expected 3 executor(s)", "only 2 joined", "10s"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if got := returned.Sub(h.t0); got != 10*time.Second {
			t.Errorf("Run returned %v after it started, want when the 10s wait passed", got)
		}
		if rounds, _ := h.results(); len(rounds) != 0 {
			t.Errorf("%d rounds ran, want none", len(rounds))
		}
		for _, f := range []*fakeExecutor{a, b} {
			if jobs, _ := f.snapshot(); len(jobs) != 0 {
				t.Errorf("%s got %d jobs, want none", f.id, len(jobs))
			}
		}
	})
}

func TestSchedulerExecutorWaitEndsWithContext(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:      types.CalculatorOf(NewConstantLoadCalculator(10)),
			ExpectExecutors: 3,
			ExecutorWait:    time.Hour,
		})
		a := newFake(ctx, h.sched, "exec-a", 1)
		h.sched.Join(a)
		errc := h.start(ctx)
		time.Sleep(5 * time.Second)
		stopped := time.Now()
		h.stop()
		returned, err := h.wait(errc, time.Minute)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v, want context.Canceled", err)
		}
		if returned != stopped {
			t.Errorf("Run returned %v after the stop, want at once", returned.Sub(stopped))
		}
		if jobs, _ := a.snapshot(); len(jobs) != 0 {
			t.Errorf("exec-a got %d jobs, want none", len(jobs))
		}
	})
}

func TestSchedulerExecutorWaitPassesWithNone(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:      types.CalculatorOf(NewConstantLoadCalculator(10)),
			Interval:        time.Second,
			Duration:        time.Second,
			ExpectExecutors: 2,
			ExecutorWait:    10 * time.Second,
		})
		logs := captureLog(h)
		errc := h.start(ctx)
		time.Sleep(20 * time.Second)
		synctest.Wait()
		warned := logs.lines(t, "executor wait passed with no executor: starting when the first joins")
		if len(warned) != 1 || warned[0]["level"] != "WARN" {
			t.Fatalf("warning %v, want one WARN line", warned)
		}
		if len(logs.lines(t, "test started")) != 0 {
			t.Fatal("test started with no executor")
		}
		joined := time.Now()
		a := newFake(ctx, h.sched, "exec-a", 1)
		h.sched.Join(a)
		if _, err := h.wait(errc, time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 1 || rounds[0].Executors != 1 || !rounds[0].Start.Equal(joined.Add(h.sched.lead())) {
			t.Fatalf("rounds %v; want round 0 on exec-a, starting once it joined", indexes(rounds))
		}
	})
}

func TestSchedulerWithoutExpectedExecutorsWaitsForTheFirst(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:       types.CalculatorOf(NewConstantLoadCalculator(10)),
			Interval:         time.Second,
			Duration:         time.Second,
			ExecutorWait:     time.Second,
			ExecutorWaitFail: true, // no effect without ExpectExecutors
		})
		logs := captureLog(h)
		errc := h.start(ctx)
		time.Sleep(time.Hour)
		synctest.Wait()
		if len(logs.lines(t, "test started")) != 0 {
			t.Fatal("test started with no executor")
		}
		waiting := logs.lines(t, "waiting for executors")
		if len(waiting) != 1 || attr(waiting[0], "want") != 1 || attr(waiting[0], "have") != 0 {
			t.Errorf("waiting for executors logged %v, want once with want=1 have=0", waiting)
		}
		joined := time.Now()
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		if _, err := h.wait(errc, time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 1 || rounds[0].Executors != 1 || !rounds[0].Start.Equal(joined.Add(h.sched.lead())) {
			t.Fatalf("rounds %v; want round 0 on exec-a, starting once it joined", indexes(rounds))
		}
	})
}
