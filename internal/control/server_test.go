package control_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// Tests with a real executor on the other end of the control plane.

func TestExecutorJoinsRunsJobAndReports(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(target.Close)

	ts := startServer(t, control.Config{AuthToken: "s3cret", Version: "test"})
	_, stop := runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: "exec-a", Capacity: 4, AuthToken: "s3cret"})

	e := await(t, ts.fleet.joins, "Join")
	if e.ID() != "exec-a" || e.Capacity() != 4 {
		t.Errorf("joined executor = (id %q, capacity %d), want (exec-a, 4)", e.ID(), e.Capacity())
	}

	const count = 10
	job := tally.Job{
		ID: "r7-exec-a", Round: 7, TargetURL: target.URL,
		StartAt: time.Now().Add(50 * time.Millisecond), Duration: 100 * time.Millisecond,
		Count: count, Timeout: 5 * time.Second,
		Requests: []types.RequestSpec{{Method: "GET", Path: "/ping"}},
	}
	if err := e.Dispatch(job); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	got := await(t, ts.fleet.reports, "Report")
	if got.executorID != "exec-a" {
		t.Errorf("report from %q, want exec-a", got.executorID)
	}
	rep := got.rep
	if rep.JobID != job.ID || rep.Round != job.Round || rep.Err != "" {
		t.Errorf("report (job %q, round %d, err %q), want (%q, %d, \"\")", rep.JobID, rep.Round, rep.Err, job.ID, job.Round)
	}
	want := tally.Counts{Planned: count, Sent: count, Success: count, ResponseBytes: count * int64(len("hello"))}
	if rep.Counts != want {
		t.Errorf("report counts = %+v, want %+v", rep.Counts, want)
	}
	if n := rep.Latency.TotalCount(); n != count {
		t.Errorf("latency histogram holds %d values, want %d", n, count)
	}
	if n := hits.Load(); n != count {
		t.Errorf("target got %d requests, want %d", n, count)
	}

	stop()
	left := await(t, ts.fleet.leaves, "Leave")
	if left.e != e || left.reason == "" {
		t.Errorf("Leave(%v, %q), want the joined session and a reason", left.e.ID(), left.reason)
	}
	if err := e.Dispatch(job); err == nil {
		t.Errorf("Dispatch after the executor left = nil, want an error")
	}
}

func TestAuthToken(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		wantJoin bool
	}{
		{name: "wrong token", token: "nope"},
		{name: "no token", token: ""},
		{name: "right token", token: "s3cret", wantJoin: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, control.Config{AuthToken: "s3cret"})
			id := "exec-" + strings.ReplaceAll(tt.name, " ", "-")
			execLogs, stop := runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: id, Capacity: 1, AuthToken: tt.token})

			if tt.wantJoin {
				if e := await(t, ts.fleet.joins, "Join"); e.ID() != id {
					t.Errorf("joined %q, want %q", e.ID(), id)
				}
				if n := gatherCounter(t, ts.reg, "imager_orchestrator_auth_failures_total"); n != 0 {
					t.Errorf("auth failures = %v, want 0", n)
				}
				return
			}
			awaitLine(t, ts.logs, "executor rejected", "executor="+id)
			awaitLine(t, execLogs, "level=ERROR", "rejected this executor's auth token", "matches the orchestrator's")
			// The executor waits at least MaxBackoff/2 (0.75s) before retrying
			// a rejected token, so exactly one attempt was made.
			if n := gatherCounter(t, ts.reg, "imager_orchestrator_auth_failures_total"); n != 1 {
				t.Errorf("auth failures = %v, want 1", n)
			}
			stop()
			if e, ok := pending(ts.fleet.joins); ok {
				t.Errorf("executor %q joined with token %q, want it refused", e.ID(), tt.token)
			}
		})
	}
}

func TestSchedulerThroughControlPlane(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fixed" {
			hits.Add(1)
		}
	}))
	t.Cleanup(target.Close)

	const (
		rps      = 40
		interval = 200 * time.Millisecond
		rounds   = 3
	)
	var finished atomic.Int64
	sched, err := manager.NewScheduler(manager.SchedulerConfig{
		Calculator:     types.CalculatorOf(manager.NewStepFunctionLoadCalculator(rps, rps, 1)),
		Source:         fixedSource{},
		Target:         func() (string, error) { return target.URL, nil },
		Interval:       interval,
		Duration:       rounds * interval,
		RequestTimeout: 5 * time.Second,
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		OnRound:        func(*manager.RoundResult) { finished.Add(1) },
	})
	if err != nil {
		t.Fatalf("NewScheduler: %v", err)
	}
	ts := startServer(t, control.Config{Fleet: sched})
	runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: "exec-s", Capacity: 1})

	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if err := sched.Run(ctx); err != nil {
		t.Fatalf("scheduler Run = %v, want nil", err)
	}
	sum := sched.Summary()
	perRound := int64(rps * interval / time.Second)
	if sum.Rounds != rounds || finished.Load() != rounds {
		t.Errorf("rounds = %d (OnRound %d), want %d", sum.Rounds, finished.Load(), rounds)
	}
	if sum.Planned != rounds*perRound || sum.Success != sum.Planned || sum.Lost != 0 {
		t.Errorf("summary planned %d, success %d, lost %d; want %d, all successful", sum.Planned, sum.Success, sum.Lost, rounds*perRound)
	}
	if n := hits.Load(); n != sum.Success {
		t.Errorf("target got %d requests, summary says %d succeeded", n, sum.Success)
	}
}
