package engine

import (
	"context"
	"net/http"
	"testing"
	"time"
)

// A job whose whole backlog is due at once (a huge count, started in the
// past) stops within moments of its context ending, instead of dropping
// its way through the backlog first.
func TestRunCancelsAmidBacklog(t *testing.T) {
	url := target(t, func(http.ResponseWriter, *http.Request) {})
	r := NewRunner(RunnerConfig{MaxInFlight: 1})
	const count = 1_000_000_000
	job := Job{ID: "huge", TargetURL: url, StartAt: time.Now().Add(-time.Minute), Duration: time.Second,
		Count: count, Timeout: time.Second, Requests: []Request{{Path: "/"}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *Report, 1)
	go func() { done <- r.Run(ctx, job) }()
	time.Sleep(50 * time.Millisecond) // let the pacer get into the backlog
	cancel()
	cancelled := time.Now()
	select {
	case rep := <-done:
		if took := time.Since(cancelled); took > time.Second {
			t.Errorf("Run returned %v after cancellation, want within 1s", took)
		}
		if rep.Planned <= 0 || rep.Planned >= count {
			t.Errorf("planned %d, want the part of the %d that fell due before the cancellation", rep.Planned, count)
		}
		checkAccounted(t, rep)
	case <-time.After(10 * time.Second):
		t.Fatalf("Run still running 10s after cancellation of a %d-request backlog", count)
	}
}
