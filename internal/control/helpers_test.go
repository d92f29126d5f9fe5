package control_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
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
	rep        *tally.Report
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

func (f *fakeFleet) Report(id string, rep *tally.Report) { f.reports <- reportCall{id, rep} }

// line returns the first log line holding every one of subs, or "".
func firstLine(b *proc.Buffer, subs ...string) string {
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
func awaitLine(t *testing.T, b *proc.Buffer, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for {
		if l := firstLine(b, subs...); l != "" {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v; log:\n%s", subs, waitLimit, b.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// within receives from ch within waitLimit. On timeout it marks the test
// failed, naming what was awaited, and returns ok false.
func within[T any](t *testing.T, ch <-chan T, what string) (v T, ok bool) {
	t.Helper()
	select {
	case v = <-ch:
		return v, true
	case <-time.After(waitLimit):
		t.Errorf("no %s within %v", what, waitLimit)
		return v, false
	}
}

// await receives from ch within waitLimit or stops the test.
func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	v, ok := within(t, ch, what)
	if !ok {
		t.FailNow()
	}
	return v
}

// pending returns a value already waiting on ch without blocking; ok is
// false when there is none.
func pending[T any](ch <-chan T) (v T, ok bool) {
	select {
	case v = <-ch:
		return v, true
	default:
		return v, false
	}
}

// testServer is a control-plane server on loopback.
type testServer struct {
	srv    *control.Server
	addr   string
	fleet  *fakeFleet
	reg    *prometheus.Registry
	logs   *proc.Buffer
	cancel context.CancelFunc
	served chan error
}

// startServer serves a control plane with cfg (its Fleet, Metrics and
// Logger are filled in when nil) until the test ends.
func startServer(t *testing.T, cfg control.Config) *testServer {
	t.Helper()
	ts := &testServer{fleet: newFakeFleet(), reg: prometheus.NewRegistry(), logs: &proc.Buffer{}, served: make(chan error, 1)}
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
	ts.srv = srv
	go func() { ts.served <- srv.Serve(ctx, lis) }()
	t.Cleanup(func() {
		cancel()
		within(t, ts.served, "return from Serve after cancel")
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
func runExecutor(t *testing.T, cfg executor.Config) (logs *proc.Buffer, stop func()) {
	t.Helper()
	logs = &proc.Buffer{}
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
			// An executor refused for good (a wrong token, say) has
			// ended on its own with a RefusedError.
			var refused *executor.RefusedError
			if err, ok := within(t, done, "return from executor Run after cancel"); ok && err != nil && !errors.As(err, &refused) {
				t.Errorf("executor Run = %v, want nil or a RefusedError", err)
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

// connect opens a stream on client and says nothing on it yet.
func connect(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient) rawStream {
	t.Helper()
	st, err := client.Connect(ctx)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	return st
}

// hello opens a stream, says hello as id and returns the Welcome.
func hello(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient, id string) (rawStream, *imagerv1.Welcome) {
	t.Helper()
	st := connect(t, ctx, client)
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

// fixedSource yields the same GET request forever.
type fixedSource struct{}

var _ types.RequestSource = fixedSource{}

func (fixedSource) Next() (types.RequestSpec, error) {
	return types.RequestSpec{Method: "GET", Path: "/fixed"}, nil
}

func (fixedSource) Reset() error { return nil }
