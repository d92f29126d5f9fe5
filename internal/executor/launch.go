package executor

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/tally"
)

// launcher is the one path by which an executor, local or remote, starts
// a job on the engine. It checks the job against the bounds in
// validate.go, counts it in the metrics, runs it in its own goroutine and
// hands its report to a callback, and once stopped it starts no more
// jobs. Stopping a job's requests is the engine's business: they end with
// the context the job runs under.
type launcher struct {
	runner *engine.Runner
	// metrics counts the jobs started and the connections of those
	// finished; nil counts nothing.
	metrics JobMetrics
	// log receives a line for every job refused or ignored.
	log *slog.Logger
	// now is the clock jobs' start times are checked against.
	now func() time.Time

	// mu guards stopping, which is set once no job may start any more.
	mu       sync.Mutex
	stopping bool
	// jobs tracks the goroutines of the jobs started.
	jobs sync.WaitGroup
}

// newLauncher returns a launcher that runs jobs with runner, counts them
// in metrics (nil for none) and logs to log (nil for nowhere).
func newLauncher(runner *engine.Runner, metrics JobMetrics, log *slog.Logger) *launcher {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &launcher{runner: runner, metrics: metrics, log: log, now: time.Now}
}

// launch starts job on the engine under ctx in its own goroutine and hands
// its report to report, unless the launcher is stopping. A job out of
// bounds is not run: its report, handed over all the same, counts its
// requests as lost. launch reports whether the job was run.
func (l *launcher) launch(ctx context.Context, job tally.Job, report func(*tally.Report)) bool {
	if err := validateJob(job, l.now()); err != nil {
		l.log.Warn("job refused: out of bounds; its requests count as lost",
			"job_id", job.ID, "round", job.Round, "target", RedactAddress(job.TargetURL), "err", err)
		l.refuse(job.ID, job.Round, int64(job.Count), err, report)
		return false
	}
	started := l.goJob(job.ID, func() *tally.Report {
		rep := l.runner.Run(ctx, job)
		if l.metrics != nil {
			l.metrics.JobConnections(rep.Dials, rep.DialErrors)
		}
		return rep
	}, report)
	if started {
		if l.metrics != nil {
			l.metrics.JobPickedUp()
			l.metrics.JobRequests(job.Count)
		}
		l.log.Debug("job received", "job_id", job.ID, "round", job.Round, "count", job.Count)
	}
	return started
}

// refuse reports a job that is not run, for reason, with every request it
// planned counted as lost, unless the launcher is stopping.
func (l *launcher) refuse(jobID string, round, count int64, reason error, report func(*tally.Report)) {
	l.goJob(jobID, func() *tally.Report { return refusedReport(jobID, round, count, reason) }, report)
}

// goJob runs job in its own goroutine, unless the launcher is stopping,
// and hands its report to report. It reports whether the job was started.
func (l *launcher) goJob(jobID string, job func() *tally.Report, report func(*tally.Report)) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		l.log.Debug("ignoring job sent after the end of the test", "job_id", jobID)
		return false
	}
	l.jobs.Go(func() { report(job()) })
	return true
}

// stop makes the launcher start no more jobs. It reports whether this
// call stopped it, false when it was stopped already. Once stop has
// returned, wait cannot race a job being started.
func (l *launcher) stop() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopping {
		return false
	}
	l.stopping = true
	return true
}

// wait blocks until every job started has handed over its report.
func (l *launcher) wait() { l.jobs.Wait() }

// refusedReport is the report of a job that is not run (it failed
// validation, say): nothing was sent and every request it planned (none
// when count is not positive) is lost, with the reason, if any, in Err
// and the error list.
func refusedReport(jobID string, round, count int64, reason error) *tally.Report {
	rep := tally.NewReport(jobID, round)
	planned := max(count, 0)
	rep.Planned = planned
	rep.Lost = planned
	rep.Err = "job refused"
	if reason != nil {
		rep.Err += ": " + reason.Error()
	}
	rep.AddError(rep.Err, planned)
	return rep
}
