package executor

import "time"

// finish makes the session start no more jobs and, once the jobs in flight
// have handed over their reports, has the sender half-close the stream.
// Only its first call does anything.
func (s *session) finish() {
	if !s.launch.stop() {
		return
	}
	// No job starts after this, so wait cannot race a new one.
	s.closer.Go(func() {
		s.launch.wait()
		close(s.closeSend)
	})
}

// shutdown runs once the executor's context ends mid-session: jobs stop
// sending, requests in flight are cut off by closing the connections to
// the target (again every connectionSweep), and the sender reports what
// the jobs measured and half-closes the stream. The stream ends when the
// orchestrator closes it or after the shutdown grace, whichever is first.
func (s *session) shutdown() {
	defer close(s.shutdownDone)
	s.jobCancel()
	s.finish()
	grace := time.NewTimer(s.e.shutdownGrace)
	defer grace.Stop()
	sweep := time.NewTicker(connectionSweep)
	defer sweep.Stop()
	for {
		s.e.runner.CloseConnections()
		select {
		case <-s.ctx.Done():
			return
		case <-grace.C:
			s.cancel(errShutdownGrace)
			return
		case <-sweep.C:
		}
	}
}

// drain waits for the session's jobs after it was cancelled. Their pacers
// stop at once; requests in flight are cut off by closing the connections
// to the target, repeatedly, in case a request was dispatched just as the
// session ended.
func (s *session) drain() {
	done := make(chan struct{})
	go func() {
		s.launch.wait()
		close(done)
	}()
	sweep := time.NewTicker(connectionSweep)
	defer sweep.Stop()
	for {
		s.e.runner.CloseConnections()
		select {
		case <-done:
			if m := s.e.cfg.Metrics; m != nil {
				m.SetInFlight(s.e.runner.InFlight())
			}
			return
		case <-sweep.C:
		}
	}
}
