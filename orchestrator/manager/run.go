package manager

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Run waits for the executors (ExpectExecutors of them, at most
// ExecutorWait; or the first), then plans rounds until the test's
// duration is over, the calculator ends the test (Next returns a negative
// rate), the request source fails, or ctx ends. It then waits for the
// outstanding reports (at most DrainTimeout once ctx has ended) and
// returns. Every finished round is logged and folded into Summary.
//
// Run returns nil when the test ran to its end, ctx.Err() when it was
// stopped, an *ExecutorWaitError when too few executors joined and
// ExecutorWaitFail is set, and an error when the request source or target
// failed.
func (s *Scheduler) Run(ctx context.Context) error {
	defer close(s.done)
	s.ctx = ctx
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()

	if err := s.awaitExecutor(ctx); err != nil {
		return err
	}
	lead := s.lead()
	s.t0 = time.Now().Add(lead)
	var end time.Time
	if s.cfg.Duration > 0 {
		end = s.t0.Add(s.cfg.Duration)
	}
	s.log.Info("test started", "interval", s.cfg.Interval, "duration", s.cfg.Duration, "executors", len(s.executors))

	var runErr error
	planning := true
	done := ctx.Done()
	var drainBy time.Time // set once ctx has ended
	for next := int64(0); ; {
		start := s.t0.Add(time.Duration(next) * s.cfg.Interval)
		if planning && !end.IsZero() && !start.Before(end) {
			planning = false
		}
		if !planning && len(s.rounds) == 0 {
			break
		}
		wake := time.Now().Add(time.Hour)
		if planning {
			wake = start.Add(-lead)
		}
		if !drainBy.IsZero() && drainBy.Before(wake) {
			wake = drainBy
		}
		timer.Reset(max(time.Until(s.roundsDue(wake)), 0))
		select {
		case <-done:
			done = nil
			planning = false
			s.stoppedAt = time.Now()
			drainBy = s.stoppedAt.Add(s.cfg.DrainTimeout)
			runErr = ctx.Err()
			s.log.Info("stopping: waiting for outstanding reports", "rounds", len(s.rounds), "wait", s.cfg.DrainTimeout)
		case f := <-s.events:
			f()
		case <-timer.C:
		}
		now := time.Now()
		if planning && !now.Before(start.Add(-lead)) {
			ended, err := s.plan(next, start)
			if err != nil {
				runErr = err
				s.log.Error("test stopped", "error", err)
			}
			if ended || err != nil {
				planning = false
			}
			next++
		}
		draining := !drainBy.IsZero()
		s.expire(now, draining && !now.Before(drainBy))
		s.finishRounds(now, draining)
	}
	s.logFinished()
	return runErr
}

// roundsDue returns the earliest of wake and the times the pending rounds
// need attention: a round's report deadline, or the end of the first
// round once all its reports are in.
func (s *Scheduler) roundsDue(wake time.Time) time.Time {
	for i, p := range s.rounds {
		due := p.deadline
		if p.outstanding == 0 {
			if i > 0 {
				// Rounds finish in order, so a complete round behind an
				// unfinished one has nothing to wake for; waking at its
				// end once that passed would spin.
				continue
			}
			due = p.result.Start.Add(p.result.Interval)
		}
		if due.Before(wake) {
			wake = due
		}
	}
	return wake
}

// logFinished logs the summary of the whole test.
func (s *Scheduler) logFinished() {
	sum := s.Summary()
	s.log.Info("test finished", "rounds", sum.Rounds, "planned", sum.Planned, "success", sum.Success,
		"failed", sum.Failed(), "timeouts", sum.Timeouts, "dropped", sum.Dropped, "lost", sum.Lost,
		"achieved_rps", math.Round(sum.AchievedRPS()*10)/10,
		"p50_ms", millis(tally.Percentile(sum.Latency, 50)), "p99_ms", millis(tally.Percentile(sum.Latency, 99)),
		"p99.9_ms", millis(tally.Percentile(sum.Latency, 99.9)), "max_ms", millis(tally.Percentile(sum.Latency, 100)))
}

// awaitExecutor blocks until round 0 may start: until ExpectExecutors
// executors (at least one) have joined, or ExecutorWait has passed with at
// least one present. When the wait passes with fewer it fails the run if
// ExecutorWaitFail is set, and otherwise starts with those present, or
// with the first to join when none is. It applies every event already
// queued before returning, so that all executors that joined before the
// test started take part in round 0. It returns ctx.Err() when ctx ends
// first.
func (s *Scheduler) awaitExecutor(ctx context.Context) error {
	want := max(s.cfg.ExpectExecutors, 1)
	var expired <-chan time.Time
	if s.cfg.ExpectExecutors > 0 {
		wait := time.NewTimer(s.cfg.ExecutorWait)
		defer wait.Stop()
		expired = wait.C
	}
	logged, timedOut := false, false
	for {
		s.applyQueued()
		have := len(s.executors)
		if have >= want {
			return nil
		}
		if timedOut {
			timedOut = false
			if s.cfg.ExecutorWaitFail {
				err := &ExecutorWaitError{Want: want, Have: have, Wait: s.cfg.ExecutorWait}
				s.log.Error("test not started", "error", err)
				return err
			}
			if have > 0 {
				s.log.Warn("executor wait passed: starting with the executors present", "want", want, "have", have, "wait", s.cfg.ExecutorWait)
				return nil
			}
			s.log.Warn("executor wait passed with no executor: starting when the first joins", "want", want, "wait", s.cfg.ExecutorWait)
			want = 1
		}
		if !logged {
			s.log.Info("waiting for executors", "want", want, "have", have)
			logged = true
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case f := <-s.events:
			f()
		case <-expired:
			expired = nil
			timedOut = true
		}
	}
}

// applyQueued applies the events queued so far, without waiting for more.
func (s *Scheduler) applyQueued() {
	for {
		select {
		case f := <-s.events:
			f()
		default:
			return
		}
	}
}

// ExecutorWaitError is Run's error when the wait for the expected
// executors passed with fewer of them and SchedulerConfig.ExecutorWaitFail
// is set.
type ExecutorWaitError struct {
	Want int           // executors expected (SchedulerConfig.ExpectExecutors)
	Have int           // executors present when the wait passed
	Wait time.Duration // the wait (SchedulerConfig.ExecutorWait)
}

func (e *ExecutorWaitError) Error() string {
	return fmt.Sprintf("expected %d executor(s), only %d joined within %v", e.Want, e.Have, e.Wait)
}

// plan asks the calculator for round index's rate, splits it into jobs and
// dispatches them. ended reports that the calculator ended the test.
func (s *Scheduler) plan(index int64, start time.Time) (ended bool, err error) {
	// A round planned late (the process was starved of CPU) still runs:
	// its requests already due go out at once, their latency counted from
	// their planned times. Only a round whose whole interval has passed is
	// skipped, and counted as such in the summary.
	if late := time.Since(start); late >= s.cfg.Interval {
		s.skip(index, "round skipped: planned after its interval had passed", "late", late)
		return false, nil
	} else if late > 0 {
		s.log.Warn("round planned late: its first requests go out late", "round", index, "late", late)
	}
	if len(s.executors) == 0 {
		s.skip(index, "round skipped: no executors connected")
		return false, nil
	}
	// A paused target skips the round before the calculator is asked, so
	// the load profile resumes where it stopped when the target returns.
	target, err := s.cfg.Target()
	if err != nil {
		s.skip(index, "round skipped: no target to send to; dispatch paused", "error", err)
		return false, nil
	}
	for _, v := range []any{s.cfg.Calculator, s.cfg.Source} {
		if h, ok := v.(types.RoundHook); ok {
			h.BeginRound(index)
		}
	}
	rps, stop, err := s.cfg.Calculator.NextRate(index)
	switch {
	case err != nil:
		return true, fmt.Errorf("round %d: load calculator: %w", index, err)
	case stop:
		s.log.Info("load calculator ended the test", "round", index)
		return true, nil
	case rps < 0:
		return true, fmt.Errorf("round %d: load calculator: negative rate %d without stop", index, rps)
	}
	execs := sortedExecutors(s.executors)
	caps := make([]int, len(execs))
	for i, e := range execs {
		caps[i] = e.Capacity()
	}
	counts := splitCounts(s.requestsForRound(rps), caps)
	p := &pendingRound{
		result: RoundResult{RoundStats: types.RoundStats{Round: index, PlannedRPS: rps}, Start: start, Interval: s.cfg.Interval, Executors: len(execs)},
		merged: tally.NewReport("", index),
		jobs:   make(map[string]*pendingJob),
		// The last request may take the request timeout to end; after
		// that a missing report is given up on.
		deadline: start.Add(s.cfg.Interval + s.cfg.RequestTimeout + s.cfg.ReportGrace),
	}
	s.rounds = append(s.rounds, p)
	for i, e := range execs {
		if counts[i] == 0 {
			continue
		}
		if err := s.dispatch(p, e, counts[i], target); err != nil {
			return true, fmt.Errorf("round %d: %w", index, err)
		}
	}
	return false, nil
}

// dispatch builds executor e's job of count requests in round p, to
// target, and sends it. A job that cannot be sent counts as lost; only a
// failing request source is an error.
func (s *Scheduler) dispatch(p *pendingRound, e Executor, count int, target string) error {
	reqs, err := s.nextRequests(count)
	if err != nil {
		return err
	}
	pool, order := s.poolOf(reqs)
	index := p.result.Round
	job := tally.Job{
		ID:        fmt.Sprintf("r%d-%s", index, e.ID()),
		Round:     index,
		TargetURL: target,
		StartAt:   p.result.Start,
		Duration:  s.cfg.Interval,
		Count:     count,
		Timeout:   s.cfg.RequestTimeout,
		Requests:  pool,
		Order:     order,
		TLS:       s.cfg.TLS,
	}
	p.jobs[job.ID] = &pendingJob{executor: e.ID(), planned: int64(job.Count)}
	p.outstanding++
	if err := e.Dispatch(job); err != nil {
		s.log.Warn("job not dispatched; its requests are lost", "executor", e.ID(), "job", job.ID, "error", err)
		p.settle(job.ID, nil, false)
		return nil
	}
	s.jobs[job.ID] = e
	s.cfg.Metrics.JobDispatched(job.Count)
	return nil
}

// skip counts and logs a round that was not run. It counts first, so
// that whoever reads the log line finds the round in the metric.
func (s *Scheduler) skip(index int64, msg string, attrs ...any) {
	s.cfg.Metrics.RoundSkipped()
	s.mu.Lock()
	s.summary.Skipped++
	s.mu.Unlock()
	s.log.Warn(msg, append([]any{"round", index}, attrs...)...)
}

// expire gives up on reports past their round's deadline, or on all of
// them when force is set, counting their requests as lost.
func (s *Scheduler) expire(now time.Time, force bool) {
	for _, p := range s.rounds {
		if !force && now.Before(p.deadline) {
			continue
		}
		for id, j := range p.jobs {
			if !j.done {
				s.log.Warn("no report from executor; counting its requests as lost", "executor", j.executor, "job", id, "lost_requests", j.planned)
				p.settle(id, nil, false)
				delete(s.jobs, id)
			}
		}
	}
}

// finishRounds completes rounds in order while the oldest is over and has
// all its reports; when draining it does not wait for the round to be over.
func (s *Scheduler) finishRounds(now time.Time, draining bool) {
	for len(s.rounds) > 0 {
		p := s.rounds[0]
		if p.outstanding > 0 || (!draining && now.Before(p.result.Start.Add(p.result.Interval))) {
			return
		}
		end := p.result.Start.Add(p.result.Interval)
		stopped := !s.stoppedAt.IsZero() && s.stoppedAt.Before(end)
		if stopped {
			end = s.stoppedAt
		}
		s.rounds = s.rounds[1:]
		if stopped && !end.After(p.result.Start) && p.merged.Planned == 0 {
			// The run stopped before this round began: nothing of it
			// fell due, so it is no part of the test.
			continue
		}
		r := p.finish(end)
		if s.cfg.Usage != nil {
			r.PodUsage = s.cfg.Usage()
		}
		s.mu.Lock()
		s.summary.Add(r)
		s.summary.Elapsed = end.Sub(s.t0)
		s.mu.Unlock()
		s.logRound(r)
		if obs, ok := s.cfg.Calculator.(types.Observer); ok {
			obs.Observe(r.RoundStats)
		}
		if s.cfg.OnRound != nil {
			s.cfg.OnRound(r)
		}
	}
}

// logRound writes the one line per finished round (unless the caller
// prints rounds itself) and updates the round metrics. Rates are numbers
// and latencies milliseconds, so JSON logs carry numbers.
func (s *Scheduler) logRound(r *RoundResult) {
	s.cfg.Metrics.RoundFinished(r.RoundStats, r.Counts, r.Latency)
	if s.cfg.QuietRounds {
		return
	}
	attrs := []any{
		"round", r.Round,
		"planned_rps", r.PlannedRPS,
		"achieved_rps", math.Round(r.AchievedRPS*10) / 10,
		"planned", r.RoundStats.Planned,
		"success", r.RoundStats.Success,
		"failed", r.RoundStats.Failed,
		"client_errors", r.RoundStats.ClientErrors,
		"server_errors", r.RoundStats.ServerErrors,
		"timeouts", r.RoundStats.Timeouts,
		"connection_errors", r.RoundStats.ConnErrors,
		"dropped", r.RoundStats.Dropped,
		"lost", r.RoundStats.Lost,
		"p50_ms", millis(r.P50),
		"p99_ms", millis(r.P99),
	}
	if reason, n := topReason(r.Errors); n > 0 {
		attrs = append(attrs, "top_error", reason, "top_error_count", n)
	}
	if len(r.PodUsage) > 0 {
		attrs = append(attrs, "target_cpu_millicores", r.TargetCPU(), "target_memory_bytes", r.TargetMemory(),
			"cpu_ms_per_request", math.Round(r.CPUPerRequest()*1000)/1000)
	}
	s.log.Info("round finished", attrs...)
}

// millis returns d in milliseconds, to the microsecond.
func millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// topReason returns the most frequent failure reason and its count.
func topReason(errs map[string]int64) (string, int64) {
	var best string
	var n int64
	for reason, c := range errs {
		if c > n || (c == n && reason < best) {
			best, n = reason, c
		}
	}
	return best, n
}
