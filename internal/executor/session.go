package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// stream is the executor's end of a ControlPlane.Connect call.
type stream = grpc.BidiStreamingClient[imagerv1.ExecutorMessage, imagerv1.OrchestratorMessage]

// Errors that end a session.
var (
	errNoWelcome     = errors.New("orchestrator sent no Welcome in time")
	errStreamClosed  = errors.New("orchestrator closed the control stream")
	errShutdownGrace = errors.New("executor stopping: shutdown grace over")
)

// doneError ends a session in which the orchestrator said the test is over.
type doneError struct {
	passed bool
	reason string
}

func (d *doneError) Error() string {
	return fmt.Sprintf("orchestrator finished the test (passed: %v, reason: %q)", d.passed, d.reason)
}

// connectionSweep is how often the connections to the target are closed
// again while a session's jobs wind down, catching requests that were
// dispatched just as the session was cancelled.
const connectionSweep = 50 * time.Millisecond

// session is one control stream's lifetime.
type session struct {
	e *Executor
	// ctx is the stream's context; it outlives the executor's context by
	// at most the shutdown grace. jobCtx, a child, ends with the
	// executor's context.
	ctx       context.Context
	cancel    context.CancelCauseFunc
	jobCtx    context.Context
	jobCancel context.CancelFunc
	stream    stream
	// out carries reports to the sender, which owns stream.Send.
	out chan *imagerv1.ExecutorMessage
	// launch starts the session's jobs; it is stopped once no job may
	// start any more (after a Done, at shutdown, or when the stream
	// ended).
	launch *launcher
	// done is the orchestrator's end-of-test notice, nil before it came;
	// only the receiver touches it. closeSend is closed once the jobs in
	// flight at the notice (or at shutdown) have handed over their
	// reports: the sender then sends them and half-closes the stream.
	done      *imagerv1.Done
	closeSend chan struct{}
	// parts puts jobs sent in parts back together; only the receiver
	// touches it.
	parts imagerv1.JobAssembler
	// closer is the goroutine that closes closeSend.
	closer sync.WaitGroup
	// shutdownDone is closed when shutdown has returned.
	shutdownDone chan struct{}
}

// session opens one control stream and serves it until it breaks or ctx
// ends. It reports whether the orchestrator welcomed the executor, and
// why the stream ended. Every goroutine it starts has ended when it
// returns.
func (e *Executor) session(ctx context.Context, client imagerv1.ControlPlaneClient) (welcomed bool, err error) {
	// The stream outlives ctx, by ShutdownGrace at most, so that the jobs
	// the end of ctx cut short can still be reported; until the Welcome,
	// the end of ctx ends it at once.
	sctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	early := context.AfterFunc(ctx, func() { cancel(ctx.Err()) })

	st, err := client.Connect(sctx)
	if err != nil {
		return false, fmt.Errorf("open control stream: %w", err)
	}
	hello := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{
		ExecutorId:  e.cfg.ID,
		Capacity:    int32(e.cfg.Capacity),
		MaxInflight: int32(e.cfg.MaxInFlight),
		Version:     e.cfg.Version,
		AuthToken:   e.cfg.AuthToken,
		Instance:    e.cfg.Instance,
	}}}
	// io.EOF means the stream is already gone; Recv below tells why.
	if err := st.Send(hello); err != nil && !errors.Is(err, io.EOF) {
		return false, fmt.Errorf("send hello: %w", err)
	}

	welcome, err := e.awaitWelcome(sctx, cancel, st)
	if !early() {
		return false, ctx.Err()
	}
	if err != nil {
		return false, err
	}
	interval := time.Duration(welcome.GetHeartbeatIntervalNanos())
	if interval <= 0 {
		interval = defaultHeartbeat
	}
	e.log.Info("connected to orchestrator",
		"orchestrator_version", welcome.GetVersion(), "heartbeat_interval", interval)

	jctx, jcancel := context.WithCancel(sctx)
	defer jcancel()
	s := &session{e: e, ctx: sctx, cancel: cancel, jobCtx: jctx, jobCancel: jcancel, stream: st,
		out: make(chan *imagerv1.ExecutorMessage), launch: e.newLauncher(),
		parts:     imagerv1.JobAssembler{MaxCount: MaxJobCount},
		closeSend: make(chan struct{}), shutdownDone: make(chan struct{})}
	e.setConnected(true)
	defer e.setConnected(false)
	late := context.AfterFunc(ctx, s.shutdown)

	// The sender and, after a Done, the goroutine waiting for the jobs in
	// flight both end once sctx is cancelled, which happens right after
	// receive returns; drain and sender.Wait make sure of it.
	var sender sync.WaitGroup
	sender.Go(func() { s.send(interval) })
	err = s.receive()
	cancel(err)
	if !late() {
		<-s.shutdownDone
	}
	s.launch.stop()
	s.drain()
	sender.Wait()
	s.closer.Wait()
	if ctx.Err() != nil {
		return true, ctx.Err()
	}
	if s.done != nil {
		return true, &doneError{passed: s.done.GetPassed(), reason: s.done.GetReason()}
	}
	return true, err
}

// awaitWelcome receives the first message, which must be a Welcome, within
// the welcome timeout.
func (e *Executor) awaitWelcome(ctx context.Context, cancel context.CancelCauseFunc, st stream) (*imagerv1.Welcome, error) {
	timer := time.AfterFunc(e.welcomeTimeout, func() { cancel(errNoWelcome) })
	msg, err := st.Recv()
	if !timer.Stop() {
		return nil, fmt.Errorf("await welcome: %w", errNoWelcome)
	}
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("await welcome: %w", errStreamClosed)
	}
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) != ctx.Err() {
			err = context.Cause(ctx)
		}
		return nil, fmt.Errorf("await welcome: %w", err)
	}
	w := msg.GetWelcome()
	if w == nil {
		return nil, fmt.Errorf("await welcome: first message from orchestrator is %T, want a Welcome", msg.GetKind())
	}
	return w, nil
}

// receive starts a goroutine for every job the orchestrator sends, until
// the stream breaks, and returns why it broke. After a Done it starts no
// more jobs and receives on until the orchestrator ends the stream, which
// it does once the executor has reported its jobs and half-closed it.
func (s *session) receive() error {
	for {
		msg, err := s.stream.Recv()
		if errors.Is(err, io.EOF) {
			return errStreamClosed
		}
		if err != nil {
			// A cancellation of our own (a failed send) has a better cause.
			if status.Code(err) == codes.Canceled && s.ctx.Err() != nil {
				if cause := context.Cause(s.ctx); cause != s.ctx.Err() {
					return cause
				}
			}
			return fmt.Errorf("receive from orchestrator: %w", err)
		}
		switch k := msg.GetKind().(type) {
		case *imagerv1.OrchestratorMessage_Job:
			s.assemble(s.parts.Job(k.Job))
		case *imagerv1.OrchestratorMessage_JobPart:
			job, abandoned, err := s.parts.Part(k.JobPart)
			var all []*imagerv1.Job
			if abandoned != nil {
				all = append(all, abandoned)
			}
			s.assemble(job, all, err)
		case *imagerv1.OrchestratorMessage_Done:
			if s.done != nil {
				continue
			}
			s.done = k.Done
			if s.done == nil {
				s.done = &imagerv1.Done{}
			}
			s.e.log.Debug("orchestrator says the test is over; reporting the jobs in flight",
				"passed", s.done.GetPassed(), "reason", s.done.GetReason())
			s.finish()
		case *imagerv1.OrchestratorMessage_Welcome:
			s.e.log.Debug("ignoring repeated Welcome from orchestrator")
		default:
			s.e.log.Debug("ignoring unknown message from orchestrator", "kind", fmt.Sprintf("%T", k))
		}
	}
}

// assemble starts a job that is complete and refuses one abandoned
// incomplete: its requests count as lost. A part out of place is logged
// and dropped; the job it belongs to is abandoned when the next one comes.
func (s *session) assemble(complete *imagerv1.Job, abandoned []*imagerv1.Job, err error) {
	if err != nil {
		s.e.log.Warn("malformed job from orchestrator", "err", err)
	}
	for _, j := range abandoned {
		s.launch.refuse(j.GetJobId(), j.GetRound(), j.GetCount(), err, s.report)
	}
	if complete != nil {
		s.start(complete)
	}
}

// start is where a complete Job received from the orchestrator enters the
// executor: it converts the job for the engine and has the launcher run it
// in its own goroutine, whose report goes to the sender. A job out of
// bounds is not run: its report counts its requests as lost. Jobs of
// consecutive rounds overlap, sharing the runner's connection budget.
func (s *session) start(job *imagerv1.Job) {
	if err := validateWireJob(job); err != nil {
		s.e.log.Warn("job refused: out of bounds; its requests count as lost",
			"job_id", job.GetJobId(), "round", job.GetRound(), "target", RedactAddress(job.GetTargetUrl()), "err", err)
		s.launch.refuse(job.GetJobId(), job.GetRound(), job.GetCount(), err, s.report)
		return
	}
	s.launch.launch(s.jobCtx, wire.JobToTally(job), s.report)
}

// newLauncher returns a launcher for one session's jobs.
func (e *Executor) newLauncher() *launcher {
	var m JobMetrics
	if e.cfg.Metrics != nil {
		m = e.cfg.Metrics
	}
	return newLauncher(e.runner, m, e.log)
}

// report hands a job's report to the sender, unless the orchestrator has
// written this executor's jobs off.
func (s *session) report(rep *tally.Report) {
	out, err := wire.ReportFromTally(rep)
	if err != nil {
		s.e.log.Error("cannot encode job report", "job_id", rep.JobID, "err", err)
		out = failedReport(rep, err)
	}
	msg := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: out}}
	select {
	case s.out <- msg:
	case <-s.ctx.Done():
	}
}

// failedReport stands in for a report that could not be encoded: the
// counts are known but without histograms the orchestrator cannot merge
// them, so every planned request is declared lost.
func failedReport(rep *tally.Report, err error) *imagerv1.Report {
	return &imagerv1.Report{
		JobId:   rep.JobID,
		Round:   rep.Round,
		Planned: rep.Planned,
		Lost:    rep.Planned,
		Error:   fmt.Sprintf("encode report: %v", err),
	}
}

// send is the only caller of stream.Send once the session is welcomed: it
// sends a heartbeat every interval and every report handed to it, until
// the session ends or a send fails.
func (s *session) send(interval time.Duration) {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		var msg *imagerv1.ExecutorMessage
		select {
		case <-s.ctx.Done():
			return
		case <-s.closeSend:
			// Every report is sent: tell the orchestrator we are done.
			// Errors do not matter; the stream is ending either way.
			_ = s.stream.CloseSend()
			return
		case msg = <-s.out:
		case <-tick.C:
			n := s.e.runner.InFlight()
			if m := s.e.cfg.Metrics; m != nil {
				m.SetInFlight(n)
			}
			msg = &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{Inflight: n}}}
		}
		if err := s.stream.Send(msg); err != nil {
			// io.EOF: the stream is gone and Recv reports why. Anything
			// else ends the session from here.
			if !errors.Is(err, io.EOF) {
				s.cancel(fmt.Errorf("send to orchestrator: %w", err))
			}
			return
		}
	}
}
