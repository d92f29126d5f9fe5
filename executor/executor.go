// Package executor is the executor process of imager: a client of the
// orchestrator's gRPC control plane that runs the jobs it is sent on an
// engine.Runner and streams their reports back.
//
// An Executor keeps one control stream open at a time. It introduces itself
// with a Hello, waits for the orchestrator's Welcome, then sends heartbeats
// at the interval the Welcome asks for and a report for every job it
// receives. When the stream breaks it abandons the session's jobs (the
// orchestrator already counts them as lost), and reconnects with jittered
// exponential backoff until its context ends.
package executor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/metrics"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Defaults and fixed timings of the control-plane client.
const (
	// DefaultMinBackoff is the first reconnect delay.
	DefaultMinBackoff = 200 * time.Millisecond
	// DefaultMaxBackoff caps the reconnect delay; it is also the delay
	// after the orchestrator rejects the auth token.
	DefaultMaxBackoff = 10 * time.Second
	// welcomeTimeout bounds the wait for the orchestrator's Welcome.
	welcomeTimeout = 10 * time.Second
	// defaultHeartbeat is used when the Welcome names no interval.
	defaultHeartbeat = 2 * time.Second
	// keepaliveTime and keepaliveTimeout tune gRPC pings on the control
	// connection, so that a silently vanished orchestrator is noticed.
	// The orchestrator's keepalive enforcement policy must allow pings
	// this often, even without active streams.
	keepaliveTime    = 10 * time.Second
	keepaliveTimeout = 5 * time.Second
)

// Config describes an Executor.
type Config struct {
	// Orchestrator is the gRPC address (host:port) of the orchestrator.
	Orchestrator string
	// ID identifies the executor to the orchestrator (its pod name, say).
	ID string
	// Workers is the executor's capacity: its relative share of the load.
	// It must be at least 1.
	Workers int
	// MaxInFlight caps the requests in flight across all running jobs;
	// zero means engine.DefaultMaxInFlight.
	MaxInFlight int
	// AuthToken is the shared control-plane token; empty means none.
	AuthToken string
	// Version is the executor's build version, sent in Hello.
	Version string
	// Metrics, when set, receives the executor's metrics and observes every
	// request.
	Metrics *metrics.Executor
	// Logger receives the executor's log; nil means slog.Default().
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the reconnect delay, which doubles
	// after each failed attempt and is jittered; zero means
	// DefaultMinBackoff and DefaultMaxBackoff.
	MinBackoff, MaxBackoff time.Duration
}

// Executor connects to an orchestrator and runs the jobs it sends.
type Executor struct {
	cfg    Config
	log    *slog.Logger
	runner *engine.Runner
	// welcomeTimeout is welcomeTimeout except in tests.
	welcomeTimeout time.Duration

	connected atomic.Bool
	running   atomic.Bool
}

// New validates cfg and returns an Executor. Errors name the offending
// setting by its command-line flag.
func New(cfg Config) (*Executor, error) {
	if cfg.Orchestrator == "" {
		return nil, errors.New("executor config: orchestrator address (-orchestrator) is empty")
	}
	if cfg.ID == "" {
		return nil, errors.New("executor config: executor id (-id) is empty")
	}
	if cfg.Workers < 1 || cfg.Workers > math.MaxInt32 {
		return nil, fmt.Errorf("executor config: workers (-workers) is %d, want 1 to %d", cfg.Workers, math.MaxInt32)
	}
	if cfg.MaxInFlight < 0 || cfg.MaxInFlight > math.MaxInt32 {
		return nil, fmt.Errorf("executor config: max in-flight (-max-inflight) is %d, want 1 to %d", cfg.MaxInFlight, math.MaxInt32)
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = engine.DefaultMaxInFlight
	}
	if cfg.MinBackoff < 0 || cfg.MaxBackoff < 0 {
		return nil, fmt.Errorf("executor config: negative backoff (min %v, max %v)", cfg.MinBackoff, cfg.MaxBackoff)
	}
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = DefaultMinBackoff
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = max(DefaultMaxBackoff, cfg.MinBackoff)
	}
	if cfg.MinBackoff > cfg.MaxBackoff {
		return nil, fmt.Errorf("executor config: min backoff %v exceeds max backoff %v", cfg.MinBackoff, cfg.MaxBackoff)
	}
	// Parse the target now so that a malformed address fails at start-up;
	// NewClient does not connect.
	probe, err := grpc.NewClient(cfg.Orchestrator, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("executor config: orchestrator address (-orchestrator) %q: %w", cfg.Orchestrator, err)
	}
	_ = probe.Close()

	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	rc := engine.RunnerConfig{MaxInFlight: cfg.MaxInFlight}
	if cfg.Metrics != nil {
		rc.Observer = cfg.Metrics
	}
	return &Executor{
		cfg:            cfg,
		log:            logger.With("orchestrator", cfg.Orchestrator, "executor_id", cfg.ID),
		runner:         engine.NewRunner(rc),
		welcomeTimeout: welcomeTimeout,
	}, nil
}

// Connected reports whether the executor holds a control stream the
// orchestrator has welcomed. It backs the /readyz probe.
func (e *Executor) Connected() bool { return e.connected.Load() }

// setConnected records the connection state in the flag and the metrics.
func (e *Executor) setConnected(ok bool) {
	e.connected.Store(ok)
	if e.cfg.Metrics != nil {
		e.cfg.Metrics.SetConnected(ok)
	}
}

// Run connects to the orchestrator and serves jobs, reconnecting with
// backoff whenever the stream ends, until ctx ends. It then aborts the
// requests in flight, waits for every goroutine it started and returns
// nil. It returns an error only when the gRPC client cannot be created or
// Run is already running.
func (e *Executor) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("executor: Run is already running")
	}
	defer e.running.Store(false)

	conn, err := grpc.NewClient(e.cfg.Orchestrator,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(imagerv1.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(imagerv1.MaxMessageBytes),
		),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                keepaliveTime,
			Timeout:             keepaliveTimeout,
			PermitWithoutStream: true,
		}),
		// Keep gRPC's own redial delay within ours, so that a restarted
		// orchestrator is found again within MaxBackoff.
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  e.cfg.MinBackoff,
				Multiplier: 2,
				Jitter:     0.2,
				MaxDelay:   e.cfg.MaxBackoff,
			},
			MinConnectTimeout: keepaliveTimeout,
		}),
	)
	if err != nil {
		return fmt.Errorf("executor: gRPC client for %q: %w", e.cfg.Orchestrator, err)
	}
	defer func() { _ = conn.Close() }()
	client := imagerv1.NewControlPlaneClient(conn)

	delay := e.cfg.MinBackoff
	for {
		welcomed, err := e.session(ctx, client)
		if ctx.Err() != nil {
			return nil
		}
		if welcomed {
			delay = e.cfg.MinBackoff
		}
		var wait time.Duration
		if status.Code(err) == codes.Unauthenticated {
			wait = jitter(e.cfg.MaxBackoff)
			e.log.Error("orchestrator rejected this executor's auth token; check -auth-token-file",
				"detail", statusMessage(err), "retry_in", wait)
		} else {
			wait = jitter(delay)
			delay = min(2*delay, e.cfg.MaxBackoff)
			e.log.Warn("control stream to orchestrator ended; reconnecting", "err", err, "retry_in", wait)
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// statusMessage returns the message of the gRPC status err carries, without
// the context it was wrapped in.
func statusMessage(err error) string {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		return se.GRPCStatus().Message()
	}
	return err.Error()
}

// jitter returns a random delay in [d/2, d].
func jitter(d time.Duration) time.Duration {
	if d <= 0 {
		return 0
	}
	half := d / 2
	return half + rand.N(d-half+1)
}

// sleep waits for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
