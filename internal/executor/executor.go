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
//
// When the executor's context ends (SIGTERM), its jobs stop sending at
// once, requests in flight are cut off, and what they measured is still
// reported while the stream stays up, for at most ShutdownGrace.
//
// An orchestrator that refuses the executor for good (its id is taken by
// another live executor, its token is wrong, or it was disconnected for
// forged reports) ends Run with a *RefusedError: retrying cannot help.
//
// When the orchestrator says the test is over (a Done message), the
// executor reports the jobs it has in flight, closes the stream, and then
// either returns (Config.ExitWhenDone) or waits for the next orchestrator.
// Either way a lost orchestrator costs one log line: after a stream ends
// one warning is logged, and the failed reconnects that follow only at
// debug level.
package executor

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/version"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Defaults and fixed timings of the control-plane client.
const (
	// DefaultMinBackoff is the first reconnect delay.
	DefaultMinBackoff = 200 * time.Millisecond
	// DefaultMaxBackoff caps the reconnect delay; it is also the delay
	// after a failed TLS handshake. It is short so that
	// a restarted orchestrator has every executor back within 2s of
	// listening: a reconnect is due at most DefaultMaxBackoff after the
	// last one failed.
	DefaultMaxBackoff = 1500 * time.Millisecond
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
	// ShutdownGrace bounds how long the control stream outlives the
	// executor's context, for the reports of the jobs it cut short.
	ShutdownGrace = time.Second
)

// Config describes an Executor.
type Config struct {
	// Orchestrator is the gRPC address (host:port) of the orchestrator.
	Orchestrator string
	// ID identifies the executor to the orchestrator (its pod name, say).
	ID string
	// Capacity is the executor's relative share of the load (its -workers
	// flag, named so since imager's first version; it is not a count of
	// goroutines or connections). It must be at least 1.
	Capacity int
	// MaxInFlight bounds each job's queued-plus-in-flight requests (see
	// engine.RunnerConfig.MaxInFlight); zero means
	// engine.DefaultMaxInFlight.
	MaxInFlight int
	// Connections is the executor's connection budget to targets (see
	// engine.RunnerConfig.Connections); zero sizes each job by its rate.
	Connections int
	// AuthToken is the shared control-plane token; empty means none.
	AuthToken string
	// TLS, when set, secures the control-plane connection (server
	// verification and an optional client certificate); nil means
	// plaintext.
	TLS *tls.Config
	// Instance is sent in every Hello so that the orchestrator tells this
	// process reconnecting from another executor with the same ID; empty
	// means a random value chosen by New.
	Instance string
	// Version is the executor's build version, sent in Hello; empty means
	// this build's (package internal/version, the same string every imager
	// binary prints with -version).
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
	// ExitWhenDone makes Run return nil once the orchestrator says the
	// test is over and the jobs in flight are reported; otherwise the
	// executor waits for the next orchestrator.
	ExitWhenDone bool
}

// Executor connects to an orchestrator and runs the jobs it sends.
type Executor struct {
	cfg    Config
	log    *slog.Logger
	runner *engine.Runner
	// welcomeTimeout and shutdownGrace are welcomeTimeout and
	// ShutdownGrace except in tests.
	welcomeTimeout time.Duration
	shutdownGrace  time.Duration

	connected atomic.Bool
	running   atomic.Bool
}

// ConfigError is a Config field that New refused. Field is the field's
// name in Config; a program with flags maps it to its own flag.
type ConfigError struct {
	Field   string
	Problem string
}

// Error says which field is wrong and why.
func (e *ConfigError) Error() string {
	return "executor config: " + e.Field + " " + e.Problem
}

// New validates cfg and returns an Executor. A refused field is reported
// as a *ConfigError.
func New(cfg Config) (*Executor, error) {
	if cfg.Orchestrator == "" {
		return nil, &ConfigError{"Orchestrator", "is empty: want the orchestrator's gRPC address"}
	}
	if cfg.ID == "" {
		return nil, &ConfigError{"ID", "is empty"}
	}
	for _, f := range []struct {
		name     string
		v, least int
	}{{"Capacity", cfg.Capacity, 1}, {"MaxInFlight", cfg.MaxInFlight, 0}, {"Connections", cfg.Connections, 0}} {
		if f.v < f.least || f.v > math.MaxInt32 {
			return nil, &ConfigError{f.name, fmt.Sprintf("is %d, want %d to %d", f.v, f.least, math.MaxInt32)}
		}
	}
	if cfg.MaxInFlight == 0 {
		cfg.MaxInFlight = engine.DefaultMaxInFlight
	}
	if cfg.Version == "" {
		cfg.Version = version.String()
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
		return nil, &ConfigError{"Orchestrator", fmt.Sprintf("%q: %s",
			RedactAddress(cfg.Orchestrator), redactIn(err.Error(), cfg.Orchestrator))}
	}
	_ = probe.Close()
	if cfg.Instance == "" {
		cfg.Instance = rand.Text()
	}

	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	logger = withRedaction(logger, cfg.Orchestrator)
	rc := engine.RunnerConfig{MaxInFlight: cfg.MaxInFlight, Connections: cfg.Connections}
	if cfg.Metrics != nil {
		rc.Observer = cfg.Metrics
	}
	return &Executor{
		cfg:            cfg,
		log:            logger.With("orchestrator", RedactAddress(cfg.Orchestrator), "executor_id", cfg.ID),
		runner:         engine.NewRunner(rc),
		welcomeTimeout: welcomeTimeout,
		shutdownGrace:  ShutdownGrace,
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
// backoff whenever the stream ends, until ctx ends or, with ExitWhenDone,
// the orchestrator says the test is over. It then aborts the requests in
// flight (when ctx ended), waits for every goroutine it started and
// returns nil. It returns a *RefusedError when the orchestrator refuses
// the executor for good, and another error when the gRPC client cannot be
// created or Run is already running.
//
// Every attempt dials a fresh gRPC client, so that the retry timing is
// Run's own (gRPC's connection backoff would add its own delay on top) and
// a restarted orchestrator's new address is resolved again.
func (e *Executor) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("executor: Run is already running")
	}
	defer e.running.Store(false)

	delay := e.cfg.MinBackoff
	// quiet: the loss of the orchestrator has been logged once; failed
	// reconnects are logged at debug level until a session is welcomed.
	quiet := false
	for {
		if ctx.Err() != nil {
			return nil
		}
		welcomed, err := e.attempt(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var (
			done *doneError
			wait time.Duration
		)
		switch {
		case errors.As(err, &done):
			if e.cfg.ExitWhenDone {
				e.log.Info("test finished; exiting", "passed", done.passed, "reason", done.reason)
				return nil
			}
			delay, quiet = e.cfg.MinBackoff, true
			wait = jitter(delay)
			e.log.Info("test finished; waiting for the next orchestrator", "passed", done.passed, "reason", done.reason)
		case errors.As(err, new(*clientError)):
			return err
		case refusal(err) != "":
			r := &RefusedError{ID: e.cfg.ID, Code: status.Code(err), Detail: statusMessage(err)}
			e.log.Error(refusal(err), "id", e.cfg.ID, "detail", r.Detail)
			return r
		case isHandshakeFailure(err) && !quiet:
			wait = jitter(e.cfg.MaxBackoff)
			e.log.Error("TLS handshake with orchestrator failed; check the CAs trusted for the orchestrator's certificate, "+
				"the server name verified and the client certificate and key "+
				"(retrying; further failures are logged at debug level)", "err", err, "retry_in", wait)
			quiet = true
		default:
			if welcomed {
				delay, quiet = e.cfg.MinBackoff, false
			}
			wait = jitter(delay)
			delay = min(2*delay, e.cfg.MaxBackoff)
			if quiet {
				e.log.Debug("reconnect to orchestrator failed; retrying", "err", err, "retry_in", wait)
			} else {
				e.log.Warn("control stream to orchestrator ended; reconnecting (further failed attempts are logged at debug level)",
					"err", err, "retry_in", wait)
				quiet = true
			}
		}
		if !sleep(ctx, wait) {
			return nil
		}
	}
}

// clientError is a failure to create the gRPC client, which retrying
// cannot mend.
type clientError struct{ err error }

func (c *clientError) Error() string { return c.err.Error() }
func (c *clientError) Unwrap() error { return c.err }

// attempt dials the orchestrator with a new gRPC client and runs one
// session on it. The client is closed when it returns.
func (e *Executor) attempt(ctx context.Context) (welcomed bool, err error) {
	creds := insecure.NewCredentials()
	if e.cfg.TLS != nil {
		creds = credentials.NewTLS(e.cfg.TLS)
	}
	conn, err := grpc.NewClient(e.cfg.Orchestrator,
		grpc.WithTransportCredentials(creds),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(imagerv1.MaxMessageBytes),
			grpc.MaxCallSendMsgSize(imagerv1.MaxMessageBytes),
		),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time:                keepaliveTime,
			Timeout:             keepaliveTimeout,
			PermitWithoutStream: true,
		}),
		// The client lives for one attempt; a failed dial fails the
		// stream at once and Run decides when to try again. These bound
		// gRPC's own redials within the attempt.
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
		return false, &clientError{fmt.Errorf("executor: gRPC client for %q: %s",
			RedactAddress(e.cfg.Orchestrator), redactIn(err.Error(), e.cfg.Orchestrator))}
	}
	defer func() { _ = conn.Close() }()
	return e.session(ctx, imagerv1.NewControlPlaneClient(conn))
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
	return half + mrand.N(d-half+1)
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
