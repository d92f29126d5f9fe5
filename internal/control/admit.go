package control

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Bounds on the identity an executor gives in its Hello.
const (
	maxIDBytes       = 253 // a DNS name, as a pod name is
	maxInstanceBytes = 128
)

// checkHello returns why a first message is not an acceptable Hello, or
// nil.
func checkHello(first *imagerv1.ExecutorMessage) error {
	hello := first.GetHello()
	switch {
	case hello == nil || hello.GetExecutorId() == "":
		return errors.New("first message must be a Hello with an executor_id")
	case len(hello.GetExecutorId()) > maxIDBytes:
		return fmt.Errorf("executor_id is %d bytes long, more than %d", len(hello.GetExecutorId()), maxIDBytes)
	case len(hello.GetInstance()) > maxInstanceBytes:
		return fmt.Errorf("instance is %d bytes long, more than %d", len(hello.GetInstance()), maxInstanceBytes)
	}
	return nil
}

// claims is what an executor's Hello says it can take, within bounds.
type claims struct {
	capacity    int
	maxInFlight int // 0 when the executor did not say
}

// claims bounds what hello claims to MaxCapacity and MaxInFlight, warning
// of every clamped value, and warns of a version other than the
// orchestrator's (which is not refused).
func (s *Server) claims(hello *imagerv1.Hello, remote string) claims {
	id := hello.GetExecutorId()
	c := claims{capacity: int(hello.GetCapacity()), maxInFlight: int(hello.GetMaxInflight())}
	if c.capacity < 1 || c.capacity > MaxCapacity {
		clamped := min(max(c.capacity, 1), MaxCapacity)
		s.log.Warn("executor's capacity claim out of bounds; clamped", "executor", id, "remote", remote,
			"claimed", c.capacity, "capacity", clamped, "bounds", "1.."+strconv.Itoa(MaxCapacity))
		c.capacity = clamped
	}
	if c.maxInFlight < 0 || c.maxInFlight > MaxInFlight {
		clamped := min(max(c.maxInFlight, 1), MaxInFlight)
		s.log.Warn("executor's max_inflight claim out of bounds; clamped", "executor", id, "remote", remote,
			"claimed", c.maxInFlight, "max_inflight", clamped, "bounds", "1.."+strconv.Itoa(MaxInFlight))
		c.maxInFlight = clamped
	}
	if v := hello.GetVersion(); v != s.cfg.Version && v != "" && s.cfg.Version != "" {
		s.log.Warn("executor runs another version than the orchestrator; carrying on", "executor", id, "remote", remote,
			"executor_version", v, "orchestrator_version", s.cfg.Version)
	}
	return c
}

// staleAfter is how long a session may stay silent and still hold its
// executor id against a new stream from another process: three heartbeat
// intervals, at most the executor timeout.
func (s *Server) staleAfter() time.Duration {
	return min(3*s.cfg.HeartbeatInterval, s.cfg.ExecutorTimeout)
}

// admit registers sess under its executor id. A live session holding the
// id is replaced when sess comes from the same executor process (the same
// non-empty instance: it reconnected after its stream broke) or when it
// has been silent for staleAfter; otherwise sess is refused with
// AlreadyExists. Every executor is turned away once Finish was called.
func (s *Server) admit(sess *session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done != nil {
		s.log.Debug("executor turned away: the test is over", "executor", sess.id, "remote", sess.remote)
		return status.Error(codes.Unavailable, "the test is over; the orchestrator is shutting down")
	}
	if old := s.sessions[sess.id]; old != nil {
		switch silent := old.silentFor(); {
		case sess.instance != "" && sess.instance == old.instance:
			s.log.Info("executor reconnected; its previous stream is closed", "executor", sess.id,
				"remote", sess.remote, "previous_remote", old.remote)
		case silent >= s.staleAfter():
			s.log.Warn("executor id taken over from a silent stream", "executor", sess.id, "remote", sess.remote,
				"previous_remote", old.remote, "silent", silent.Round(time.Millisecond))
		default:
			s.log.Warn("executor rejected: its id is held by a live executor (give each executor its own id)",
				"executor", sess.id, "remote", sess.remote, "holder", old.remote)
			return status.Errorf(codes.AlreadyExists,
				"executor id %q is already connected from %s; give each executor its own id", sess.id, old.remote)
		}
		close(old.replaced)
	}
	s.sessions[sess.id] = sess
	return nil
}

// unregister removes sess from the open sessions unless a new stream has
// taken its id over.
func (s *Server) unregister(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.sessions[sess.id] == sess {
		delete(s.sessions, sess.id)
	}
}
