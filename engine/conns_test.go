package engine

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// An overloaded target gets no more connections than the budget: requests
// queue, the backlog beyond the bound is dropped, and every request is
// accounted for. The connections are then reused by the next job.
func TestConnectionsStayBounded(t *testing.T) {
	srv := target(t, func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(10 * time.Millisecond) // 4 connections serve 400/s
	})
	r := NewRunner(RunnerConfig{Connections: 4, MaxInFlight: 50})
	defer r.CloseConnections()
	job := Job{TargetURL: srv, Duration: 300 * time.Millisecond, Count: 300, Timeout: 5 * time.Second,
		Requests: []Request{{Path: "/"}}}
	job.StartAt = time.Now()
	rep := r.Run(context.Background(), job)
	checkAccounted(t, rep)
	if rep.Dials != 4 || rep.DialErrors != 0 {
		t.Errorf("dials %d (errors %d), want 4: one per connection of the budget", rep.Dials, rep.DialErrors)
	}
	if rep.Dropped == 0 || rep.Success == 0 || rep.Success+rep.Dropped != rep.Planned {
		t.Errorf("%+v, want some sent and succeeded, the backlog beyond the bound dropped", rep.Counts)
	}
	if n := r.OpenConnections(); n > 4 {
		t.Errorf("%d connections open, want at most 4", n)
	}
	// The queue makes latency grow well beyond the 10ms service time.
	if p99, svc := Percentile(rep.Latency, 99), Percentile(rep.Service, 99); p99 < 5*svc {
		t.Errorf("p99 latency %v, service %v: want queueing to show in latency", p99, svc)
	}

	job.StartAt = time.Now()
	job.Count, job.Duration = 8, 80*time.Millisecond
	rep = r.Run(context.Background(), job)
	checkAccounted(t, rep)
	if rep.Dials != 0 || rep.Success != 8 {
		t.Errorf("second job: dials %d success %d, want the connections reused and 8 successes", rep.Dials, rep.Success)
	}
}

// Overlapping jobs share the budget: together they never hold more
// connections than it.
func TestOverlappingJobsShareBudget(t *testing.T) {
	srv := target(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(2 * time.Millisecond) })
	r := NewRunner(RunnerConfig{Connections: 3})
	defer r.CloseConnections()
	start := time.Now().Add(30 * time.Millisecond)
	reps := make(chan *Report, 2)
	for k := range 2 {
		go func() {
			reps <- r.Run(context.Background(), Job{TargetURL: srv, StartAt: start.Add(time.Duration(k) * 50 * time.Millisecond),
				Duration: 200 * time.Millisecond, Count: 100, Timeout: 5 * time.Second, Requests: []Request{{Path: "/"}}})
		}()
	}
	var dials int64
	for range 2 {
		rep := <-reps
		checkAccounted(t, rep)
		if rep.Success != 100 {
			t.Errorf("%+v, want 100 successes", rep.Counts)
		}
		dials += rep.Dials
	}
	if dials > 3 {
		t.Errorf("%d connections opened by two overlapping jobs, want at most the budget of 3", dials)
	}
	if n := r.OpenConnections(); n > 3 {
		t.Errorf("%d connections open, want at most 3", n)
	}
}
