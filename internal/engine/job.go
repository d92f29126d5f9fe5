package engine

import (
	"context"
	"fmt"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
)

// jobRun is the state of one job while it runs: what its workers share.
// Workers write only next, stopped (through stop), the live sums
// (publish), the workers and what tracks them (grow, under wmu) and,
// through flush, the report under mu; everything else is set before they
// start.
type jobRun struct {
	r       *Runner
	ctx     context.Context
	client  *Client
	addr    string
	isTLS   bool
	reqs    []prepared
	checks  *jobChecks
	order   []uint32
	timeout time.Duration
	// timeoutReason is the failure reason of a timed-out request, made
	// once per job rather than once per timeout.
	timeoutReason string
	start         time.Time
	step          float64 // nanoseconds between due times
	n             int
	span          time.Duration // the job's duration
	precise       bool          // workers sleep the last stretch precisely
	// window is the width of the job's send windows (batchWindow), or 0
	// when each request is sent at its due time.
	window time.Duration
	// workers send the job, one per connection: staffed of them at the
	// start, more (up to most) when the job runs behind (see grow). Once
	// they run, workers is appended to only by grow, under wmu, and read
	// by others under wmu; wg counts their goroutines.
	workers       []*worker
	staffed, most int
	wmu           sync.Mutex
	wg            *sync.WaitGroup
	count         atomic.Int32 // len(workers)
	lastGrow      atomic.Int64 // when workers were last added, in Unix nanoseconds

	// liveSum and liveN sum the target times of the requests sent on
	// time so far, as the workers publish them (worker.publish), for
	// Runner.sizingLatency.
	liveSum, liveN atomic.Int64

	next    atomic.Int64 // the next request index to take
	stopped atomic.Bool
	done    chan struct{} // closed when stopped or every index is taken
	once    sync.Once
	halted  chan struct{} // closed when stopped
	halt    sync.Once

	mu     sync.Mutex
	report *tally.Report
}

// newJobRun checks job and prepares its run; execute gives it its workers
// (staff) when it starts.
func (r *Runner) newJobRun(ctx context.Context, job tally.Job, rep *tally.Report) (*jobRun, error) {
	if job.Invalid != nil {
		return nil, job.Invalid
	}
	reqs, err := prepare(job.TargetURL, job.Requests)
	var checks *jobChecks
	if err == nil {
		checks, err = compileChecks(job.Requests, reqs)
	}
	if err == nil {
		err = checkOrder(job.Order, len(reqs))
	}
	var client *Client
	if err == nil {
		client, err = r.clientFor(job.TLS)
	}
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(job.TargetURL)
	if err != nil { // prepare parsed it already
		return nil, err
	}
	isTLS := u.Scheme == "https"
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = tally.DefaultTimeout
	}
	addr := fasthttp.AddMissingPort(u.Host, isTLS)
	j := &jobRun{
		r: r, ctx: ctx, client: client, addr: addr, isTLS: isTLS,
		reqs: reqs, checks: checks, order: job.Order, timeout: timeout, start: job.StartAt,
		timeoutReason: fmt.Sprintf("timeout: no response headers within %v", timeout),
		step:          float64(job.Duration) / float64(job.Count), n: job.Count, span: job.Duration,
		done: make(chan struct{}), halted: make(chan struct{}), report: rep,
	}
	j.precise = j.step >= float64(preciseStep)
	if j.step < float64(batchWindow) {
		j.window = batchWindow
	}
	return j, nil
}

// staff gives j its workers, one per connection: the configured count, or
// one sized by what the Runner knows of j's target now (sizingLatency),
// within the budget, MaxInFlight and j's requests; an automatic count to
// an http target may grow while j runs behind, up to rate ×
// AssumedLatency (see grow). It must not be called once j's workers run.
func (r *Runner) staff(j *jobRun) {
	w, most := r.connections, r.connections
	if w == 0 {
		w = autoConnections(j.n, j.span, r.sizingLatency(j.addr))
		most = w
		if !j.isTLS {
			most = autoConnections(j.n, j.span, AssumedLatency)
		}
	}
	limit := min(r.maxInFlight, cap(r.tokens), j.n)
	w, most = min(w, limit), min(max(w, most), limit)
	j.staffed, j.most = w, most
	j.count.Store(int32(w))
	j.workers = make([]*worker, w)
	for i := range j.workers {
		j.workers[i] = j.newWorker()
	}
}

// newWorker returns a worker for j.
func (j *jobRun) newWorker() *worker {
	return &worker{j: j, checks: make([]tally.CheckCount, len(j.checks.names))}
}

// bound returns the most requests due but not started that a worker
// leaves queued: MaxInFlight less the other workers' requests, with the
// workers j has now.
func (j *jobRun) bound() int {
	return j.r.maxInFlight - (int(j.count.Load()) - 1)
}

// due returns the due time of request i.
func (j *jobRun) due(i int) time.Time {
	return j.start.Add(time.Duration(j.step * float64(i)))
}

// sendAt returns when a request due at due is sent: the start of its send
// window when the job has windows, its due time otherwise.
func (j *jobRun) sendAt(due time.Time) time.Time {
	if j.window <= 0 {
		return due
	}
	off := due.Sub(j.start)
	return due.Add(-(off % j.window))
}

// clocked reports whether j's window starts are kept by tick.
func (j *jobRun) clocked() bool {
	return j.window > 0 && j.step*clockedWindow <= float64(j.window)
}

// tick wakes the process at the start of each of j's send windows, with a
// preciseTimer, until the last window has started or j stops (seen within
// a window, or maxNap before the start): the runtime then fires at once
// the timers of the workers waiting for that window.
// It returns at once when the system has no precise timer.
func (j *jobRun) tick() {
	t := newPreciseTimer()
	if t == nil {
		return
	}
	defer t.close()
	j.tickOn(t)
}

// tickOn is tick on the timer t.
func (j *jobRun) tickOn(t *preciseTimer) {
	last := j.sendAt(j.due(j.n - 1))
	for !j.stopped.Load() {
		// The next window start: the job's start, or the end of the
		// window now falls in.
		now := time.Now()
		next := j.start
		if !now.Before(j.start) {
			next = j.sendAt(now).Add(j.window)
		}
		if next.After(last) {
			return
		}
		// At most maxNap at a time, so that a stop before the start is
		// seen.
		t.sleep(min(next.Sub(now), maxNap))
	}
}

// dueBy returns how many requests are due at now.
func (j *jobRun) dueBy(now time.Time) int {
	since := now.Sub(j.start)
	if since < 0 {
		return 0
	}
	if j.step <= 0 {
		return j.n
	}
	k := float64(since)/j.step + 1
	if k >= float64(j.n) {
		return j.n
	}
	return int(k)
}

// request returns request i of the job and its index in the pool: the
// pool entry its order names, or the requests cycled when the job has no
// order.
func (j *jobRun) request(i int) (*prepared, int32) {
	k := i % len(j.reqs)
	if len(j.order) > 0 {
		k = int(j.order[i%len(j.order)])
	}
	return &j.reqs[k], int32(k)
}

// closeDone closes done once.
func (j *jobRun) closeDone() { j.once.Do(func() { close(j.done) }) }

// stop ends the job when its context ends: workers take no more requests
// and the job's connections are closed, cutting off requests in flight.
func (j *jobRun) stop() {
	j.stopped.Store(true)
	j.closeDone()
	j.halt.Do(func() { close(j.halted) })
	j.wmu.Lock()
	defer j.wmu.Unlock()
	for _, w := range j.workers {
		if s := w.slot.Load(); s != nil {
			s.cut(j)
		}
	}
}

// finish folds the workers' tallies into rep once every worker returned,
// and returns the target times of its requests (none to an https target).
func (j *jobRun) finish(rep *tally.Report) targetTimes {
	var tt targetTimes
	taken := min(int(j.next.Load()), j.n)
	rep.Planned = int64(taken)
	var drops int64
	for _, w := range j.workers {
		rep.Planned -= w.unplanned
		rep.Counts.Add(w.counts)
		rep.Breakdown.Merge(&w.errs)
		j.checks.merge(&rep.Breakdown, w.checks)
		rep.Dials += w.dials
		rep.DialErrors += w.dialErrs
		drops += w.counts.Dropped
		tt.merge(w.target)
		if !w.first.IsZero() && (rep.FirstSend.IsZero() || w.first.Before(rep.FirstSend)) {
			rep.FirstSend = w.first
		}
		if w.last.After(rep.LastSend) {
			rep.LastSend = w.last
		}
	}
	rep.AddError(fmt.Sprintf("dropped: in-flight cap of %d reached", j.r.maxInFlight), drops)
	for _, nr := range rep.Names {
		// A named request is planned when it fell due; each ended in
		// exactly one outcome.
		nr.Planned = nr.Accounted()
	}
	return tt
}
