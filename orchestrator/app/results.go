package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
)

// ResultSink receives a run's results as they become known: Run once when
// the test starts, Round for every finished round in order, Summary once
// when Run ends, whether the test completed, was stopped or failed. Calls
// come from one goroutine at a time and must not block for long: Round is
// called from the scheduler's goroutine.
type ResultSink interface {
	Run(*results.Run)
	Round(*results.Round)
	Summary(*results.Summary)
}

// VerdictError is what Run returns when the test ran but failed: a
// threshold failed or, with no thresholds, not one request succeeded.
// Summary holds the verdict of every threshold.
type VerdictError struct {
	Summary *results.Summary
}

func (e *VerdictError) Error() string { return "test failed: " + e.Summary.Reason }

// UsageError is what Run returns when its input is wrong in a way the
// caller should fix before running again, such as a bad threshold in a
// scenario: the same kind of mistake as a bad flag.
type UsageError struct{ Err error }

func (e *UsageError) Error() string { return e.Err.Error() }
func (e *UsageError) Unwrap() error { return e.Err }

// errAborted is the cause of a test ended by -abort-on-fail.
var errAborted = errors.New("a round threshold failed with -abort-on-fail")

// recorder turns the scheduler's rounds into results lines: it writes
// them to the results file, judges the thresholds and hands every line to
// the sink. Its methods are called from one goroutine at a time.
type recorder struct {
	log         *slog.Logger
	out         *results.Writer
	sink        ResultSink
	judge       *results.Judge
	abortOnFail bool
	abort       func(error)
	aborted     bool
	// search, when set, says what a searching calculator concluded.
	search func() string
	// target accumulates the target pods' usage over the rounds.
	target targetTotals
	// termLog is -termination-log: where finish writes the compact summary.
	termLog string
}

// targetTotals is the target usage of a run: the peaks of CPU and memory
// over its rounds, and CPU time per successful request over all of them.
type targetTotals struct {
	seen       bool
	peakCPU    float64
	peakMemory int64
	cpuMs      float64
	success    int64
}

// add folds a round's target usage in.
func (t *targetTotals) add(r *manager.RoundResult) {
	if len(r.PodUsage) == 0 {
		return
	}
	t.seen = true
	t.peakCPU = max(t.peakCPU, r.TargetCPU())
	t.peakMemory = max(t.peakMemory, r.TargetMemory())
	t.cpuMs += r.TargetCPU() * r.Interval.Seconds()
	t.success += r.Counts.Success
}

// usage is the run's target usage, nil when no round had any.
func (t *targetTotals) usage() *results.TargetUsage {
	if !t.seen {
		return nil
	}
	u := &results.TargetUsage{CPUMillicores: t.peakCPU, MemoryBytes: t.peakMemory}
	if t.success > 0 {
		u.CPUMsPerRequest = t.cpuMs / float64(t.success)
	}
	return u
}

// searcher is a load calculator that searches for a rate and can say
// what it found.
type searcher interface{ SearchResult() string }

// thresholdsFor parses -threshold and the thresholds list of -scenario.
func thresholdsFor(cfg Config, bi *builtIns) ([]results.Threshold, error) {
	ts, err := results.ParseThresholds(cfg.Thresholds)
	if err != nil {
		return nil, fmt.Errorf("-threshold: %w", err)
	}
	if cfg.Scenario == "" {
		return ts, nil
	}
	roles, err := bi.scenarioRoles(cfg)
	if err != nil {
		return nil, err
	}
	sts, err := results.ParseThresholds(roles.Thresholds)
	if err != nil {
		return nil, &UsageError{fmt.Errorf("-scenario %s: thresholds: %w", cfg.Scenario, err)}
	}
	return append(ts, sts...), nil
}

// newRecorder opens the results file, if any, and writes the run line.
func newRecorder(cfg Config, opts RunOptions, ts []results.Threshold, log *slog.Logger, abort func(error)) (*recorder, error) {
	r := &recorder{log: log, sink: opts.Results, judge: results.NewJudge(ts), abortOnFail: cfg.AbortOnFail, abort: abort,
		termLog: cfg.TerminationLog}
	run, err := runLine(cfg, opts, ts)
	if err != nil {
		return nil, err
	}
	if cfg.Out != "" {
		if r.out, err = results.Create(cfg.Out); err != nil {
			return nil, fmt.Errorf("-out: %w", err)
		}
		if err := r.out.Write(run); err != nil {
			r.out.Close()
			return nil, fmt.Errorf("-out: %w", err)
		}
	}
	if r.sink != nil {
		r.sink.Run(run)
	}
	return r, nil
}

// runLine describes the run for the first line of the results file.
func runLine(cfg Config, opts RunOptions, ts []results.Threshold) (*results.Run, error) {
	cmd := opts.Command
	if cmd == "" {
		cmd = "orchestrator"
	}
	run := &results.Run{
		Type: results.TypeRun, SchemaVersion: results.SchemaVersion, Version: Version, Command: cmd,
		Start: time.Now().UTC(), Flags: cfg.FlagValues(), Seed: cfg.Seed, Scenario: cfg.Scenario,
		Target: describeTarget(cfg),
	}
	for k, v := range opts.Flags {
		run.Flags[k] = v
	}
	for _, t := range ts {
		run.Thresholds = append(run.Thresholds, t.Expr)
	}
	if cfg.Scenario != "" {
		// The hash of the version the run loaded, from that one read.
		sum, err := builtInsOf(cfg).scenarioSHA256(cfg)
		if err != nil {
			return nil, err
		}
		run.ScenarioSHA256 = sum
	}
	return run, nil
}

// describeTarget names what the run loads.
func describeTarget(cfg Config) string {
	switch cfg.TargetMode {
	case TargetModePod:
		return "pod " + cfg.TargetNamespace + "/" + cfg.TargetDeployment
	case TargetModeService:
		return "service " + cfg.TargetNamespace + "/" + cfg.TargetService
	default:
		return RedactURL(cfg.TargetURL)
	}
}

// round records a finished round; with -abort-on-fail, a failed round
// threshold ends the test.
func (r *recorder) round(rr *manager.RoundResult) {
	line, err := results.FromRound(rr)
	if err != nil {
		r.log.Error("round not recorded", "round", rr.Round, "error", err)
		return
	}
	r.target.add(rr)
	r.write(line)
	if r.sink != nil {
		r.sink.Round(line)
	}
	failed := r.judge.Round(line)
	for _, f := range failed {
		r.log.Warn("threshold failed", "round", rr.Round, "threshold", f.Expression, "value", f.Value)
	}
	if len(failed) > 0 && r.abortOnFail && !r.aborted {
		r.aborted = true
		r.log.Warn("aborting the test: a round threshold failed", "round", rr.Round, "threshold", failed[0].Expression)
		r.abort(errAborted)
	}
}

// finish writes the summary line with its verdict, closes the file and
// writes the compact summary to -termination-log.
// It returns runErr when the run was stopped or failed, a *VerdictError
// when it ran but failed its verdict, and nil otherwise.
func (r *recorder) finish(sum manager.Summary, runErr error) error {
	line, err := results.FromSummary(&sum)
	if err != nil {
		return errors.Join(runErr, err)
	}
	switch {
	case r.aborted:
		line.Stopped = "aborted"
	case runErr == nil:
		line.Stopped = "completed"
	case isStop(runErr):
		line.Stopped = "interrupted"
	default:
		line.Stopped, line.Error = "failed", runErr.Error()
	}
	line.Target = r.target.usage()
	if r.search != nil {
		line.Search = r.search()
		r.log.Info(line.Search)
	}
	r.judge.Summary(line)
	r.write(line)
	if r.sink != nil {
		r.sink.Summary(line)
	}
	if r.out != nil {
		if err := r.out.Close(); err != nil {
			r.log.Error("results file", "error", err)
			runErr = errors.Join(runErr, fmt.Errorf("-out: %w", err))
		}
	}
	writeTerminationLog(r.termLog, line, r.log)
	if !line.Passed {
		// A failed verdict stands even when the run was stopped: a
		// stopped run's exit code still follows its thresholds.
		return errors.Join(&VerdictError{Summary: line}, runErr)
	}
	return runErr
}

// write appends a line to the results file; a failure is logged once per
// line and never stops the test.
func (r *recorder) write(line any) {
	if r.out == nil {
		return
	}
	if err := r.out.Write(line); err != nil {
		r.log.Error("results file", "error", err)
	}
}

// isStop reports whether err is a stop of the run by its caller.
func isStop(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
