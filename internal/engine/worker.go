package engine

import (
	"sync/atomic"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// flushEvery is how many samples a worker buffers before it records them
// into its job's report under the job's lock. A histogram per worker would
// cost about 190 KB each (1µs to 1 hour at 3 significant figures), times
// two, times up to hundreds of connections; a buffer of samples costs a
// few kilobytes and one lock per flushEvery requests.
const flushEvery = 256

// entry is one buffered sample: what the report records beyond counts.
type entry struct {
	lat, svc time.Duration
	status   int32
	req      int32 // index of the request in the job's pool
	outcome  tally.Outcome
}

// worker sends a job's requests over one connection. It is run by one
// goroutine; only busy and slot are read by others, atomically.
type worker struct {
	j *jobRun
	// busy is 1 while a request is in flight (for Runner.InFlight).
	busy atomic.Int32
	_    [60]byte // keep busy off the neighbours' cache lines
	slot atomic.Pointer[slot]

	counts tally.Counts
	errs   tally.Breakdown
	// checks counts each response check's passes and failures, indexed
	// as the job's jobChecks names them.
	checks    []tally.CheckCount
	first     time.Time
	last      time.Time
	unplanned int64 // indices taken but never due before the job stopped
	dials     int64
	dialErrs  int64
	dropped   tally.Sample
	target    targetTimes // what sizes the next jobs (see targetTimes)
	published timeSum     // the part of target.onTime in the job's live sums
	// recent is a moving average of the target times of the worker's
	// requests to an http target.
	recent  time.Duration
	timer   *preciseTimer
	noTimer bool
	long    *time.Timer // for waits longer than maxNap, made on first use
	sleeps  int64       // sleeps taken before due times (for tests)
}

// run takes a connection of the budget and sends requests over it until
// the job has no more, then gives the connection back.
func (w *worker) run() {
	j := w.j
	s, ok := j.r.acquire(j)
	if !ok {
		return
	}
	s.bind(j)
	w.slot.Store(s)
	d0, e0 := s.dials.Load(), s.dialErrs.Load()
	defer func() {
		w.flush(s)
		w.dials, w.dialErrs = s.dials.Load()-d0, s.dialErrs.Load()-e0
		w.slot.Store(nil)
		if w.timer != nil {
			w.timer.close()
		}
		s.unbind()
		j.r.release(s)
	}()
	w.warm(s)
	w.loop(s)
}

// warm opens s's connection to an http target when it has none, if the
// job has not started yet (its workers start Runner.lead ahead), so that
// the first requests do not wait for a TCP handshake: as with wrk, the
// connections are set up before the test's clock runs for them. See
// slot.openAhead for how such a dial is counted.
func (w *worker) warm(s *slot) {
	now := time.Now()
	if s.isTLS || !now.Before(w.j.start) {
		return
	}
	s.openAhead(now, now.Add(w.j.timeout))
}

// loop takes the job's requests in due order, one at a time: it sleeps
// until the request is to be sent (jobRun.sendAt), drops it when the
// job's backlog is past its bound, and sends it otherwise. A request
// taken late (every worker was busy) goes out at once; its latency counts
// from its due time.
func (w *worker) loop(s *slot) {
	j := w.j
	w.dropped.Outcome = tally.Dropped
	var smp tally.Sample
	for {
		i := int(j.next.Add(1) - 1)
		if i >= j.n {
			j.closeDone()
			return
		}
		if j.stopped.Load() {
			w.unplanned++
			return
		}
		due := j.due(i)
		// Checked again after the sleep: a stop may have come while this
		// worker was between taking a connection and publishing it, where
		// the stop could not cut it.
		if !w.sleepUntil(j.sendAt(due)) || j.stopped.Load() {
			w.unplanned++
			return
		}
		now := time.Now()
		if now.Sub(due) > growLag && j.canGrow() && w.targetBound() {
			j.grow(now)
		}
		if j.dueBy(now)-i > j.bound() {
			w.drop(s, i)
			continue
		}
		w.send(s, i, due, now, &smp)
	}
}

// sleepUntil sleeps until at; it reports false when the job stopped
// first. A wait of up to maxNap is a nap, after which the worker looks
// for a stop without a channel operation; a longer one (a request taken
// far ahead) is one timer raced against the job's halt. Runtime timers wake up to a millisecond late when
// the process is idle (never when it is busy), which would show in latency
// at low rates, so a worker of a low-rate job (see preciseStep) sleeps on
// its preciseTimer: one wake-up per nap, with no runtime timer before it. (nanosleep(2) is not used: its thread
// holds a P, and a worker per connection in it stalled response handling
// by tens of milliseconds.)
func (w *worker) sleepUntil(at time.Time) bool {
	j := w.j
	for {
		wait := time.Until(at)
		if wait <= 0 {
			return true
		}
		if j.stopped.Load() {
			return false
		}
		if wait > maxNap {
			// Taken far ahead (a job with many connections for its
			// rate): one wait, cut short by a stop, rather than a nap
			// every maxNap; a precise job sleeps its last maxNap
			// precisely.
			if j.precise {
				wait -= maxNap
			}
			w.sleeps++
			if !w.waitLong(wait) {
				return false
			}
			continue
		}
		w.sleeps++
		if j.precise && w.preciseTimer() != nil {
			w.timer.sleep(min(wait, maxNap))
		} else {
			time.Sleep(min(wait, maxNap))
		}
	}
}

// waitLong waits for d or until the job stops; it reports false when the
// job stopped.
func (w *worker) waitLong(d time.Duration) bool {
	if w.long == nil {
		w.long = time.NewTimer(d)
	} else {
		w.long.Reset(d)
	}
	select {
	case <-w.long.C:
		return true
	case <-w.j.halted:
		w.long.Stop()
		return false
	}
}

// preciseTimer returns the worker's precise timer, created on first use;
// nil when the system has none.
func (w *worker) preciseTimer() *preciseTimer {
	if w.timer == nil && !w.noTimer {
		w.timer = newPreciseTimer()
		w.noTimer = w.timer == nil
	}
	return w.timer
}

// send sends request i, due at due, now, and records its outcome.
func (w *worker) send(s *slot, i int, due, now time.Time, smp *tally.Sample) {
	j := w.j
	p, k := j.request(i)
	w.busy.Store(1)
	s.send(p, now.Add(j.timeout), smp)
	w.busy.Store(0)
	w.counts.Sent++
	late := now.Sub(due) > batchWindow
	if w.first.IsZero() {
		w.first = now
	}
	w.last = now
	// From the due time, or from the send of a request sent early in its
	// window (jobRun.sendAt).
	from := due
	if now.Before(due) {
		from = now
	}
	smp.Latency = now.Add(smp.Service).Sub(from)
	if p.checks != nil {
		w.judge(s, p.checks, smp)
	}
	// A failure once the job's context ended is an aborted request; a
	// complete response that failed its checks is not.
	if smp.Outcome != tally.Success && smp.Outcome != tally.CheckFailed && j.cut() {
		smp.Outcome = tally.Lost
	}
	w.counts.Count(smp.Outcome)
	if smp.Outcome != tally.Lost {
		if !s.isTLS {
			w.target.add(s.answered, late)
			w.publish()
			w.recent += (s.answered - w.recent) / recentWeight
		}
		w.counts.ResponseBytes += int64(smp.Bytes)
		if smp.Err != nil {
			w.errs.AddError(j.reason(smp), 1)
		}
	}
	if smp.Outcome != tally.Lost || p.name != "" {
		w.buffer(s, entry{lat: smp.Latency, svc: smp.Service, status: int32(smp.Status), req: k, outcome: smp.Outcome})
	}
	if obs := j.r.observer; obs != nil {
		obs.ObserveRequest(smp)
	}
}

// publish adds the target times of the requests the worker sent on time
// since it last published to its job's live sums, once there are
// livePublish of them.
func (w *worker) publish() {
	n := w.target.onTime.n - w.published.n
	if n < livePublish {
		return
	}
	w.j.liveSum.Add(int64(w.target.onTime.sum - w.published.sum))
	w.j.liveN.Add(n)
	w.published = w.target.onTime
}

// drop counts request i as dropped.
func (w *worker) drop(s *slot, i int) {
	j := w.j
	w.counts.Dropped++
	if p, k := j.request(i); p.name != "" {
		w.buffer(s, entry{req: k, outcome: tally.Dropped})
	}
	if obs := j.r.observer; obs != nil {
		obs.ObserveRequest(&w.dropped)
	}
}

// buffer adds e to the slot's sample buffer, flushing it when full.
func (w *worker) buffer(s *slot, e entry) {
	s.buf = append(s.buf, e)
	if len(s.buf) == cap(s.buf) {
		w.flush(s)
	}
}

// flush records the buffered samples into the job's report.
func (w *worker) flush(s *slot) {
	if len(s.buf) == 0 {
		return
	}
	j := w.j
	j.mu.Lock()
	rep := j.report
	for _, e := range s.buf {
		sent := e.outcome != tally.Dropped
		measured := sent && e.outcome != tally.Lost
		if measured {
			tally.Record(rep.Latency, e.lat)
			tally.Record(rep.Service, e.svc)
			rep.AddStatus(int(e.status), 1)
		}
		if name := j.reqs[e.req].name; name != "" {
			nr := rep.Name(name)
			nr.Count(e.outcome)
			if sent {
				nr.Sent++
			}
			if measured {
				tally.Record(nr.Latency, e.lat)
			}
		}
	}
	j.mu.Unlock()
	s.buf = s.buf[:0]
}

// reason describes why s failed for the report's error list: the
// transport error, with the timeout spelled out for a timeout.
func (j *jobRun) reason(s *tally.Sample) string {
	if s.Outcome == tally.Timeout {
		return j.timeoutReason
	}
	return s.Err.Error()
}
