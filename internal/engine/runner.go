package engine

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// preciseStep is the least spacing between a job's requests for which its
// workers sleep precisely. Above that rate (1,000 requests/s) workers sleep
// on runtime timers, which fire in batches at the poller's millisecond
// granularity when the process is idle: the requests due within the same
// millisecond go out on one wake-up (see batchWindow: they are sent from
// the start of their window, so this lag is offset by sending early), and
// the process wakes about a thousand times a second rather than once per
// request. A precise wake per request costs two wake-ups and
// three system calls, which at 5,000 requests/s tripled the CPU time per
// request (docs/BENCHMARKS.md).
const preciseStep = time.Millisecond

// batchWindow is the width of a job's send windows. When a job's requests
// are due closer together than that (above 1,000 requests/s, where its
// workers do not sleep precisely), each request is sent at the start of
// the window of the job's schedule its due time falls in, up to
// batchWindow early: the requests of a window go out back to back on one
// wake-up of the workers that hold them. Sent at their exact due times in
// a busy process, they went out one by one and each write woke the idle
// target again, which the sender pays for in its own system call: at
// 30,000 requests/s the windows (with the clock below) cut imager's CPU
// by 14% and the target's wake-ups by nine tenths, and at 5,000/s its CPU
// by 10% and p50 latency against a fast target by half (docs/BENCHMARKS.md,
// "Send windows"). The latency of a
// request sent early runs from its actual send, so no request reports
// less than its service time.
const batchWindow = time.Millisecond

// clockedWindow is the least number of requests per send window for which
// a job's window starts are kept by a precise timer (jobRun.tick), from
// 8,000 requests/s. The runtime, idle between two windows, wakes its
// workers up to a millisecond late (its poller waits in whole
// milliseconds), which at 30,000 requests/s put p50 latency against a fast
// target at 0.5-1 ms; with the clock it was 0.25-0.45 ms, for 8% more CPU.
// Slower jobs keep the runtime's timers: there a precise wake-up per
// window would cost more than the lag.
const clockedWindow = 8

// maxNap bounds one nap of a worker, so that it notices a cancelled job
// within maxNap without a channel operation per request; waits longer
// than that race a timer against the job's halt (worker.sleepUntil).
const maxNap = 20 * time.Millisecond

// DefaultMaxInFlight is the bound on a job's queued-plus-in-flight
// requests used when a Runner is given none.
const DefaultMaxInFlight = 10000

// RunnerConfig tunes a Runner.
type RunnerConfig struct {
	// MaxInFlight bounds each job's queued-plus-in-flight requests: the
	// requests that fell due and are not finished. A request that falls
	// due while a job has that many is dropped and counted, never sent
	// later. Zero means DefaultMaxInFlight.
	MaxInFlight int
	// Connections is the Runner's connection budget: the most connections
	// it holds open to targets at once, across every job it runs, and the
	// number each job sends over. Zero sizes each job by its rate and
	// the latency its target has shown (see AssumedLatency) within a
	// budget of min(MaxInFlight, MaxAutoConnections).
	Connections int
	// Observer, if set, sees every finished, dropped or aborted request.
	Observer tally.Observer
	// Client tracks the connections of jobs without a TLS configuration
	// (CloseConnections closes them); nil means a new Client. Jobs that
	// carry one use a Client the Runner builds for it (see Job.TLS).
	Client *Client
}

// Runner executes jobs open-loop over a bounded set of connections. One
// Runner may run several jobs at once (consecutive rounds overlap while
// the previous round's last responses are still arriving); they share its
// connection budget, each connection serving one job at a time.
//
// Jobs with the same TLS configuration (by content) share one Client,
// created the first time such a job runs. A Runner is safe for
// concurrent use.
type Runner struct {
	client      *Client
	tls         tlsClients
	observer    tally.Observer
	maxInFlight int
	connections int           // configured; 0 means sized per job
	tokens      chan struct{} // one per idle slot
	idle        slotStack
	latency     latencyMemo   // what sizes jobs without a configured count
	lead        time.Duration // startLead; longer in tests

	mu     sync.Mutex
	active map[*jobRun]struct{}
}

// NewRunner returns a Runner.
func NewRunner(cfg RunnerConfig) *Runner {
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = DefaultMaxInFlight
	}
	if cfg.Client == nil {
		cfg.Client = NewClient(ClientConfig{})
	}
	budget := cfg.Connections
	if budget <= 0 {
		budget = min(cfg.MaxInFlight, MaxAutoConnections)
	}
	r := &Runner{
		client: cfg.Client, tls: tlsClients{}, observer: cfg.Observer,
		maxInFlight: cfg.MaxInFlight, connections: max(cfg.Connections, 0),
		tokens: make(chan struct{}, budget), active: make(map[*jobRun]struct{}), lead: startLead,
	}
	for range budget {
		r.idle.idle = append(r.idle.idle, &slot{})
		r.tokens <- struct{}{}
	}
	return r
}

// Client returns the Client that tracks the connections of jobs without a
// TLS configuration. Runner.CloseConnections covers it and every Client
// built for a TLS configuration.
func (r *Runner) Client() *Client { return r.client }

// ConnectionBudget returns the most connections the Runner holds at once.
func (r *Runner) ConnectionBudget() int { return cap(r.tokens) }

// InFlight returns the number of requests in flight now, over all jobs.
func (r *Runner) InFlight() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for j := range r.active {
		j.wmu.Lock()
		for _, w := range j.workers {
			n += int64(w.busy.Load())
		}
		j.wmu.Unlock()
	}
	return n
}

// Run sends the job's requests at their planned times and returns its
// report once every sent request has finished. Request i is due at
// StartAt + i*Duration/Count; latency is measured from that due time (or
// from the send of a request sent up to batchWindow early, in a send
// window), so a slow target cannot hide its delay by slowing the schedule.
//
// The job is sent by connection workers (see Runner.staff), each owning
// one connection of the Runner's budget and taking the next request in
// due order: a request due while every worker is busy waits and goes out
// late, its latency still counted from its due time. A request that falls
// due while the job already has MaxInFlight requests queued or in flight
// is dropped and counted.
//
// When ctx ends, requests not yet due are not sent and leave the plan: the
// report's Planned counts only the requests that fell due. The job's
// connections are closed, so requests in flight fail at once and count as
// lost, as do requests that fail after cancellation.
//
// A job that cannot run (a bad target URL, no requests, a TLS
// configuration that does not parse) sends nothing: its report carries
// the reason in Err and every request as lost.
func (r *Runner) Run(ctx context.Context, job tally.Job) *tally.Report {
	rep := tally.NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	if job.Count <= 0 {
		return rep
	}
	j, err := r.newJobRun(ctx, job, rep)
	if err != nil {
		rep.Err = err.Error()
		rep.Lost = rep.Planned
		rep.AddError("job not run: "+rep.Err, rep.Planned)
		return rep
	}
	// Workers take connections only shortly before the job starts, so that
	// a job sent ahead leaves them to the jobs running now.
	if !waitCtx(ctx, time.Until(job.StartAt)-r.lead) {
		rep.Planned = 0
		return rep
	}
	r.execute(ctx, j, rep)
	return rep
}

// execute runs j's workers, and its window clock (jobRun.tick) when it
// has one, until every one has returned, stopping j when ctx ends, folds
// their tallies into rep, and notes for the sizing of the next jobs what
// the job measured, which it returns. It staffs j first, by what the
// Runner knows of j's target now: a job sent a round ahead is sized once
// the jobs running meanwhile have measured the target.
func (r *Runner) execute(ctx context.Context, j *jobRun, rep *tally.Report) targetTimes {
	r.staff(j)
	stop := context.AfterFunc(ctx, j.stop)
	defer stop()
	r.track(j, true)
	defer r.track(j, false)
	var wg sync.WaitGroup
	j.wmu.Lock()
	j.wg = &wg
	for _, w := range j.workers {
		wg.Go(w.run)
	}
	j.wmu.Unlock()
	if j.clocked() {
		wg.Go(j.tick)
	}
	wg.Wait()
	tt := j.finish(rep)
	r.latency.note(j.addr, rep, tt)
	return tt
}

// startLead is how long before its start time a job's workers start
// taking connections and opening those they lack (worker.warm).
const startLead = 20 * time.Millisecond

// waitCtx waits for d or until ctx ends, and reports whether ctx is still
// live.
func waitCtx(ctx context.Context, d time.Duration) bool {
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	return ctx.Err() == nil
}

// track adds j to or removes it from the jobs InFlight counts.
func (r *Runner) track(j *jobRun, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if on {
		r.active[j] = struct{}{}
	} else {
		delete(r.active, j)
	}
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
