package engine

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// noteFast makes r remember a job to url's target that measured a target
// time of 100 µs, which sizes a job at 1,000/s to MinAutoConnections.
func noteFast(t *testing.T, r *Runner, url string) {
	t.Helper()
	fast := tally.NewReport("before", 0)
	if err := fast.Latency.RecordValue(100); err != nil {
		t.Fatal(err)
	}
	r.latency.note(strings.TrimPrefix(url, "http://"), fast, targetTimes{onTime: timeSum{100 * time.Microsecond, 1}})
}

// prepareJob returns job's run on r of count requests over d to url,
// starting at start, staffed by what r knows now (execute staffs it again
// when it starts), and its report.
func prepareJob(t *testing.T, r *Runner, url string, start time.Time, d time.Duration, count int) (*jobRun, *tally.Report) {
	t.Helper()
	job := tally.Job{TargetURL: url, StartAt: start, Duration: d, Count: count, Timeout: 5 * time.Second,
		Requests: []types.RequestSpec{{Path: "/"}}}
	rep := tally.NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	j, err := r.newJobRun(context.Background(), job, rep)
	if err != nil {
		t.Fatal(err)
	}
	r.staff(j)
	return j, rep
}

// runAll executes j on r and fails unless every one of its requests
// succeeded.
func runAll(t *testing.T, r *Runner, j *jobRun, rep *tally.Report) {
	t.Helper()
	r.execute(context.Background(), j, rep)
	checkAccounted(t, rep)
	if rep.Success != int64(j.n) {
		t.Fatalf("success %d of %d: %+v %v", rep.Success, j.n, rep.Counts, rep.Errors)
	}
}

// slowJob returns a job of 300 requests over 300 ms to a target that
// takes 20 ms a response, and the Runner's staffing of it after a job to
// the target measured 100 µs: MinAutoConnections, which serve 200/s.
func slowJob(t *testing.T, cfg RunnerConfig) (*Runner, *jobRun, *tally.Report) {
	t.Helper()
	srv := target(t, func(http.ResponseWriter, *http.Request) { time.Sleep(20 * time.Millisecond) })
	r := NewRunner(cfg)
	t.Cleanup(r.CloseConnections)
	noteFast(t, r, srv)
	j, rep := prepareJob(t, r, srv, time.Now().Add(30*time.Millisecond), 300*time.Millisecond, 300)
	return r, j, rep
}

// A job that falls behind because its target slowed adds connections
// while it runs, up to rate × AssumedLatency: 4 connections to a 20 ms
// target at 1,000/s grow to 20, each counted as a dial once used.
func TestBehindJobGrows(t *testing.T) {
	r, j, rep := slowJob(t, RunnerConfig{})
	if j.staffed != MinAutoConnections || j.most != 20 {
		t.Fatalf("staffed %d, at most %d; want %d and 20", j.staffed, j.most, MinAutoConnections)
	}
	runAll(t, r, j, rep)
	if len(j.workers) != 20 {
		t.Fatalf("%d workers at the end, want the 20 that 1,000/s × 20 ms allows", len(j.workers))
	}
	if rep.Dials < MinAutoConnections || rep.Dials > 20 {
		t.Fatalf("%d dials, want %d to 20", rep.Dials, MinAutoConnections)
	}
}

// A configured connection count does not grow, however late the job runs.
func TestConfiguredConnectionsDoNotGrow(t *testing.T) {
	r, j, rep := slowJob(t, RunnerConfig{Connections: MinAutoConnections})
	runAll(t, r, j, rep)
	if len(j.workers) != MinAutoConnections || rep.Dials > MinAutoConnections {
		t.Fatalf("%d workers and %d dials, want %d of each", len(j.workers), rep.Dials, MinAutoConnections)
	}
}

// A job stopped while it grows accounts for every request, and every
// worker, added or not, has given its connection back to the budget when
// execute returns.
func TestStopWhileGrowing(t *testing.T) {
	r, j, rep := slowJob(t, RunnerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	r.execute(ctx, j, rep)
	checkAccounted(t, rep)
	if len(j.workers) <= MinAutoConnections {
		t.Fatalf("%d workers: the job did not grow in 70 ms behind", len(j.workers))
	}
	if len(r.tokens) != cap(r.tokens) {
		t.Fatalf("%d of the budget's %d connections given back", len(r.tokens), cap(r.tokens))
	}
}

// A job behind its schedule with the answers coming fast (here every
// request overdue at the start, to a target that answers at once) does
// not grow: the target holds few of its connections, so more would not
// help. At 300/s, 4 workers (of the 6 that 300/s × 20 ms allows) grow
// only once their target times average 6.7 ms.
func TestGeneratorBoundJobDoesNotGrow(t *testing.T) {
	srv := target(t, func(http.ResponseWriter, *http.Request) {})
	r := NewRunner(RunnerConfig{})
	defer r.CloseConnections()
	noteFast(t, r, srv)
	j, rep := prepareJob(t, r, srv, time.Now().Add(-time.Second), 1500*time.Millisecond, 450)
	if j.staffed != MinAutoConnections || j.most != 6 {
		t.Fatalf("staffed %d, at most %d; want %d and 6", j.staffed, j.most, MinAutoConnections)
	}
	runAll(t, r, j, rep)
	if len(j.workers) != MinAutoConnections {
		t.Fatalf("%d workers at the end, want the %d it started with", len(j.workers), MinAutoConnections)
	}
}

// targetBound: the target holds at least half the connections when the
// recent target time is at least half of connections × the time between
// due times.
func TestTargetBound(t *testing.T) {
	j := &jobRun{step: float64(time.Millisecond)} // 1,000/s
	j.count.Store(20)
	w := &worker{j: j, recent: 10 * time.Millisecond} // 10 in flight of 20
	if !w.targetBound() {
		t.Fatal("10 ms at 1,000/s over 20 connections: not target-bound")
	}
	w.recent -= time.Microsecond
	if w.targetBound() {
		t.Fatal("just under 10 ms at 1,000/s over 20 connections: target-bound")
	}
}

// A job's bound on queued requests follows the workers it has: MaxInFlight
// less the other workers' requests. With MaxInFlight 64, a job at 5,000/s
// to a fast target starts on 6 workers (of 64 it may grow to) and leaves
// 59 requests queued before it drops; 10 workers leave 55.
func TestBoundFollowsTheWorkers(t *testing.T) {
	r := NewRunner(RunnerConfig{MaxInFlight: 64})
	defer r.CloseConnections()
	const url = "http://127.0.0.1:1"
	noteFast(t, r, url)
	j, _ := prepareJob(t, r, url, time.Now(), time.Second, 5000)
	if j.staffed != 6 || j.most != 64 {
		t.Fatalf("staffed %d, at most %d; want 6 and 64", j.staffed, j.most)
	}
	if got := j.bound(); got != 59 {
		t.Fatalf("bound %d with 6 workers, want 59", got)
	}
	j.count.Store(10)
	if got := j.bound(); got != 55 {
		t.Fatalf("bound %d with 10 workers, want 55", got)
	}
}

// A job to an https target keeps the count it starts with: it has no
// arrival times to tell a slow target from a slow generator.
func TestHTTPSJobDoesNotGrow(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	defer r.CloseConnections()
	rep := tally.NewReport("before", 0)
	if err := rep.Latency.RecordValue(100); err != nil {
		t.Fatal(err)
	}
	r.latency.note("127.0.0.1:1", rep, targetTimes{})
	j, _ := prepareJob(t, r, "https://127.0.0.1:1", time.Now(), time.Second, 5000)
	if j.staffed != 6 || j.most != 6 || j.canGrow() {
		t.Fatalf("staffed %d, at most %d, can grow %v; want 6, 6 and no", j.staffed, j.most, j.canGrow())
	}
}
