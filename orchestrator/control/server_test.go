package control_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/executor"
	"github.com/PeladoCollado/imager/metrics"
	"github.com/PeladoCollado/imager/orchestrator/control"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/types"
)

// waitLimit bounds every wait on a condition in these tests.
const waitLimit = 10 * time.Second

// leaveCall and reportCall record calls into fakeFleet.
type leaveCall struct {
	e      manager.Executor
	reason string
}

type reportCall struct {
	executorID string
	rep        *engine.Report
}

// fakeFleet records the server's calls on channels.
type fakeFleet struct {
	joins   chan manager.Executor
	leaves  chan leaveCall
	reports chan reportCall
}

var _ control.Fleet = (*fakeFleet)(nil)

func newFakeFleet() *fakeFleet {
	return &fakeFleet{
		joins:   make(chan manager.Executor, 64),
		leaves:  make(chan leaveCall, 64),
		reports: make(chan reportCall, 64),
	}
}

func (f *fakeFleet) Join(e manager.Executor) { f.joins <- e }

func (f *fakeFleet) Leave(e manager.Executor, reason string) { f.leaves <- leaveCall{e, reason} }

func (f *fakeFleet) Report(id string, rep *engine.Report) { f.reports <- reportCall{id, rep} }

// logBuffer collects log output from concurrent writers.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// line returns the first log line holding every one of subs, or "".
func (b *logBuffer) line(subs ...string) string {
	for l := range strings.SplitSeq(b.String(), "\n") {
		all := true
		for _, s := range subs {
			all = all && strings.Contains(l, s)
		}
		if all {
			return l
		}
	}
	return ""
}

// awaitLine waits for a log line holding every one of subs.
func awaitLine(t *testing.T, b *logBuffer, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if l := b.line(subs...); l != "" {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v; log:\n%s", subs, waitLimit, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// await receives from ch within waitLimit.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("no %s within %v", what, waitLimit)
		panic("unreachable")
	}
}

// testServer is a control-plane server on loopback.
type testServer struct {
	addr   string
	fleet  *fakeFleet
	reg    *prometheus.Registry
	logs   *logBuffer
	cancel context.CancelFunc
	served chan error
}

// startServer serves a control plane with cfg (its Fleet, Metrics and
// Logger are filled in when nil) until the test ends.
func startServer(t *testing.T, cfg control.Config) *testServer {
	t.Helper()
	ts := &testServer{fleet: newFakeFleet(), reg: prometheus.NewRegistry(), logs: &logBuffer{}, served: make(chan error, 1)}
	if cfg.Fleet == nil {
		cfg.Fleet = ts.fleet
	}
	if cfg.Metrics == nil {
		m, err := metrics.NewOrchestrator(ts.reg)
		if err != nil {
			t.Fatalf("metrics.NewOrchestrator: %v", err)
		}
		cfg.Metrics = m
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(ts.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	ts.addr = lis.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	ts.cancel = cancel
	srv := control.NewServer(cfg)
	go func() { ts.served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-ts.served:
		case <-time.After(waitLimit):
			t.Errorf("Serve did not return within %v of cancel", waitLimit)
		}
	})
	return ts
}

// stop cancels the server's context and returns what Serve returned.
func (ts *testServer) stop(t *testing.T) error {
	t.Helper()
	ts.cancel()
	err := await(t, ts.served, "return from Serve after cancel")
	ts.served <- err // for the cleanup
	return err
}

// gatherCounter returns the value of the counter called name in reg.
func gatherCounter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return f.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// runExecutor runs a real executor against addr until the test ends or
// the returned stop is called.
func runExecutor(t *testing.T, cfg executor.Config) (logs *logBuffer, stop func()) {
	t.Helper()
	logs = &logBuffer{}
	cfg.Logger = slog.New(slog.NewTextHandler(logs, nil))
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 10 * time.Millisecond
	}
	e, err := executor.New(cfg)
	if err != nil {
		t.Fatalf("executor.New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("executor Run = %v, want nil", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("executor Run did not return within %v of cancel", waitLimit)
			}
		})
	}
	t.Cleanup(stop)
	return logs, stop
}

// dial opens a raw control-plane client to addr.
func dial(t *testing.T, addr string) imagerv1.ControlPlaneClient {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return imagerv1.NewControlPlaneClient(conn)
}

// rawStream is a raw client's end of Connect.
type rawStream = grpc.BidiStreamingClient[imagerv1.ExecutorMessage, imagerv1.OrchestratorMessage]

// hello opens a stream, says hello as id and returns the Welcome.
func hello(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient, id string) (rawStream, *imagerv1.Welcome) {
	t.Helper()
	st, err := client.Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	msg := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{ExecutorId: id, Capacity: 2}}}
	if err := st.Send(msg); err != nil {
		t.Fatalf("send Hello: %v", err)
	}
	first, err := st.Recv()
	if err != nil {
		t.Fatalf("receive Welcome: %v", err)
	}
	w := first.GetWelcome()
	if w == nil {
		t.Fatalf("first message = %v, want a Welcome", first)
	}
	return st, w
}

func TestExecutorJoinsRunsJobAndReports(t *testing.T) {
	var hits atomic.Int64
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "hello")
	}))
	t.Cleanup(target.Close)

	ts := startServer(t, control.Config{AuthToken: "s3cret", Version: "test"})
	_, stop := runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: "exec-a", Workers: 4, AuthToken: "s3cret"})

	e := await(t, ts.fleet.joins, "Join")
	if e.ID() != "exec-a" || e.Capacity() != 4 {
		t.Errorf("joined executor = (id %q, capacity %d), want (exec-a, 4)", e.ID(), e.Capacity())
	}

	const count = 10
	job := engine.Job{
		ID: "r7-exec-a", Round: 7, TargetURL: target.URL,
		StartAt: time.Now().Add(50 * time.Millisecond), Duration: 100 * time.Millisecond,
		Count: count, Timeout: 5 * time.Second,
		Requests: []engine.Request{{Method: "GET", Path: "/ping"}},
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
	want := engine.Counts{Planned: count, Sent: count, Success: count, ResponseBytes: count * int64(len("hello"))}
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
			execLogs, stop := runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: id, Workers: 1, AuthToken: tt.token})

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
			awaitLine(t, execLogs, "level=ERROR", "rejected this executor's auth token", "-auth-token-file")
			// The executor waits at least MaxBackoff/2 (5s) before retrying
			// a rejected token, so exactly one attempt was made.
			if n := gatherCounter(t, ts.reg, "imager_orchestrator_auth_failures_total"); n != 1 {
				t.Errorf("auth failures = %v, want 1", n)
			}
			stop()
			select {
			case e := <-ts.fleet.joins:
				t.Errorf("executor %q joined with token %q, want it refused", e.ID(), tt.token)
			default:
			}
		})
	}
}

func TestSilentExecutorIsRemoved(t *testing.T) {
	const (
		heartbeat = 100 * time.Millisecond
		timeout   = 300 * time.Millisecond
	)
	ts := startServer(t, control.Config{HeartbeatInterval: heartbeat, ExecutorTimeout: timeout, Version: "v-test"})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	st, w := hello(t, ctx, client, "quiet")
	welcomed := time.Now()
	if got := time.Duration(w.GetHeartbeatIntervalNanos()); got != heartbeat || w.GetVersion() != "v-test" {
		t.Errorf("Welcome = (interval %v, version %q), want (%v, v-test)", got, w.GetVersion(), heartbeat)
	}
	joined := await(t, ts.fleet.joins, "Join")

	// Heartbeats keep the executor for several timeouts.
	tick := time.NewTicker(heartbeat)
	for range 3 * int(timeout/heartbeat) {
		<-tick.C
		hb := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{}}}
		if err := st.Send(hb); err != nil {
			t.Fatalf("send Heartbeat: %v", err)
		}
	}
	tick.Stop()
	select {
	case l := <-ts.fleet.leaves:
		t.Fatalf("Leave(%q) while heartbeating, want none", l.reason)
	default:
	}

	// Then silence removes it.
	silentFrom := time.Now()
	left := await(t, ts.fleet.leaves, "Leave of the silent executor")
	if el := time.Since(silentFrom); el < timeout {
		t.Errorf("Leave after %v of silence, want at least %v", el, timeout)
	}
	if left.e != joined || !strings.Contains(left.reason, "silent") {
		t.Errorf("Leave(%s, %q), want the joined session and a reason containing \"silent\"", left.e.ID(), left.reason)
	}
	if _, err := st.Recv(); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("client Recv after removal = %v, want code DeadlineExceeded", err)
	}
	if el := time.Since(welcomed); el < 4*timeout {
		t.Errorf("session lasted %v, want at least %v (heartbeats then a timeout)", el, 4*timeout)
	}
}

func TestClosedStreamLeaves(t *testing.T) {
	tests := []struct {
		name  string
		close func(st rawStream, cancel context.CancelFunc)
	}{
		{name: "close send", close: func(st rawStream, _ context.CancelFunc) { _ = st.CloseSend() }},
		{name: "cancel", close: func(_ rawStream, cancel context.CancelFunc) { cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A long timeout: a prompt Leave shows the close was noticed.
			ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
			client := dial(t, ts.addr)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			st, _ := hello(t, ctx, client, "closer")
			joined := await(t, ts.fleet.joins, "Join")

			tt.close(st, cancel)
			left := await(t, ts.fleet.leaves, "Leave")
			if left.e != joined || left.reason == "" || strings.Contains(left.reason, "silent") {
				t.Errorf("Leave(%s, %q), want the joined session and a reason other than silence", left.e.ID(), left.reason)
			}
			if err := joined.Dispatch(engine.Job{ID: "late"}); err == nil {
				t.Errorf("Dispatch after the session ended = nil, want an error")
			}
		})
	}
}

func TestFirstMessageMustBeHello(t *testing.T) {
	tests := []struct {
		name  string
		first *imagerv1.ExecutorMessage
	}{
		{name: "heartbeat", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{}}}},
		{name: "report", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: &imagerv1.Report{JobId: "x"}}}},
		{name: "hello without id", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{Capacity: 1}}}},
		{name: "empty", first: &imagerv1.ExecutorMessage{}},
	}
	ts := startServer(t, control.Config{})
	client := dial(t, ts.addr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			st, err := client.Connect(ctx)
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if err := st.Send(tt.first); err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("Send: %v", err)
			}
			msg, err := st.Recv()
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("Recv = (%v, %v), want code InvalidArgument", msg, err)
			}
		})
	}
	select {
	case e := <-ts.fleet.joins:
		t.Errorf("Join(%q) without a valid Hello", e.ID())
	default:
	}
}

func TestDispatchReachesStreamAndReportsReturn(t *testing.T) {
	ts := startServer(t, control.Config{})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, _ := hello(t, ctx, client, "raw")
	e := await(t, ts.fleet.joins, "Join")
	if e.Capacity() != 2 {
		t.Errorf("Capacity = %d, want 2 from the Hello", e.Capacity())
	}

	start := time.Unix(1_800_000_000, 123)
	job := engine.Job{ID: "r1-raw", Round: 1, TargetURL: "http://127.0.0.1:1", StartAt: start, Duration: time.Second, Count: 3,
		Requests: []engine.Request{{Method: "GET", Path: "/a"}}}
	if err := e.Dispatch(job); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	msg, err := st.Recv()
	if err != nil {
		t.Fatalf("Recv job: %v", err)
	}
	got := msg.GetJob().ToEngine()
	if got.ID != job.ID || got.Count != job.Count || !got.StartAt.Equal(start) || len(got.Requests) != 1 {
		t.Errorf("received job %+v, want %+v", got, job)
	}

	rep := engine.NewReport(job.ID, job.Round)
	rep.Planned, rep.Sent, rep.Success, rep.Dropped = 3, 2, 2, 1
	wire, err := imagerv1.ReportFromEngine(rep)
	if err != nil {
		t.Fatalf("ReportFromEngine: %v", err)
	}
	// An undecodable report is dropped, the next one still arrives.
	bad := &imagerv1.Report{JobId: "broken", LatencyHistogram: []byte{1, 2, 3}}
	for _, r := range []*imagerv1.Report{bad, wire} {
		if err := st.Send(&imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: r}}); err != nil {
			t.Fatalf("send Report: %v", err)
		}
	}
	rc := await(t, ts.fleet.reports, "Report")
	if rc.executorID != "raw" || rc.rep.JobID != job.ID || rc.rep.Counts != rep.Counts {
		t.Errorf("Report(%q, job %q, %+v), want (raw, %q, %+v)", rc.executorID, rc.rep.JobID, rc.rep.Counts, job.ID, rep.Counts)
	}
	awaitLine(t, ts.logs, "unreadable report", "job=broken")
}

func TestServeStopsOnCancel(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, _ := hello(t, ctx, client, "stay")
	e := await(t, ts.fleet.joins, "Join")

	if err := ts.stop(t); err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	left := await(t, ts.fleet.leaves, "Leave")
	if left.e != e || !strings.Contains(left.reason, "stopping") {
		t.Errorf("Leave(%s, %q), want the session and a reason containing \"stopping\"", left.e.ID(), left.reason)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("client Recv after server stop = %v, want io.EOF (stream ended cleanly)", err)
	}
	if err := e.Dispatch(engine.Job{ID: "after-stop"}); err == nil {
		t.Errorf("Dispatch after Serve returned = nil, want an error")
	}
}

// fixedSource yields the same GET request forever.
type fixedSource struct{}

func (fixedSource) Next() (types.RequestSpec, error) {
	return types.RequestSpec{Method: "GET", Path: "/fixed"}, nil
}

func (fixedSource) Reset() error { return nil }

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
		Calculator:     manager.NewStepFunctionLoadCalculator(rps, rps, 1),
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
	runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: "exec-s", Workers: 1})

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

func TestNoHelloIsTimedOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, control.Config{HeartbeatInterval: 100 * time.Millisecond, ExecutorTimeout: timeout})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	st, err := client.Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	start := time.Now()
	_, err = st.Recv()
	// The server's status, not the client's own deadline.
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(status.Convert(err).Message(), "Hello") {
		t.Errorf("Recv without a Hello = %v, want code DeadlineExceeded from the server naming the Hello", err)
	}
	if el := time.Since(start); el < timeout {
		t.Errorf("stream ended after %v, want at least the executor timeout %v", el, timeout)
	}
	select {
	case e := <-ts.fleet.joins:
		t.Errorf("Join(%q) without a Hello", e.ID())
	default:
	}
}

func TestServeStopsPromptlyWithoutHello(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mute, err := client.Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	// A second stream on the same connection, opened after the mute one:
	// once it is welcomed the server has seen the mute stream too.
	hello(t, ctx, client, "talker")
	await(t, ts.fleet.joins, "Join")

	start := time.Now()
	if err := ts.stop(t); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	// Serve falls back to a hard stop after 5s; a stream waiting for its
	// Hello must not hold it that long.
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Serve returned %v after cancel, want promptly", el)
	}
	if _, err := mute.Recv(); status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "stopping") {
		t.Errorf("Recv on the stream without a Hello = %v, want code Unavailable, orchestrator stopping", err)
	}
}
