package executor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// waitLimit bounds every wait in these tests.
const waitLimit = 5 * time.Second

// serverStream is the orchestrator's end of a Connect call.
type serverStream = grpc.BidiStreamingServer[imagerv1.ExecutorMessage, imagerv1.OrchestratorMessage]

// helloAt is a Hello and when the fake orchestrator received it.
type helloAt struct {
	hello *imagerv1.Hello
	at    time.Time
}

// fakeOrchestrator is a real gRPC ControlPlane server on loopback whose
// behaviour after each Hello is given by serve; conn counts connections
// from 1.
type fakeOrchestrator struct {
	imagerv1.UnimplementedControlPlaneServer
	addr   string
	hellos chan helloAt
	conns  atomic.Int32
	serve  func(conn int, st serverStream) error
}

// startFake starts a fake orchestrator; it is stopped when the test ends.
func startFake(t *testing.T, serve func(conn int, st serverStream) error) *fakeOrchestrator {
	t.Helper()
	return startFakeWith(t, serve)
}

// startFakeWith is startFake with extra server options (TLS credentials,
// say).
func startFakeWith(t *testing.T, serve func(conn int, st serverStream) error, opts ...grpc.ServerOption) *fakeOrchestrator {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f := &fakeOrchestrator{addr: ln.Addr().String(), hellos: make(chan helloAt, 100), serve: serve}
	srv := grpc.NewServer(append([]grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
		MinTime:             5 * time.Second,
		PermitWithoutStream: true,
	})}, opts...)...)
	imagerv1.RegisterControlPlaneServer(srv, f)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		srv.Stop()
		<-done
	})
	return f
}

// Connect implements imagerv1.ControlPlaneServer.
func (f *fakeOrchestrator) Connect(st serverStream) error {
	n := int(f.conns.Add(1))
	msg, err := st.Recv()
	if err != nil {
		return err
	}
	h := msg.GetHello()
	if h == nil {
		return errors.New("first message is not a Hello")
	}
	select {
	case f.hellos <- helloAt{hello: h, at: time.Now()}:
	default:
	}
	return f.serve(n, st)
}

// nextHello waits for the next Hello.
func (f *fakeOrchestrator) nextHello(t *testing.T) helloAt {
	t.Helper()
	select {
	case h := <-f.hellos:
		return h
	case <-time.After(waitLimit):
		t.Fatalf("no Hello within %v", waitLimit)
		return helloAt{}
	}
}

// welcome sends a Welcome asking for heartbeats every interval.
func welcome(st serverStream, interval time.Duration) error {
	return st.Send(&imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Welcome{
		Welcome: &imagerv1.Welcome{HeartbeatIntervalNanos: int64(interval), Version: "test"},
	}})
}

// sendJob sends a job.
func sendJob(st serverStream, job *imagerv1.Job) error {
	return st.Send(&imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Job{Job: job}})
}

// forward passes every message from the executor to msgs until the
// stream ends.
func forward(st serverStream, msgs chan<- *imagerv1.ExecutorMessage) error {
	for {
		m, err := st.Recv()
		if err != nil {
			return nil
		}
		select {
		case msgs <- m:
		case <-st.Context().Done():
			return nil
		}
	}
}

// testConfig returns a config for addr with fast backoff and a logger
// writing to logs.
func testConfig(addr string, logs io.Writer) Config {
	return Config{
		Orchestrator: addr,
		ID:           "exec-1",
		Capacity:     3,
		MaxInFlight:  500,
		AuthToken:    "s3cret",
		Version:      "v9.9.9",
		Logger:       slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinBackoff:   time.Millisecond,
		MaxBackoff:   20 * time.Millisecond,
	}
}

// running is an Executor whose Run goroutine the test controls.
type running struct {
	*Executor
	stop func() // cancels Run and fails the test unless it returns nil in time
}

// startExecutor starts e.Run; it is stopped when the test ends at the
// latest. Logs are printed when the test failed.
func startExecutor(t *testing.T, e *Executor, logs *proc.Buffer) running {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	var once sync.Once
	stop := func() {
		t.Helper()
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run() = %v, want nil", err)
				}
			case <-time.After(waitLimit):
				t.Errorf("Run did not return within %v of cancellation", waitLimit)
			}
		})
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("executor log:\n%s", logs)
		}
	})
	return running{Executor: e, stop: stop}
}

// newExecutor builds an Executor from cfg or fails the test.
func newExecutor(t *testing.T, cfg Config) *Executor {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error: %v", err)
	}
	return e
}

// hangingTarget is an HTTP target that never answers. hits receives a
// value for each request that arrives, gone one for each request whose
// client went away.
type hangingTarget struct {
	url  string
	hits chan struct{}
	gone chan struct{}
}

// startHangingTarget starts a hangingTarget on loopback, released and
// closed when the test ends.
func startHangingTarget(t *testing.T) *hangingTarget {
	t.Helper()
	h := &hangingTarget{hits: make(chan struct{}, 1000), gone: make(chan struct{}, 1000)}
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		h.hits <- struct{}{}
		select {
		case <-r.Context().Done():
			h.gone <- struct{}{}
		case <-release:
		}
	}))
	t.Cleanup(func() {
		close(release)
		srv.Close()
	})
	h.url = srv.URL
	return h
}

// await waits for a value on ch or fails the test with what.
func await(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(waitLimit):
		t.Fatalf("%s did not happen within %v", what, waitLimit)
	}
}

// gatherValue returns the value of the unlabelled counter or gauge name
// in reg, or -1 when it is absent.
func gatherValue(t *testing.T, reg prometheus.Gatherer, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name || len(mf.GetMetric()) == 0 {
			continue
		}
		m := mf.GetMetric()[0]
		switch {
		case m.GetCounter() != nil:
			return m.GetCounter().GetValue()
		case m.GetGauge() != nil:
			return m.GetGauge().GetValue()
		}
	}
	return -1
}

// forwardReports passes every report the executor sends on st to reports
// until the stream ends, which it treats as the end of the test.
func forwardReports(st serverStream, reports chan<- *imagerv1.Report) error {
	for {
		m, err := st.Recv()
		if err != nil {
			return nil
		}
		if r := m.GetReport(); r != nil {
			reports <- r
		}
	}
}
