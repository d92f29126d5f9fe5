package manager

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// RoundResult is the merged outcome of one finished round: its summary
// (types.RoundStats, with the latency quantiles computed once when the
// round finished), which calculators, scripts, metrics and the results file
// all read, and the detail behind it.
type RoundResult struct {
	// RoundStats is the round's summary. Its Round is the round's position
	// on the time grid, from 0; PlannedRPS is what the load calculator
	// asked for and AchievedRPS the rate at which requests actually went
	// out; Dials and DialErrors are the connections the round's jobs
	// opened and failed to open, summed over the executors' reports (a
	// report refused or never received adds none).
	types.RoundStats
	// Start is when the round was due to start; it lasts Interval.
	Start    time.Time
	Interval time.Duration
	// Executors is how many executors the round was split across.
	Executors int
	// Counts is the round's tally of planned requests by outcome, with
	// the bytes received. RoundStats repeats its counts, so r.Success and
	// the like are ambiguous and do not compile: write r.Counts.Success
	// (the tally) or r.RoundStats.Success (the summary Summarize made).
	tally.Counts
	// Latency (from intended send time) and Service (from actual send)
	// hold microseconds.
	Latency *hdrhistogram.Histogram
	Service *hdrhistogram.Histogram
	// Breakdown holds the round's status codes, failure reasons and
	// per-name results.
	tally.Breakdown
	// PodUsage is the target pods' CPU and memory as last read when the
	// round finished; empty in url mode or without a metrics API.
	PodUsage []PodUsage
}

// PodUsage is one target pod's resource usage.
type PodUsage struct {
	Namespace, Pod string
	CPUMillicores  float64
	MemoryBytes    int64
}

// TargetCPU sums the target pods' CPU, in millicores.
func (r *RoundResult) TargetCPU() float64 {
	var sum float64
	for _, u := range r.PodUsage {
		sum += u.CPUMillicores
	}
	return sum
}

// TargetMemory sums the target pods' memory, in bytes.
func (r *RoundResult) TargetMemory() int64 {
	var sum int64
	for _, u := range r.PodUsage {
		sum += u.MemoryBytes
	}
	return sum
}

// CPUPerRequest is the target CPU time each successful request cost in
// this round, in milliseconds: millicores times the round's length over
// its successes. It is 0 when either is unknown.
func (r *RoundResult) CPUPerRequest() float64 {
	if r.Counts.Success == 0 || len(r.PodUsage) == 0 {
		return 0
	}
	// millicores * seconds = CPU milliseconds.
	return r.TargetCPU() * r.Interval.Seconds() / float64(r.Counts.Success)
}

// Summarize fills r.RoundStats from r.Counts and r.Latency: the one place
// a round's counts summary and quantiles are computed. The scheduler calls
// it when a round finishes; a RoundResult built by hand (a test, a
// replay) calls it once its counts and histograms are set.
func (r *RoundResult) Summarize() {
	c := &r.Counts
	s := &r.RoundStats
	s.Planned, s.Sent, s.Success, s.Failed = c.Planned, c.Sent, c.Success, c.Failed()
	s.ClientErrors, s.ServerErrors, s.Timeouts, s.ConnErrors = c.ClientErrors, c.ServerErrors, c.Timeouts, c.ConnErrors
	s.Dropped, s.Lost, s.CheckFailed = c.Dropped, c.Lost, c.CheckFailed
	q := func(p float64) time.Duration { return tally.Percentile(r.Latency, p) }
	s.P50, s.P90, s.P95, s.P99, s.P999, s.Max = q(50), q(90), q(95), q(99), q(99.9), q(100)
}

// achievedRPS is the rate at which the round's requests went out:
// requests sent over the time it took to send them, never less than
// window (the round's length, or the part of it before a stop). The last
// request is due one spacing (1s / the planned rate) before the round
// ends, so a round cut short just after it began does not report its few
// sends over a few milliseconds as a huge rate.
func achievedRPS(rep *tally.Report, start time.Time, window time.Duration, plannedRPS int) float64 {
	if rep.Sent == 0 {
		return 0
	}
	span := window
	if !rep.LastSend.IsZero() && plannedRPS > 0 {
		if s := rep.LastSend.Sub(start) + time.Second/time.Duration(plannedRPS); s > span {
			span = s
		}
	}
	return float64(rep.Sent) / span.Seconds()
}

// Summary totals a whole run.
type Summary struct {
	Rounds int
	// Skipped counts the rounds not run: planned after their interval
	// had passed, with no executor connected, or with no target.
	Skipped int
	// Elapsed runs from the first round's start to the end of the last.
	Elapsed time.Duration
	tally.Counts
	Latency *hdrhistogram.Histogram
	Service *hdrhistogram.Histogram
	tally.Breakdown
	// Dials and DialErrors are the rounds' connections opened and
	// connection attempts failed (see RoundResult), summed.
	Dials, DialErrors int64
}

// AchievedRPS is the run's overall send rate.
func (s *Summary) AchievedRPS() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Sent) / s.Elapsed.Seconds()
}

// Add folds a finished round into the summary; the caller sets Elapsed.
func (s *Summary) Add(r *RoundResult) {
	if s.Latency == nil {
		s.Latency, s.Service = tally.NewHistogram(), tally.NewHistogram()
	}
	s.Rounds++
	s.Counts.Add(r.Counts)
	s.Dials += r.Dials
	s.DialErrors += r.DialErrors
	s.Latency.Merge(r.Latency)
	s.Service.Merge(r.Service)
	s.Breakdown.Merge(&r.Breakdown)
}

// pendingJob is a dispatched job awaiting its report.
type pendingJob struct {
	executor string
	planned  int64
	done     bool
}

// pendingRound is a dispatched round awaiting its reports.
type pendingRound struct {
	result      RoundResult
	merged      *tally.Report
	jobs        map[string]*pendingJob
	outstanding int
	// deadline is when missing reports are given up on and counted lost.
	deadline time.Time
}

// settle records job id's report (nil when it will never come: its requests
// are lost) and reports whether the job was outstanding. stopping tells
// that the run was stopped: a report may then plan fewer requests than the
// job held, those that had not fallen due.
func (p *pendingRound) settle(id string, rep *tally.Report, stopping bool) bool {
	j, ok := p.jobs[id]
	if !ok || j.done {
		return false
	}
	j.done = true
	p.outstanding--
	if rep == nil {
		rep = &tally.Report{Counts: tally.Counts{Planned: j.planned, Lost: j.planned}}
		rep.AddError("lost: the executor went away before reporting", j.planned)
	}
	planned := j.planned
	if stopping && rep.Planned >= 0 && rep.Planned < planned {
		planned = rep.Planned
	}
	// Whatever the report does not account for is lost, so the round's
	// totals always add up to what was planned.
	if gap := planned - rep.Accounted(); gap > 0 {
		rep.Lost += gap
	}
	rep.Planned = planned
	p.merged.Merge(rep)
	return true
}

// finish turns the merged reports into the round's result; end is when
// the round ended: its planned end, or earlier if the run was stopped.
func (p *pendingRound) finish(end time.Time) *RoundResult {
	r := &p.result
	r.Counts = p.merged.Counts
	r.Dials, r.DialErrors = p.merged.Dials, p.merged.DialErrors
	r.Latency, r.Service = p.merged.Latency, p.merged.Service
	r.Breakdown = p.merged.Breakdown
	r.AchievedRPS = achievedRPS(p.merged, r.Start, min(r.Interval, end.Sub(r.Start)), r.PlannedRPS)
	r.Summarize()
	return r
}
