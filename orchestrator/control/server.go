// Package control is the orchestrator's side of the gRPC control plane: it
// accepts executor streams, checks their token, hands them to the round
// scheduler as executors, forwards jobs to them and their reports back.
package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/metrics"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Fleet is what the server feeds: the round scheduler.
type Fleet interface {
	Join(e manager.Executor)
	Leave(e manager.Executor, reason string)
	Report(executorID string, rep *engine.Report)
}

var _ Fleet = (*manager.Scheduler)(nil)

// Config configures a Server. Fleet and Metrics are required.
type Config struct {
	Fleet   Fleet
	Metrics *metrics.Orchestrator
	// AuthToken, when set, must be presented by every executor.
	AuthToken string
	// HeartbeatInterval is asked of executors; default 2s.
	HeartbeatInterval time.Duration
	// ExecutorTimeout removes an executor silent for this long; default
	// five heartbeat intervals.
	ExecutorTimeout time.Duration
	Version         string
	Logger          *slog.Logger
}

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
	// sessions are the welcomed executors whose streams are open.
	sessions map[*session]struct{}
	// done is the notice Finish sent; once set, no executor is welcomed.
	done *imagerv1.Done
}

// NewServer returns a Server.
func NewServer(cfg Config) *Server {
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 2 * time.Second
	}
	if cfg.ExecutorTimeout <= 0 {
		cfg.ExecutorTimeout = 5 * cfg.HeartbeatInterval
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Server{cfg: cfg, log: log, stop: make(chan struct{}), sessions: make(map[*session]struct{})}
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
	for sess := range s.sessions {
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

// register adds sess to the open sessions unless the test is over, which
// it reports.
func (s *Server) register(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		return false
	}
	s.sessions[sess] = struct{}{}
	return true
}

// unregister removes sess from the open sessions.
func (s *Server) unregister(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
}

// Serve serves the control plane on lis until ctx ends, then ends every
// executor stream and returns.
func (s *Server) Serve(ctx context.Context, lis net.Listener) error {
	gs := grpc.NewServer(
		grpc.MaxRecvMsgSize(imagerv1.MaxMessageBytes),
		grpc.MaxSendMsgSize(imagerv1.MaxMessageBytes),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 5 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 10 * time.Second, Timeout: 5 * time.Second}),
	)
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
	hello := first.GetHello()
	if hello == nil || hello.GetExecutorId() == "" {
		s.log.Warn("executor rejected: first message is not a hello with an id", "remote", remote)
		return status.Error(codes.InvalidArgument, "first message must be a Hello with an executor_id")
	}
	id := hello.GetExecutorId()
	if !imagerv1.TokensMatch(s.cfg.AuthToken, hello.GetAuthToken()) {
		s.cfg.Metrics.AuthFailed()
		s.log.Warn("executor rejected: wrong or missing auth token (check -auth-token-file on both sides)", "executor", id, "remote", remote)
		return status.Error(codes.Unauthenticated, "auth token rejected: the executor's -auth-token-file does not match the orchestrator's")
	}
	sess := newSession(id, int(hello.GetCapacity()))
	if !s.register(sess) {
		s.log.Debug("executor turned away: the test is over", "executor", id, "remote", remote)
		return status.Error(codes.Unavailable, "the test is over; the orchestrator is shutting down")
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
		"max_inflight", hello.GetMaxInflight(), "version", hello.GetVersion())
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

// serve pumps jobs out and reports in until the stream ends, the executor
// goes silent or the server stops. Once Finish is called it sends Done
// instead of any further job and goes on receiving until the executor
// closes the stream. It returns why the session ended.
func (s *Server) serve(stream imagerv1.ControlPlane_ConnectServer, sess *session) (string, error) {
	ctx := stream.Context()
	msgs := make(chan *imagerv1.ExecutorMessage)
	recvErr := make(chan error, 1)
	go func() {
		for {
			m, err := stream.Recv()
			if err != nil {
				recvErr <- err
				return
			}
			select {
			case msgs <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	silence := time.NewTimer(s.cfg.ExecutorTimeout)
	defer silence.Stop()
	finish, jobs := sess.finish, sess.jobs
	for {
		select {
		case <-s.stop:
			return "orchestrator stopping", nil
		case err := <-recvErr:
			if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || status.Code(err) == codes.Canceled {
				return "stream closed by the executor", nil
			}
			return fmt.Sprintf("stream broken: %v", err), nil
		case <-silence.C:
			return fmt.Sprintf("silent for %v", s.cfg.ExecutorTimeout), status.Error(codes.DeadlineExceeded, "no heartbeat")
		case <-finish:
			// The test is over: jobs still queued are not sent (the
			// scheduler has settled them), and nil channels turn these
			// cases off.
			finish, jobs = nil, nil
			msg := &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Done{Done: s.finished()}}
			if err := stream.Send(msg); err != nil {
				return fmt.Sprintf("send failed: %v", err), err
			}
		case job := <-jobs:
			msg := &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Job{Job: job}}
			if err := stream.Send(msg); err != nil {
				return fmt.Sprintf("send failed: %v", err), err
			}
		case m := <-msgs:
			silence.Reset(s.cfg.ExecutorTimeout)
			if r := m.GetReport(); r != nil {
				rep, err := r.ToEngine()
				if err != nil {
					s.log.Warn("unreadable report; its requests will count as lost", "executor", sess.id, "job", r.GetJobId(), "error", err)
					continue
				}
				s.cfg.Fleet.Report(sess.id, rep)
			}
		}
	}
}

// session is one connected executor as the scheduler sees it.
type session struct {
	id       string
	capacity int
	jobs     chan *imagerv1.Job
	// finish is closed by Finish; closed, when the stream's handler ends.
	finish chan struct{}
	closed chan struct{}
}

var _ manager.Executor = (*session)(nil)

func newSession(id string, capacity int) *session {
	return &session{id: id, capacity: max(capacity, 1), jobs: make(chan *imagerv1.Job, 64),
		finish: make(chan struct{}), closed: make(chan struct{})}
}

// ID implements manager.Executor.
func (s *session) ID() string { return s.id }

// Capacity implements manager.Executor.
func (s *session) Capacity() int { return s.capacity }

// Dispatch implements manager.Executor: it queues the job for the stream.
func (s *session) Dispatch(job engine.Job) error {
	select {
	case <-s.closed:
		return errors.New("executor disconnected")
	default:
	}
	select {
	case s.jobs <- imagerv1.JobFromEngine(job):
		return nil
	case <-s.closed:
		return errors.New("executor disconnected")
	default:
		return errors.New("executor's job queue is full")
	}
}
