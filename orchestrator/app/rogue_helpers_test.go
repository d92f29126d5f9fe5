package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Helpers for the tests that drive the real orchestrator with a rogue
// executor: a raw gRPC client written here, saying whatever it likes.

// controlWait bounds every wait in these tests.
const controlWait = 20 * time.Second

// countingTarget is an HTTP target on 127.0.0.1 counting its requests.
func countingTarget(t *testing.T) (url string, hits *atomic.Int64) {
	t.Helper()
	hits = new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, "ok\n")
	}))
	t.Cleanup(srv.Close)
	return srv.URL, hits
}

// writeToken writes a token file and returns its path.
func writeToken(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runningApp is app.Run serving its control plane on a free loopback port,
// listened on by Run itself from the flags.
type runningApp struct {
	port   int
	logs   *proc.Buffer
	cancel context.CancelFunc
	done   chan error

	mu      sync.Mutex
	rounds  []manager.RoundResult
	summary *manager.Summary
}

// startApp runs the orchestrator in url mode against target with args on
// -grpc-port=<a free port>, until it ends or the test does.
func startApp(t *testing.T, target string, args ...string) *runningApp {
	t.Helper()
	a := &runningApp{port: proc.FreePort(t), logs: &proc.Buffer{}, done: make(chan error, 1)}
	cfg, err := app.ParseConfig(append([]string{
		"-target-mode=url", "-target-url=" + target, "-listen-port=0", "-grpc-port=" + strconv.Itoa(a.port),
	}, args...))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	a.cancel = cancel
	go func() {
		a.done <- app.Run(ctx, cfg, app.RunOptions{
			Logger: slog.New(slog.NewTextHandler(a.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
			OnRound: func(r *manager.RoundResult) {
				a.mu.Lock()
				a.rounds = append(a.rounds, *r)
				a.mu.Unlock()
			},
			OnSummary: func(s manager.Summary) {
				a.mu.Lock()
				a.summary = &s
				a.mu.Unlock()
			},
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-a.done:
		case <-time.After(controlWait):
			t.Errorf("app.Run did not return within %v of cancel", controlWait)
		}
	})
	a.awaitLog(t, "control plane listening")
	return a
}

// addr is the control plane's address on 127.0.0.1.
func (a *runningApp) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(a.port)) }

// awaitLog waits for a log line holding every one of subs and returns it.
func (a *runningApp) awaitLog(t *testing.T, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(controlWait)
	for {
		for l := range strings.SplitSeq(a.logs.String(), "\n") {
			all := true
			for _, s := range subs {
				all = all && strings.Contains(l, s)
			}
			if all {
				return l
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v; log:\n%s", subs, controlWait, a.logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// wait waits for Run to return and returns the rounds, the summary and
// Run's error.
func (a *runningApp) wait(t *testing.T) ([]manager.RoundResult, manager.Summary, error) {
	t.Helper()
	var err error
	select {
	case err = <-a.done:
		a.done <- err // for the cleanup
	case <-time.After(time.Minute):
		t.Fatalf("app.Run did not return within a minute")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.summary == nil {
		t.Fatalf("Run = %v without a summary", err)
	}
	return a.rounds, *a.summary, err
}

// dialControl opens a control-plane client to addr; nil creds means
// plaintext.
func dialControl(t *testing.T, addr string, creds credentials.TransportCredentials) imagerv1.ControlPlaneClient {
	t.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return imagerv1.NewControlPlaneClient(conn)
}

// controlStream is a raw client's end of Connect.
type controlStream = grpc.BidiStreamingClient[imagerv1.ExecutorMessage, imagerv1.OrchestratorMessage]

// sayHello opens a stream on client and sends h. It returns the stream
// once welcomed, or the error that ended it. The stream lives as long as
// ctx; the orchestrator ends a stream without a Hello after
// -executor-timeout, so the wait for an answer is bounded.
func sayHello(ctx context.Context, client imagerv1.ControlPlaneClient, h *imagerv1.Hello) (controlStream, error) {
	st, err := client.Connect(ctx)
	if err != nil {
		return nil, err
	}
	if err := st.Send(&imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: h}}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	first, err := st.Recv()
	if err != nil {
		return nil, err
	}
	if first.GetWelcome() == nil {
		return nil, errors.New("first message is not a Welcome")
	}
	return st, nil
}
