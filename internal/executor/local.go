package executor

import (
	"context"
	"errors"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/tally"
)

// JobMetrics is what an executor, local or remote, counts per job;
// *metrics.Executor satisfies it. JobPickedUp and JobRequests are called
// when a job starts, JobConnections when it has finished, with the
// connections it opened to the target and the attempts that failed. The
// methods are called concurrently: a job finishes on its own goroutine
// while the next one starts.
type JobMetrics interface {
	JobPickedUp()
	JobRequests(n int)
	JobConnections(opened, failed int64)
}

// Local is an executor inside the orchestrator's process: the scheduler
// dispatches to it directly and it reports back through a function, with no
// control-plane connection. `imager run` uses it.
type Local struct {
	id       string
	capacity int
	runner   *engine.Runner
	report   func(executorID string, rep *tally.Report)
	metrics  JobMetrics
	jobs     chan tally.Job
	stopped  chan struct{}
}

// NewLocal returns a local executor that runs jobs with runner and hands
// each report to report. metrics may be nil.
func NewLocal(id string, capacity int, runner *engine.Runner, report func(string, *tally.Report), metrics JobMetrics) *Local {
	return &Local{
		id: id, capacity: max(capacity, 1), runner: runner, report: report, metrics: metrics,
		jobs: make(chan tally.Job, 64), stopped: make(chan struct{}),
	}
}

// ID implements the scheduler's Executor.
func (l *Local) ID() string { return l.id }

// Capacity implements the scheduler's Executor.
func (l *Local) Capacity() int { return l.capacity }

// Dispatch queues a job without blocking.
func (l *Local) Dispatch(job tally.Job) error {
	select {
	case <-l.stopped:
		return errors.New("executor stopped")
	default:
	}
	select {
	case l.jobs <- job:
		return nil
	default:
		return errors.New("executor's job queue is full")
	}
}

// Run starts every dispatched job at once (each waits for its own start
// time) until ctx ends. Then jobs stop sending, requests in flight are cut
// off, and every job still reports what it measured before Run returns.
func (l *Local) Run(ctx context.Context) error {
	launch := newLauncher(l.runner, l.metrics, nil)
	report := func(rep *tally.Report) { l.report(l.id, rep) }
	start := func(job tally.Job) { launch.launch(ctx, job, report) }
	for {
		select {
		case job := <-l.jobs:
			start(job)
			continue
		case <-ctx.Done():
		}
		break
	}
	close(l.stopped)
	// Jobs queued before the stop still report: they find ctx ended and
	// count their requests as lost.
	for {
		select {
		case job := <-l.jobs:
			start(job)
			continue
		default:
		}
		break
	}
	launch.stop()
	l.runner.CloseConnections()
	launch.wait()
	return nil
}
