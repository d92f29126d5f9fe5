package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// A job's workers open their connections to an http target in the job's
// lead, before its first request is due (worker.warm), so that no request
// waits for a handshake. The lead is lengthened here to 300 ms, so that a
// slow machine cannot blur before and after.
func TestWorkersConnectBeforeTheStart(t *testing.T) {
	var mu sync.Mutex
	var accepted []time.Time
	var first time.Time
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if first.IsZero() {
			first = time.Now()
		}
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			mu.Lock()
			accepted = append(accepted, time.Now())
			mu.Unlock()
		}
	}
	srv.Start()
	defer srv.Close()

	r := NewRunner(RunnerConfig{Connections: 4})
	defer r.CloseConnections()
	r.lead = 300 * time.Millisecond
	start := time.Now().Add(400 * time.Millisecond)
	rep := r.Run(context.Background(), tally.Job{
		TargetURL: srv.URL, StartAt: start, Duration: 100 * time.Millisecond, Count: 40,
		Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Path: "/"}},
	})
	checkAccounted(t, rep)
	if rep.Success != 40 || rep.Dials != 4 || rep.DialErrors != 0 {
		t.Fatalf("success %d, dials %d, failed %d; want 40, 4, 0: %v", rep.Success, rep.Dials, rep.DialErrors, rep.Errors)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(accepted) != 4 {
		t.Fatalf("the target accepted %d connections, want 4", len(accepted))
	}
	for i, at := range accepted {
		if !at.Before(start) {
			t.Errorf("connection %d accepted %v after the job's start", i, at.Sub(start))
		}
	}
	if first.Before(start) {
		t.Errorf("the first request arrived %v before the job's start", start.Sub(first))
	}
}

// A connection opened ahead counts as a dial only once a request goes out
// on it, so that a report's dials stay at most its requests (the
// orchestrator refuses a report with more): a dial that fails ahead is not
// counted, the request dials again and counts its own attempt (two workers,
// two requests: two failed dials and two connection errors); and a job
// stopped before its start counts none of the connections it opened.
func TestWarmDialsCountOnlyWhenUsed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close() // nothing listens there now: dials are refused

	r := NewRunner(RunnerConfig{Connections: 2})
	defer r.CloseConnections()
	r.lead = 200 * time.Millisecond
	job := tally.Job{TargetURL: "http://" + addr, StartAt: time.Now().Add(250 * time.Millisecond), Duration: 10 * time.Millisecond,
		Count: 2, Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Path: "/"}}}
	rep := r.Run(context.Background(), job)
	checkAccounted(t, rep)
	if rep.ConnErrors != 2 || rep.DialErrors != 2 || rep.Dials != 0 {
		t.Fatalf("refused: connection errors %d, failed dials %d, dials %d; want 2, 2, 0: %v", rep.ConnErrors, rep.DialErrors, rep.Dials, rep.Errors)
	}

	var accepted atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	r = NewRunner(RunnerConfig{Connections: 3})
	defer r.CloseConnections()
	r.lead = 5 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for deadline := time.Now().Add(4 * time.Second); accepted.Load() < 3 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	job.TargetURL, job.StartAt, job.Count = srv.URL, time.Now().Add(5*time.Second), 10
	rep = r.Run(ctx, job)
	checkAccounted(t, rep)
	if n := accepted.Load(); n != 3 {
		t.Fatalf("stopped before its start: the target accepted %d connections, want the 3 opened ahead", n)
	}
	if rep.Planned != 0 || rep.Dials != 0 || rep.DialErrors != 0 {
		t.Fatalf("stopped before its start: planned %d, dials %d, failed %d; want 0, 0, 0", rep.Planned, rep.Dials, rep.DialErrors)
	}
}
