// Package control is the orchestrator's side of the gRPC control plane: it
// accepts executor streams, checks their token, hands them to the round
// scheduler as executors, forwards jobs to them and their reports back.
//
// What an executor claims is not taken on trust: its capacity and in-flight
// cap are clamped to MaxCapacity and MaxInFlight, an executor id already
// held by a live stream is refused, and an executor whose reports are
// refused as inconsistent (see manager.RefusalListener) MaxRefusedReports
// times is disconnected.
package control

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Fleet is what the server feeds: the round scheduler.
type Fleet interface {
	Join(e manager.Executor)
	Leave(e manager.Executor, reason string)
	Report(executorID string, rep *tally.Report)
}

var _ Fleet = (*manager.Scheduler)(nil)

// Config configures a Server. Fleet is required; Metrics, when nil,
// records nothing.
type Config struct {
	Fleet   Fleet
	Metrics ServerMetrics
	// AuthToken, when set, must be presented by every executor.
	AuthToken string
	// HeartbeatInterval is asked of executors; default 2s.
	HeartbeatInterval time.Duration
	// ExecutorTimeout removes an executor silent for this long; default
	// five heartbeat intervals.
	ExecutorTimeout time.Duration
	Version         string
	Logger          *slog.Logger
	// TLS, when set, serves the control plane over TLS with it (asking for
	// client certificates as it says); nil serves plaintext gRPC.
	TLS *tls.Config
	// HandshakeTimeout drops a connection that has not finished its
	// TLS and HTTP/2 handshake in this long; default
	// DefaultHandshakeTimeout.
	HandshakeTimeout time.Duration
	// MaxRefusedReports ends the stream of an executor after this many of
	// its reports were refused as inconsistent; default
	// DefaultMaxRefusedReports.
	MaxRefusedReports int
}

// Bounds on what an executor may claim or send, and defaults of Config.
const (
	// MaxCapacity is the largest share of a round (Hello.capacity) an
	// executor may claim; a larger claim is clamped to it, a claim below
	// 1 raised to 1.
	MaxCapacity = 1024
	// MaxInFlight is the largest Hello.max_inflight believed; larger
	// claims are clamped to it.
	MaxInFlight = 1_000_000
	// MaxReportBytes bounds one message from an executor. Reports carry
	// counts and histograms (at most tally.MaxNames names), a few MiB at
	// worst.
	MaxReportBytes = 16 << 20
	// DefaultHandshakeTimeout is Config.HandshakeTimeout's default.
	DefaultHandshakeTimeout = 10 * time.Second
	// DefaultMaxRefusedReports is Config.MaxRefusedReports's default.
	DefaultMaxRefusedReports = 3
	// maxStreamsPerConn bounds the streams of one connection; an executor
	// uses one.
	maxStreamsPerConn = 4
	// idleConnection closes a connection that has carried no stream for
	// this long.
	idleConnection = 2 * time.Minute
)

// FinishTimeout bounds how long Finish waits for executors to acknowledge
// the end of the test.
const FinishTimeout = 2 * time.Second

// Server implements the ControlPlane service.
type Server struct {
	imagerv1.UnimplementedControlPlaneServer
	cfg  Config
	log  *slog.Logger
	stop chan struct{}

	mu sync.Mutex
	// sessions are the welcomed executors whose streams are open, by id.
	sessions map[string]*session
	// done is the notice Finish sent; once set, no executor is welcomed.
	done *imagerv1.Done
}

// NewServer returns a Server.
func NewServer(cfg Config) *Server {
	if cfg.Metrics == nil {
		cfg.Metrics = noServerMetrics{}
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 2 * time.Second
	}
	if cfg.ExecutorTimeout <= 0 {
		cfg.ExecutorTimeout = 5 * cfg.HeartbeatInterval
	}
	if cfg.HandshakeTimeout <= 0 {
		cfg.HandshakeTimeout = DefaultHandshakeTimeout
	}
	if cfg.MaxRefusedReports <= 0 {
		cfg.MaxRefusedReports = DefaultMaxRefusedReports
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{cfg: cfg, log: log, stop: make(chan struct{}), sessions: make(map[string]*session)}
}

// Finish tells every connected executor that the test is over: each
// session sends Done as its last message and serves the stream on until the
// executor, having reported its jobs in flight, closes it. Finish waits for
// that, but no longer than FinishTimeout in all, so that an executor that
// does not understand Done (or is stuck) cannot hold up the orchestrator's
// exit; ending Serve's context afterwards ends the streams still open.
// From the first call on, executors that connect are turned away before
// their Welcome, so an executor does not rejoin an orchestrator that is
// shutting down. Later calls do nothing. It starts no goroutine.
func (s *Server) Finish(passed bool, reason string) {
	s.mu.Lock()
	if s.done != nil {
		s.mu.Unlock()
		return
	}
	s.done = &imagerv1.Done{Passed: passed, Reason: reason}
	open := make([]*session, 0, len(s.sessions))
	for _, sess := range s.sessions {
		open = append(open, sess)
		close(sess.finish)
	}
	s.mu.Unlock()
	if len(open) == 0 {
		return
	}
	s.log.Info("telling executors the test is over", "executors", len(open), "passed", passed, "reason", reason)
	timer := time.NewTimer(FinishTimeout)
	defer timer.Stop()
	for i, sess := range open {
		select {
		case <-sess.closed:
		case <-timer.C:
			s.log.Warn("executors did not close their streams after the end-of-test notice",
				"waited", FinishTimeout, "open", len(open)-i)
			return
		}
	}
}

// finished returns the notice Finish sent, or nil before Finish.
func (s *Server) finished() *imagerv1.Done {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.done
}

// Serve serves the control plane on lis until ctx ends, then ends every
// executor stream and returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer(s.serverOptions()...)
	imagerv1.RegisterControlPlaneServer(gs, s)
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(lis) }()
	select {
	case err := <-errc:
		return fmt.Errorf("control plane: %w", err)
	case <-ctx.Done():
	}
	close(s.stop)
	stopped := make(chan struct{})
	go func() { gs.GracefulStop(); close(stopped) }()
	select {
	case <-stopped:
	case <-time.After(5 * time.Second):
		gs.Stop()
		<-stopped
	}
	<-errc
	return nil
}

// serverOptions bound what a connection may cost: its handshake, its
// streams, its messages, its idleness, and keepalive pings both ways (a
// peer pinging more often than every 5s is cut off; a peer that does not
// answer a ping within 5s is dropped).
func (s *Server) serverOptions() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxReportBytes),
		grpc.MaxSendMsgSize(imagerv1.MaxMessageBytes),
		grpc.ConnectionTimeout(s.cfg.HandshakeTimeout),
		grpc.MaxConcurrentStreams(maxStreamsPerConn),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second, MaxConnectionIdle: idleConnection}),
	}
	if s.cfg.TLS != nil {
		opts = append(opts, grpc.Creds(credentials.NewTLS(s.cfg.TLS)))
	}
	return opts
}

// Connect handles one executor's stream for its whole life.
func (s *Server) Connect(stream imagerv1.ControlPlane_ConnectServer) error {
	remote := "unknown"
	if p, ok := peer.FromContext(stream.Context()); ok {
		remote = p.Addr.String()
	}
	first, err := s.recvHello(stream)
	if err != nil {
		return err
	}
	if err := checkHello(first); err != nil {
		s.log.Warn("executor rejected: first message is not an acceptable hello", "remote", remote, "reason", err)
		return status.Error(codes.InvalidArgument, err.Error())
	}
	hello := first.GetHello()
	id := hello.GetExecutorId()
	if !imagerv1.TokensMatch(s.cfg.AuthToken, hello.GetAuthToken()) {
		s.cfg.Metrics.AuthFailed()
		s.log.Warn("executor rejected: wrong or missing auth token (check that the executor's token matches the orchestrator's)", "executor", id, "remote", remote)
		return status.Error(codes.Unauthenticated, "auth token rejected: the executor's token does not match the orchestrator's")
	}
	sess := newSession(id, hello.GetInstance(), remote, s.claims(hello, remote))
	if err := s.admit(sess); err != nil {
		return err
	}
	defer s.unregister(sess)
	welcome := &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Welcome{Welcome: &imagerv1.Welcome{
		HeartbeatIntervalNanos: int64(s.cfg.HeartbeatInterval), Version: s.cfg.Version,
	}}}
	if err := stream.Send(welcome); err != nil {
		close(sess.closed)
		return err
	}
	s.log.Info("executor connected", "executor", id, "remote", remote, "capacity", sess.capacity,
		"max_inflight", sess.maxInFlight, "version", hello.GetVersion())
	s.cfg.Fleet.Join(sess)
	reason, err := s.serve(stream, sess)
	close(sess.closed)
	s.cfg.Fleet.Leave(sess, reason)
	return err
}

// recvHello receives the stream's first message. An executor that sends
// nothing is dropped after ExecutorTimeout, and the wait ends when the server
// stops, so that a connection without a Hello neither holds its handler
// forever nor delays shutdown.
func (s *Server) recvHello(stream imagerv1.ControlPlane_ConnectServer) (*imagerv1.ExecutorMessage, error) {
	type result struct {
		msg *imagerv1.ExecutorMessage
		err error
	}
	// The receiver ends once the handler returns and the stream is torn down.
	got := make(chan result, 1)
	go func() {
		m, err := stream.Recv()
		got <- result{m, err}
	}()
	timer := time.NewTimer(s.cfg.ExecutorTimeout)
	defer timer.Stop()
	select {
	case r := <-got:
		return r.msg, r.err
	case <-timer.C:
		return nil, status.Errorf(codes.DeadlineExceeded, "no Hello within %v", s.cfg.ExecutorTimeout)
	case <-s.stop:
		return nil, status.Error(codes.Unavailable, "orchestrator stopping")
	}
}

// ServerMetrics is what a Server counts. *metrics.Orchestrator implements
// it. Its methods are called concurrently, from the executors' streams.
type ServerMetrics interface {
	AuthFailed()
	ReportRefused()
}

var _ ServerMetrics = (*metrics.Orchestrator)(nil)

// noServerMetrics counts nothing: a Server's metrics when the caller gives
// none.
type noServerMetrics struct{}

func (noServerMetrics) AuthFailed()    {}
func (noServerMetrics) ReportRefused() {}
