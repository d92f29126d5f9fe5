package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/types"
)

// countingMetrics is a JobMetrics that counts what it is told.
type countingMetrics struct {
	picked, requests, opened, failed atomic.Int64
}

func (m *countingMetrics) JobPickedUp()      { m.picked.Add(1) }
func (m *countingMetrics) JobRequests(n int) { m.requests.Add(int64(n)) }
func (m *countingMetrics) JobConnections(opened, failed int64) {
	m.opened.Add(opened)
	m.failed.Add(failed)
}

// reportSink collects the reports a launcher hands over.
type reportSink struct {
	mu   sync.Mutex
	reps []*tally.Report
}

func (s *reportSink) report(rep *tally.Report) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reps = append(s.reps, rep)
}

func (s *reportSink) all() []*tally.Report {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*tally.Report(nil), s.reps...)
}

// okTarget is an HTTP target that answers every request with 200.
func okTarget(t *testing.T) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// launchJob is a small valid job against target.
func launchJob(id, target string, count int) tally.Job {
	return tally.Job{
		ID: id, Round: 1, TargetURL: target, StartAt: time.Now(), Duration: 20 * time.Millisecond,
		Count: count, Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Method: "GET", Path: "/"}},
	}
}

func TestLauncher(t *testing.T) {
	target := okTarget(t)
	m := &countingMetrics{}
	l := newLauncher(engine.NewRunner(engine.RunnerConfig{}), m, nil)
	var sink reportSink

	if !l.launch(context.Background(), launchJob("ok", target, 5), sink.report) {
		t.Fatal("launch of a valid job = false, want true")
	}
	bad := launchJob("bad", target, 5)
	bad.Duration = 0
	if l.launch(context.Background(), bad, sink.report) {
		t.Error("launch of a job out of bounds = true, want false")
	}
	if !l.stop() {
		t.Error("first stop() = false, want true")
	}
	if l.stop() {
		t.Error("second stop() = true, want false")
	}
	if l.launch(context.Background(), launchJob("late", target, 5), sink.report) {
		t.Error("launch after stop = true, want false")
	}
	l.refuse("late-refused", 1, 5, nil, sink.report)
	l.wait()

	byID := map[string]*tally.Report{}
	for _, r := range sink.all() {
		byID[r.JobID] = r
	}
	if len(byID) != 2 || byID["ok"] == nil || byID["bad"] == nil {
		t.Fatalf("reports for %v, want ok and bad only", byID)
	}
	if r := byID["ok"]; r.Success != 5 {
		t.Errorf("ok job: %d successes, want 5 (%+v)", r.Success, r.Counts)
	}
	if r := byID["bad"]; r.Lost != 5 || r.Sent != 0 || !strings.Contains(r.Err, "duration") {
		t.Errorf("bad job: %d lost, %d sent, error %q; want 5 lost, none sent, a duration error", r.Lost, r.Sent, r.Err)
	}
	if m.picked.Load() != 1 || m.requests.Load() != 5 {
		t.Errorf("metrics counted %d jobs, %d requests; want 1 and 5 (the job run only)", m.picked.Load(), m.requests.Load())
	}
	if r := byID["ok"]; r.Dials < 1 || m.opened.Load() != r.Dials || m.failed.Load() != r.DialErrors {
		t.Errorf("metrics counted %d connections opened, %d failed; want the ok job's %d (at least 1) and %d",
			m.opened.Load(), m.failed.Load(), r.Dials, r.DialErrors)
	}
}

// TestBothPathsRefuseOutOfBounds sends the same out-of-bounds job to a
// Local executor and, over the control stream, to a remote one: both go
// through the launcher, so both refuse it alike and count nothing.
func TestBothPathsRefuseOutOfBounds(t *testing.T) {
	target := okTarget(t)
	bad := launchJob("too-fast", target, MaxJobRate+1)
	bad.Duration = time.Second

	// Local.
	m := &countingMetrics{}
	local := make(chan *tally.Report, 1)
	l := NewLocal("local-0", 1, engine.NewRunner(engine.RunnerConfig{}),
		func(_ string, rep *tally.Report) { local <- rep }, m)
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- l.Run(ctx) }()
	if err := l.Dispatch(bad); err != nil {
		t.Fatalf("Dispatch() = %v", err)
	}
	var lr *tally.Report
	select {
	case lr = <-local:
	case <-time.After(waitLimit):
		t.Fatalf("no local report within %v", waitLimit)
	}
	cancel()
	if err := <-ran; err != nil {
		t.Errorf("Local.Run() = %v, want nil", err)
	}
	if m.picked.Load() != 0 || m.requests.Load() != 0 {
		t.Errorf("local metrics counted %d jobs, %d requests; want none", m.picked.Load(), m.requests.Load())
	}

	// Remote.
	reports := make(chan *imagerv1.Report, 1)
	f := startFake(t, func(_ int, st serverStream) error {
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		if err := sendJob(st, wire.JobFromTally(bad)); err != nil {
			return err
		}
		return forwardReports(st, reports)
	})
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	reg := withMetrics(t, &cfg)
	startExecutor(t, newExecutor(t, cfg), logs)
	var got *imagerv1.Report
	select {
	case got = <-reports:
	case <-time.After(waitLimit):
		t.Fatalf("no remote report within %v", waitLimit)
	}
	rr, err := wire.ReportToTally(got)
	if err != nil {
		t.Fatalf("decode report: %v", err)
	}
	if got := gatherValue(t, reg, "imager_executor_jobs_picked_up_total"); got != 0 {
		t.Errorf("remote jobs picked up = %v, want 0", got)
	}

	for name, r := range map[string]*tally.Report{"local": lr, "remote": rr} {
		if r.JobID != bad.ID || r.Lost != int64(bad.Count) || r.Sent != 0 || !strings.Contains(r.Err, "job refused: rate is") {
			t.Errorf("%s report: job %q, %d lost, %d sent, error %q; want the job refused for its rate, every request lost",
				name, r.JobID, r.Lost, r.Sent, r.Err)
		}
	}
	if lr.Err != rr.Err {
		t.Errorf("local error %q, remote %q; want the same", lr.Err, rr.Err)
	}
}
