package control

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// serve pumps jobs out and reports in until the stream ends, the executor
// goes silent, is replaced or disconnected, or the server stops. Once
// Finish is called it sends Done instead of any further job and goes on
// receiving until the executor closes the stream. It returns why the
// session ended.
func (s *Server) serve(stream imagerv1.ControlPlane_ConnectServer, sess *session) (string, error) {
	msgs, recvErr := receive(stream)
	silence := time.NewTimer(s.cfg.ExecutorTimeout)
	defer silence.Stop()
	finish, jobs := sess.finish, sess.jobs
	refusals := 0
	for {
		var refusal string
		select {
		case <-s.stop:
			return "orchestrator stopping", nil
		case <-sess.replaced:
			return "replaced by a new stream with the same executor id", status.Error(codes.Aborted, "replaced by a newer stream with the same executor id")
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
			if err := sendJob(stream, job); err != nil {
				return fmt.Sprintf("send failed: %v", err), err
			}
		case refusal = <-sess.refused:
		case m := <-msgs:
			silence.Reset(s.cfg.ExecutorTimeout)
			sess.heard()
			refusal = s.handle(sess, m)
		}
		if refusal == "" {
			continue
		}
		if refusals++; refusals >= s.cfg.MaxRefusedReports {
			s.log.Warn("executor disconnected: too many refused reports", "executor", sess.id, "remote", sess.remote,
				"refused", refusals, "last", refusal)
			return fmt.Sprintf("disconnected after %d refused reports (last: %s)", refusals, refusal),
				status.Errorf(codes.PermissionDenied, "disconnected: %d of this executor's reports were refused as inconsistent (last: %s)", refusals, refusal)
		}
	}
}

// receive reads the stream's messages on a goroutine of its own, which
// ends with the stream.
func receive(stream imagerv1.ControlPlane_ConnectServer) (<-chan *imagerv1.ExecutorMessage, <-chan error) {
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
	return msgs, recvErr
}

// sendJob converts a job for the wire and sends it on the stream: a Job
// message and, when the job is large, the JobPart messages that complete
// it, one after another with nothing in between.
func sendJob(stream imagerv1.ControlPlane_ConnectServer, job tally.Job) error {
	for _, msg := range imagerv1.SplitJob(wire.JobFromTally(job), 0) {
		if err := stream.Send(msg); err != nil {
			return err
		}
	}
	return nil
}

// handle passes a report on to the fleet. It returns why the message is
// refused, or "": an unreadable report counts against the executor as a
// refused one does.
func (s *Server) handle(sess *session, m *imagerv1.ExecutorMessage) string {
	r := m.GetReport()
	if r == nil {
		return ""
	}
	rep, err := wire.ReportToTally(r)
	if err != nil {
		s.cfg.Metrics.ReportRefused()
		s.log.Warn("unreadable report; its requests will count as lost", "executor", sess.id, "job", r.GetJobId(), "error", err)
		return fmt.Sprintf("job %s: unreadable: %v", r.GetJobId(), err)
	}
	s.cfg.Fleet.Report(sess.id, rep)
	return ""
}

// session is one connected executor as the scheduler sees it.
type session struct {
	id       string
	instance string // Hello.instance; "" from executors that send none
	remote   string // the peer's address
	claims
	jobs chan tally.Job
	// refused carries why the scheduler refused a report (ReportRefused).
	refused chan string
	// finish is closed by Finish; replaced, when a new stream takes the
	// session's id over; closed, when the stream's handler ends.
	finish, replaced, closed chan struct{}
	// lastHeard is when the executor last sent anything, in Unix
	// nanoseconds.
	lastHeard atomic.Int64
}

var (
	_ manager.Executor        = (*session)(nil)
	_ manager.RefusalListener = (*session)(nil)
)

func newSession(id, instance, remote string, c claims) *session {
	s := &session{id: id, instance: instance, remote: remote, claims: c,
		jobs: make(chan tally.Job, 64), refused: make(chan string, 16),
		finish: make(chan struct{}), replaced: make(chan struct{}), closed: make(chan struct{})}
	s.heard()
	return s
}

// heard records that the executor just sent something.
func (s *session) heard() { s.lastHeard.Store(time.Now().UnixNano()) }

// silentFor returns how long ago the executor last sent anything.
func (s *session) silentFor() time.Duration {
	return time.Since(time.Unix(0, s.lastHeard.Load()))
}

// ID implements manager.Executor.
func (s *session) ID() string { return s.id }

// Capacity implements manager.Executor.
func (s *session) Capacity() int { return s.capacity }

// Dispatch implements manager.Executor: it queues the job for the stream.
func (s *session) Dispatch(job tally.Job) error {
	select {
	case <-s.closed:
		return errors.New("executor disconnected")
	default:
	}
	select {
	case s.jobs <- job:
		return nil
	case <-s.closed:
		return errors.New("executor disconnected")
	default:
		return errors.New("executor's job queue is full")
	}
}

// ReportRefused implements manager.RefusalListener: the refusal counts
// towards disconnecting the executor. It never blocks; refusals beyond
// the buffer are dropped, the executor being on its way out by then.
func (s *session) ReportRefused(jobID string, reason error) {
	select {
	case s.refused <- fmt.Sprintf("job %s: %v", jobID, reason):
	default:
	}
}
