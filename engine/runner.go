package engine

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// preciseWindow is the last stretch before a due time that the pacer
// sleeps with sleepPrecise rather than a runtime timer, whose wake-ups run
// up to a millisecond late.
const preciseWindow = 2 * time.Millisecond

// DefaultMaxInFlight is the in-flight cap used when a Runner is given none.
const DefaultMaxInFlight = 10000

// cancelCheck is how many requests the pacer dispatches (or drops) in one
// burst between checks of its context, so that a job cancelled amid a
// large backlog stops within microseconds rather than after the backlog.
const cancelCheck = 1024

// Job is one executor's share of one round: Count requests spread evenly
// over [StartAt, StartAt+Duration).
type Job struct {
	ID    string
	Round int64
	// TargetURL is the absolute base URL request paths are joined to.
	TargetURL string
	// StartAt is the wall-clock time the first request is due.
	StartAt time.Time
	// Duration is the length of the job: request i is due at
	// StartAt + i*Duration/Count.
	Duration time.Duration
	// Count is the number of requests to send.
	Count int
	// Timeout is the per-request timeout; zero means DefaultTimeout.
	Timeout time.Duration
	// Requests are used in order and cycled when fewer than Count, unless
	// Order is set.
	Requests []Request
	// Order, when set, makes request i Requests[Order[i%len(Order)]], so
	// that Requests can be a pool of distinct requests (see Pool). Every
	// entry must be less than len(Requests).
	Order []uint32
	// TLS configures connections to an https target; nil means the
	// system roots, verified.
	TLS *TLSConfig
}

// TLSConfig is how the engine connects to an https target.
type TLSConfig struct {
	// InsecureSkipVerify accepts any certificate the target presents.
	InsecureSkipVerify bool
	// CAPEM holds the PEM certificates of the authorities that sign the
	// target's certificate; empty means the system roots.
	CAPEM []byte
	// ClientCertPEM and ClientKeyPEM are the PEM certificate and key the
	// client presents to the target; both or neither.
	ClientCertPEM, ClientKeyPEM []byte
}

// RunnerConfig tunes a Runner.
type RunnerConfig struct {
	// MaxInFlight caps the requests in flight across all jobs the Runner
	// runs at once. A request due while the cap is reached is dropped and
	// counted, never delayed. Zero means DefaultMaxInFlight.
	MaxInFlight int
	// Observer, if set, sees every finished, dropped or aborted request.
	Observer Observer
	// Client sends the requests of jobs without a TLS configuration; nil
	// means a new Client sized for MaxInFlight. Jobs that carry one are
	// sent with a Client the Runner builds for it (see Job.TLS).
	Client *Client
}

// Runner executes jobs open-loop. One Runner may run several jobs at once
// (consecutive rounds overlap while the previous round's last responses
// are still arriving); they share its in-flight cap and connections.
//
// Jobs with the same TLS configuration (by content) share one Client,
// created the first time such a job runs; all Clients share the in-flight
// cap.
type Runner struct {
	client      *Client
	tls         tlsClients
	observer    Observer
	maxInFlight int64
	inflight    atomic.Int64
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(ClientConfig{MaxConnsPerHost: cfg.MaxInFlight})
	}
	return &Runner{client: cfg.Client, tls: tlsClients{maxConn: cfg.MaxInFlight}, observer: cfg.Observer, maxInFlight: int64(cfg.MaxInFlight)}
}

// Client returns the Client the Runner sends jobs without a TLS
// configuration with. Runner.CloseConnections covers it and every Client
// built for a TLS configuration.
func (r *Runner) Client() *Client { return r.client }

// InFlight returns the number of requests in flight now.
func (r *Runner) InFlight() int64 { return r.inflight.Load() }

// work is one request handed from the pacer to a worker.
type work struct {
	idx int
	due time.Time
}

// jobRun is the state of one job while it runs.
type jobRun struct {
	r       *Runner
	client  *Client
	ctx     context.Context
	reqs    []prepared
	order   []uint32
	timeout time.Duration
	work    chan work
	wg      sync.WaitGroup

	mu     sync.Mutex
	report *Report
}

// Run sends the job's requests at their planned times and returns its
// report once every sent request has finished. Request i is due at
// StartAt + i*Duration/Count; latency is measured from that due time, so a
// slow target cannot hide its delay by slowing the schedule.
//
// When ctx ends, requests not yet due are not sent and leave the plan: the
// report's Planned counts only the requests that fell due. Requests that
// fail after cancellation count as lost. Run still waits for requests in
// flight (Runner.CloseConnections cuts them short).
//
// A job that cannot run (a bad target URL, no requests, a TLS
// configuration that does not parse) sends nothing: its report carries
// the reason in Err and every request as lost.
func (r *Runner) Run(ctx context.Context, job Job) *Report {
	rep := NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	if job.Count <= 0 {
		return rep
	}
	reqs, err := prepare(job.TargetURL, job.Requests)
	if err == nil {
		err = checkOrder(job.Order, len(reqs))
	}
	var client *Client
	if err == nil {
		client, err = r.clientFor(job.TLS)
	}
	if err != nil {
		rep.Err = err.Error()
		rep.Lost = rep.Planned
		rep.AddError("job not run: "+rep.Err, rep.Planned)
		return rep
	}
	timeout := job.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	j := &jobRun{r: r, client: client, ctx: ctx, reqs: reqs, order: job.Order, timeout: timeout, work: make(chan work), report: rep}
	local := j.pace(job)
	close(j.work)
	j.wg.Wait()

	rep.Counts.Add(local.Counts)
	rep.Breakdown.Merge(&local.Breakdown)
	for _, nr := range rep.Names {
		// A named request is planned when it fell due; each ended in
		// exactly one outcome.
		nr.Planned = nr.Accounted()
	}
	rep.FirstSend, rep.LastSend = local.FirstSend, local.LastSend
	return rep
}

// pace dispatches the job's requests at their due times and returns the
// pacer's own tallies (sent, dropped, never sent).
func (j *jobRun) pace(job Job) (local Report) {
	n := job.Count
	step := float64(job.Duration) / float64(n)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	var dropped Sample
	dropped.Outcome = Dropped
	// Dropped requests share one reason, counted here and added once.
	var dropReasons int64
	defer func() {
		local.AddError(fmt.Sprintf("dropped: in-flight cap of %d reached", j.r.maxInFlight), dropReasons)
	}()
	done := j.ctx.Done()

	i := 0
	for i < n {
		due := job.StartAt.Add(time.Duration(step * float64(i)))
		now := time.Now()
		if wait := due.Sub(now); wait > 0 {
			if wait <= preciseWindow {
				sleepPrecise(wait)
				continue
			}
			timer.Reset(wait - preciseWindow)
			select {
			case <-done:
				local.Planned -= int64(n - i)
				return local
			case <-timer.C:
			}
			continue
		}
		select {
		case <-done:
			local.Planned -= int64(n - i)
			return local
		default:
		}
		// Everything due by now goes out now; the schedule never waits
		// for the target. A long backlog (a late or very fast job) is
		// cut short by ctx every cancelCheck requests.
		for ; i < n; i++ {
			due = job.StartAt.Add(time.Duration(step * float64(i)))
			if due.After(now) {
				break
			}
			if i%cancelCheck == 0 && j.ctx.Err() != nil {
				local.Planned -= int64(n - i)
				return local
			}
			if j.r.inflight.Add(1) > j.r.maxInFlight {
				j.r.inflight.Add(-1)
				local.Dropped++
				if p := j.request(i); p.name != "" {
					local.Name(p.name).Dropped++
				}
				dropReasons++
				if j.r.observer != nil {
					j.r.observer.ObserveRequest(&dropped)
				}
				continue
			}
			local.Sent++
			if local.FirstSend.IsZero() {
				local.FirstSend = now
			}
			local.LastSend = now
			w := work{idx: i, due: due}
			select {
			case j.work <- w:
			default:
				j.wg.Add(1)
				go j.worker(w)
			}
		}
	}
	return local
}

// worker sends w, then keeps taking work until the pacer closes the
// channel.
func (j *jobRun) worker(w work) {
	defer j.wg.Done()
	var s Sample
	for {
		j.exec(w, &s)
		var ok bool
		if w, ok = <-j.work; !ok {
			return
		}
	}
}

// request returns request i of the job: the pool entry its order names,
// or the requests cycled when the job has no order.
func (j *jobRun) request(i int) *prepared {
	if len(j.order) > 0 {
		return &j.reqs[j.order[i%len(j.order)]]
	}
	return &j.reqs[i%len(j.reqs)]
}

// checkOrder returns an error when an entry of order is not an index into
// a pool of n requests.
func checkOrder(order []uint32, n int) error {
	for i, k := range order {
		if int(k) >= n {
			return fmt.Errorf("order entry %d names request %d of %d", i, k, n)
		}
	}
	return nil
}

// exec sends one request and records its outcome.
func (j *jobRun) exec(w work, s *Sample) {
	p := j.request(w.idx)
	sendAt := time.Now()
	j.client.send(p, sendAt.Add(j.timeout), s)
	j.r.inflight.Add(-1)
	s.Latency = sendAt.Add(s.Service).Sub(w.due)
	if s.Outcome != Success && j.ctx.Err() != nil {
		s.Outcome = Lost
	}

	// The reason is built before the lock, which every worker shares.
	var reason string
	if s.Err != nil && s.Outcome != Lost {
		reason = cleanReason(j.reason(s))
	}
	j.mu.Lock()
	rep := j.report
	rep.count(s.Outcome)
	if s.Outcome != Lost {
		record(rep.Latency, s.Latency)
		record(rep.Service, s.Service)
		rep.ResponseBytes += int64(s.Bytes)
		rep.AddStatus(s.Status, 1)
		if reason != "" {
			rep.addReason(reason, 1)
		}
	}
	if p.name != "" {
		nr := rep.Name(p.name)
		nr.count(s.Outcome)
		nr.Sent++
		if s.Outcome != Lost {
			record(nr.Latency, s.Latency)
		}
	}
	j.mu.Unlock()
	if j.r.observer != nil {
		j.r.observer.ObserveRequest(s)
	}
}

// reason describes why s failed for the report's error list: the
// transport error, with the timeout spelled out for a timeout.
func (j *jobRun) reason(s *Sample) string {
	if s.Outcome == Timeout {
		return fmt.Sprintf("timeout: no response headers within %v", j.timeout)
	}
	return s.Err.Error()
}
