package engine

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// A job whose whole backlog is due at once (a huge count, started in the
// past) stops within moments of its context ending, instead of dropping
// its way through the backlog first.
func TestRunCancelsAmidBacklog(t *testing.T) {
	url := target(t, func(http.ResponseWriter, *http.Request) {})
	r := NewRunner(RunnerConfig{MaxInFlight: 1})
	const count = 1_000_000_000
	job := tally.Job{ID: "huge", TargetURL: url, StartAt: time.Now().Add(-time.Minute), Duration: time.Second,
		Count: count, Timeout: time.Second, Requests: []types.RequestSpec{{Path: "/"}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *tally.Report, 1)
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

// The engine owns shutdown: cancelling a job's context closes the job's
// connections, so requests in flight fail at once and count as lost,
// without anyone calling CloseConnections.
func TestCancelCutsInFlight(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	var arrived atomic.Int64
	url := target(t, func(http.ResponseWriter, *http.Request) {
		arrived.Add(1)
		<-release
	})
	r := NewRunner(RunnerConfig{Connections: 3})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *tally.Report, 1)
	go func() {
		done <- r.Run(ctx, tally.Job{ID: "cut", TargetURL: url, StartAt: time.Now(), Duration: time.Second, Count: 100,
			Timeout: time.Minute, Requests: []types.RequestSpec{{Path: "/"}}})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for (arrived.Load() < 3 || r.InFlight() < 3) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := r.InFlight(); n != 3 {
		t.Fatalf("%d requests in flight, want 3 (one per connection)", n)
	}
	cancel()
	select {
	case rep := <-done:
		checkAccounted(t, rep)
		if rep.Lost != 3 || rep.Sent != 3 {
			t.Errorf("%+v, want the 3 requests in flight sent and lost, the rest out of the plan", rep.Counts)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the cancellation with requests held by the target")
	}
	if n := r.InFlight(); n != 0 {
		t.Errorf("%d requests in flight after Run returned, want 0", n)
	}
}

// Workers that took requests due far ahead (many connections for a low
// rate) wait once each, not in maxNap steps, and still see a cancellation
// at once; the requests that fell due went out on time and the rest
// leave the plan.
func TestCancelWakesLongWaits(t *testing.T) {
	url := target(t, func(http.ResponseWriter, *http.Request) {})
	r := NewRunner(RunnerConfig{Connections: 40})
	defer r.CloseConnections()
	// 20/s over 40 workers: the last worker's first request is due 2 s in.
	job := tally.Job{ID: "far", TargetURL: url, StartAt: time.Now(), Duration: 10 * time.Second, Count: 200,
		Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Path: "/"}}}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *tally.Report, 1)
	go func() { done <- r.Run(ctx, job) }()
	deadline := time.Now().Add(5 * time.Second)
	for r.OpenConnections() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // a few requests fall due
	cancel()
	cancelled := time.Now()
	select {
	case rep := <-done:
		if took := time.Since(cancelled); took > maxNap+200*time.Millisecond {
			t.Errorf("Run returned %v after cancellation, want about at once", took)
		}
		checkAccounted(t, rep)
		if rep.Planned < 2 || rep.Planned > 20 || rep.Success != rep.Planned {
			t.Errorf("%+v, want the few requests due before the cancellation sent and succeeded, no more", rep.Counts)
		}
		if p99 := tally.Percentile(rep.Latency, 99); p99 > 50*time.Millisecond {
			t.Errorf("p99 latency %v: requests after a long wait went out late", p99)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run still running 10s after cancellation")
	}
}

// A worker whose request is due far ahead sleeps once or twice before it,
// not every maxNap: 40 workers at 20/s take requests due up to 1.95 s
// ahead, which 20 ms naps would cover in about 2,000 sleeps.
func TestFarRequestsSleepOnce(t *testing.T) {
	url := target(t, func(http.ResponseWriter, *http.Request) {})
	r := NewRunner(RunnerConfig{Connections: 40})
	defer r.CloseConnections()
	job := tally.Job{ID: "far", TargetURL: url, StartAt: time.Now().Add(50 * time.Millisecond), Duration: 2 * time.Second,
		Count: 40, Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Path: "/"}}}
	rep := tally.NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	j, err := r.newJobRun(context.Background(), job, rep)
	if err != nil {
		t.Fatal(err)
	}
	r.execute(context.Background(), j, rep)
	checkAccounted(t, rep)
	if rep.Success != 40 {
		t.Fatalf("%+v, want 40 successes", rep.Counts)
	}
	var sleeps int64
	for _, w := range j.workers {
		sleeps += w.sleeps
	}
	// A long wait, then at most a precise nap or two for the last 20 ms.
	if sleeps > 3*40 {
		t.Fatalf("%d sleeps before 40 requests, want at most 120", sleeps)
	}
	if p99 := tally.Percentile(rep.Latency, 99); p99 > 50*time.Millisecond {
		t.Errorf("p99 latency %v: requests after a long wait went out late", p99)
	}
}
