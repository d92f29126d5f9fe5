package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Executor is a connected executor as the scheduler sees it.
type Executor interface {
	// ID identifies the executor; a reconnecting executor keeps its ID.
	ID() string
	// Capacity is the executor's relative share of each round.
	Capacity() int
	// Dispatch hands a job over without blocking; an error means the job
	// did not reach the executor and its requests are lost.
	Dispatch(job tally.Job) error
}

// DefaultExecutorWait is how long round 0 waits for the expected
// executors when SchedulerConfig.ExecutorWait is not set.
const DefaultExecutorWait = 2 * time.Minute

// SchedulerConfig configures a Scheduler. Calculator, Source and Target are
// required.
type SchedulerConfig struct {
	// Calculator decides each round's rate and when the test ends; wrap a
	// LoadCalculator with types.CalculatorOf. It may also implement
	// types.Observer and types.RoundHook.
	Calculator types.Calculator
	// Source makes the requests; it may also implement types.BatchSource
	// and types.RoundHook.
	Source types.RequestSource
	// Target returns the base URL for the next round's jobs.
	Target func() (string, error)
	// Interval is the length of a round; default 1s.
	Interval time.Duration
	// Duration bounds the test: no round starts after t0+Duration. Zero
	// runs until the context ends or the calculator ends the test.
	Duration time.Duration
	// RequestTimeout is the per-request timeout sent with each job.
	RequestTimeout time.Duration
	// TLS is sent with every job: how executors connect to an https
	// target. Nil means the system roots, verified.
	TLS *tally.TLSConfig
	// ReportGrace is how long after a round's last request could have
	// timed out its missing reports are awaited; default 5s.
	ReportGrace time.Duration
	// DrainTimeout bounds the wait for outstanding reports once the
	// context ends; default 5s.
	DrainTimeout time.Duration
	// ExpectExecutors is how many executors round 0 waits for. Zero
	// starts the test as soon as the first executor joins, however long
	// that takes.
	ExpectExecutors int
	// ExecutorWait bounds the wait for ExpectExecutors executors, from
	// the start of Run; default DefaultExecutorWait. It is unused when
	// ExpectExecutors is zero.
	ExecutorWait time.Duration
	// ExecutorWaitFail makes Run return an *ExecutorWaitError when
	// ExecutorWait passes with fewer than ExpectExecutors executors.
	// Otherwise the test starts with the executors present (a warning is
	// logged), or with the first to join when none is.
	ExecutorWaitFail bool
	// Usage, when set, reports the target pods' current CPU and memory;
	// each finished round carries what it returns.
	Usage func() []PodUsage
	// Metrics, Logger and OnRound are optional. OnRound is called from
	// the scheduler's goroutine for every finished round, in order.
	Metrics SchedulerMetrics
	Logger  *slog.Logger
	OnRound func(*RoundResult)
	// QuietRounds leaves the "round finished" log line out, for a caller
	// that prints every round itself, so each round is shown once.
	QuietRounds bool
}

// Scheduler plans rounds on a fixed time grid, splits each into jobs across
// the connected executors, and merges their reports into round results.
// Round k covers [t0 + k*Interval, t0 + (k+1)*Interval); its jobs are
// dispatched ahead of time with that absolute start.
type Scheduler struct {
	cfg    SchedulerConfig
	log    *slog.Logger
	events chan func()
	done   chan struct{}

	// Owned by the Run goroutine.
	executors map[string]Executor
	rounds    []*pendingRound
	jobs      map[string]Executor // outstanding job ID -> executor

	t0        time.Time       // start of round 0
	ctx       context.Context // Run's context
	stoppedAt time.Time       // when Run's context ended
	// drawn is where nextRequests draws a source without NextBatch, kept
	// from job to job unless a job's pool is drawn itself (see poolOf).
	drawn []types.RequestSpec

	mu      sync.Mutex
	summary Summary
}

// NewScheduler checks cfg and returns a Scheduler.
func NewScheduler(cfg SchedulerConfig) (*Scheduler, error) {
	switch {
	case cfg.Calculator == nil:
		return nil, errors.New("scheduler: no load calculator")
	case cfg.Source == nil:
		return nil, errors.New("scheduler: no request source")
	case cfg.Target == nil:
		return nil, errors.New("scheduler: no target")
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = tally.DefaultTimeout
	}
	if cfg.ReportGrace <= 0 {
		cfg.ReportGrace = 5 * time.Second
	}
	if cfg.DrainTimeout <= 0 {
		cfg.DrainTimeout = 5 * time.Second
	}
	if cfg.ExecutorWait <= 0 {
		cfg.ExecutorWait = DefaultExecutorWait
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noSchedulerMetrics{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Scheduler{
		cfg:       cfg,
		log:       log,
		events:    make(chan func(), 1024),
		done:      make(chan struct{}),
		executors: make(map[string]Executor),
		jobs:      make(map[string]Executor),
	}, nil
}

// submit runs f on the scheduler's goroutine; after Run returns it is a
// no-op.
func (s *Scheduler) submit(f func()) {
	select {
	case s.events <- f:
	case <-s.done:
	}
}

// Join adds an executor; it takes part from the next planned round. An
// executor with the ID of a connected one replaces it.
func (s *Scheduler) Join(e Executor) {
	s.submit(func() {
		s.executors[e.ID()] = e
		s.log.Info("executor joined", "executor", e.ID(), "capacity", e.Capacity(), "executors", len(s.executors))
		s.cfg.Metrics.SetRegisteredExecutors(len(s.executors))
	})
}

// Leave removes an executor. Its outstanding jobs will never report: their
// requests are counted as lost. reason is logged.
func (s *Scheduler) Leave(e Executor, reason string) {
	s.submit(func() {
		if cur, ok := s.executors[e.ID()]; ok && cur == e {
			delete(s.executors, e.ID())
		}
		lost := 0
		for _, p := range s.rounds {
			for id, j := range p.jobs {
				if !j.done && s.jobs[id] == e {
					lost += int(j.planned)
					p.settle(id, nil, false)
					delete(s.jobs, id)
				}
			}
		}
		s.log.Warn("executor left", "executor", e.ID(), "reason", reason, "lost_requests", lost, "executors", len(s.executors))
		s.cfg.Metrics.ExecutorDisconnected()
		s.cfg.Metrics.SetRegisteredExecutors(len(s.executors))
	})
}

// Report delivers a job's report from the executor that ran it.
func (s *Scheduler) Report(executorID string, rep *tally.Report) {
	s.submit(func() {
		e, ok := s.jobs[rep.JobID]
		if !ok || e.ID() != executorID {
			s.log.Warn("report for unknown job ignored", "executor", executorID, "job", rep.JobID)
			return
		}
		delete(s.jobs, rep.JobID)
		if rep.Err != "" {
			s.log.Error("executor could not run job", "executor", executorID, "job", rep.JobID, "error", rep.Err)
		}
		for _, p := range s.rounds {
			j := p.jobs[rep.JobID]
			if p.result.Round != rep.Round || j == nil {
				continue
			}
			if err := checkReport(rep, j.planned); err != nil {
				s.log.Warn("report refused; its requests count as lost", "executor", executorID, "job", rep.JobID, "reason", err)
				s.cfg.Metrics.ReportRefused()
				if l, ok := e.(RefusalListener); ok {
					l.ReportRefused(rep.JobID, err)
				}
				lost := &tally.Report{JobID: rep.JobID, Round: rep.Round, Counts: tally.Counts{Planned: j.planned, Lost: j.planned}}
				lost.AddError("lost: the executor's report was refused as inconsistent", j.planned)
				rep = lost
			}
			p.settle(rep.JobID, rep, s.stopping())
		}
	})
}

// stopping reports whether the run has been stopped. Executors in this
// process see the same context end, so their reports may come in before
// Run has noticed.
func (s *Scheduler) stopping() bool {
	return s.ctx != nil && s.ctx.Err() != nil
}

// Summary returns the totals of the rounds finished so far.
func (s *Scheduler) Summary() Summary {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.summary
	if out.Latency != nil {
		out.Latency = tally.NewHistogram()
		out.Latency.Merge(s.summary.Latency)
		out.Service = tally.NewHistogram()
		out.Service.Merge(s.summary.Service)
	}
	out.Breakdown = tally.Breakdown{}
	out.Breakdown.Merge(&s.summary.Breakdown)
	return out
}

// lead is how long before a round starts its jobs are dispatched.
func (s *Scheduler) lead() time.Duration {
	return min(s.cfg.Interval/2, time.Second)
}

// splitCounts divides total requests across capacities in proportion,
// handing the remainder out one by one so the parts add up to total.
func splitCounts(total int, capacities []int) []int {
	out := make([]int, len(capacities))
	sum := 0
	for _, c := range capacities {
		sum += max(c, 1)
	}
	given := 0
	for i, c := range capacities {
		out[i] = total * max(c, 1) / sum
		given += out[i]
	}
	for i := 0; given < total; i = (i + 1) % len(out) {
		out[i]++
		given++
	}
	return out
}

// requestsForRound returns the number of requests a round at rps carries.
func (s *Scheduler) requestsForRound(rps int) int {
	return int(math.Round(float64(rps) * s.cfg.Interval.Seconds()))
}

// nextRequests draws n requests from the source. They go into the job as
// the source returned them: requests whose bodies are the same string (a
// source line or a script value used again) share its bytes, and
// tally.Pool then sends each distinct request once per job (poolOf).
// A source without NextBatch is drawn into s.drawn, which the next call
// overwrites: the caller must not keep the slice (poolOf does not).
func (s *Scheduler) nextRequests(n int) ([]types.RequestSpec, error) {
	if bs, ok := s.cfg.Source.(types.BatchSource); ok {
		specs, err := bs.NextBatch(n)
		if err != nil {
			return nil, fmt.Errorf("request source: %w", err)
		}
		if len(specs) != n {
			return nil, fmt.Errorf("request source: asked for %d requests, got %d", n, len(specs))
		}
		return specs, checkSizes(specs)
	}
	if cap(s.drawn) < n {
		s.drawn = make([]types.RequestSpec, n)
	}
	// Entries past n, from a larger round, would keep their strings alive.
	clear(s.drawn[n:cap(s.drawn)])
	out := s.drawn[:n]
	for i := range out {
		spec, err := s.cfg.Source.Next()
		if err != nil {
			return nil, fmt.Errorf("request source: %w", err)
		}
		out[i] = spec
	}
	return out, checkSizes(out)
}

// checkSizes refuses a request larger than tally.MaxRequestBytes, which
// the control plane could not carry. Sources that load their requests
// refuse those at start with the line at fault; this catches requests
// built as the test runs.
func checkSizes(reqs []types.RequestSpec) error {
	for i := range reqs {
		if n := tally.RequestSize(&reqs[i]); n > tally.MaxRequestBytes {
			return fmt.Errorf("request source: a %s %s request of %d bytes exceeds the limit of %d bytes",
				reqs[i].Method, reqs[i].Path, n, tally.MaxRequestBytes)
		}
	}
	return nil
}

// poolOf returns the pool and order of a job's drawn requests reqs
// (tally.Pool), in memory of their own: a pool that is a prefix of s.drawn
// (a cycled source's) is copied out, so that the next round can draw into
// s.drawn again and the job does not keep the whole draw alive; one that
// is all of it (every request distinct) becomes the job's, and the next
// round draws into a new slice.
func (s *Scheduler) poolOf(reqs []types.RequestSpec) ([]types.RequestSpec, []uint32) {
	pool, order := tally.Pool(reqs)
	if len(pool) == 0 || len(s.drawn) == 0 || &pool[0] != &s.drawn[0] {
		return pool, order
	}
	if len(pool) == len(reqs) {
		s.drawn = nil
		return pool, order
	}
	return slices.Clone(pool), order
}

// sortedExecutors returns the executors ordered by ID, so that rounds are
// split the same way every time.
func sortedExecutors(m map[string]Executor) []Executor {
	out := make([]Executor, 0, len(m))
	for _, e := range m {
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b Executor) int { return strings.Compare(a.ID(), b.ID()) })
	return out
}

// SchedulerMetrics is what the scheduler counts. *metrics.Orchestrator
// implements it (checked where app wires them, so that this package does
// not link Prometheus). Its methods may be called concurrently: from the
// scheduler's goroutine and from the executors' streams.
type SchedulerMetrics interface {
	RoundFinished(stats types.RoundStats, counts tally.Counts, latency *hdrhistogram.Histogram)
	RoundSkipped()
	ReportRefused()
	SetRegisteredExecutors(n int)
	JobDispatched(requests int)
	ExecutorDisconnected()
}

// noSchedulerMetrics counts nothing: the scheduler's metrics when the
// caller gives none.
type noSchedulerMetrics struct{}

var _ SchedulerMetrics = noSchedulerMetrics{}

func (noSchedulerMetrics) RoundFinished(types.RoundStats, tally.Counts, *hdrhistogram.Histogram) {}
func (noSchedulerMetrics) RoundSkipped()                                                         {}
func (noSchedulerMetrics) ReportRefused()                                                        {}
func (noSchedulerMetrics) SetRegisteredExecutors(int)                                            {}
func (noSchedulerMetrics) JobDispatched(int)                                                     {}
func (noSchedulerMetrics) ExecutorDisconnected()                                                 {}
