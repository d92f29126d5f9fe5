package app

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/k8s"
	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/version"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/types"
)

// Version is this build's version (see package internal/version): sent to
// executors in Welcome, written to results files and printed by every
// command's -version. It is a variable because it is stamped at link time.
var Version = version.String()

// RunOptions customises Run. The zero value runs the built-ins.
type RunOptions struct {
	// RequestSourceFactory and LoadCalculatorFactory replace the built-in
	// factories; a custom factory may fall back to NewBuiltInRequestSource
	// and NewBuiltInLoadCalculator for the names it does not handle.
	RequestSourceFactory  RequestSourceFactory
	LoadCalculatorFactory LoadCalculatorFactory
	// Logger receives every log line of the run, the scenario's print
	// and imager.log output included, also from the built-ins a custom
	// factory falls back to; nil means slog.Default().
	Logger *slog.Logger
	// Registry receives every metric; nil means a new registry.
	Registry *prometheus.Registry
	// HTTPListener and GRPCListener, when set, are used instead of
	// listening on -listen-port and -grpc-port. A GRPCListener beyond
	// loopback needs -auth-token-file, -tls-client-ca or
	// -insecure-control-plane, as -grpc-bind does.
	HTTPListener net.Listener
	GRPCListener net.Listener
	// LocalExecutors runs that many executors inside this process, with
	// LocalMaxInFlight as each one's bound on a job's queued-plus-in-flight
	// requests (0: the engine's default). This is how `imager run` works
	// without a cluster.
	LocalExecutors   int
	LocalMaxInFlight int
	// LocalConnections is each local executor's connection budget (0:
	// sized per job by its rate, and by the latency its target has shown
	// when that is short; README, "Connections").
	LocalConnections int
	// OnRound is called for every finished round, in order.
	OnRound func(*manager.RoundResult)
	// OnSummary is called once when Run ends, with the totals of every
	// finished round, whether the test completed or was stopped.
	OnSummary func(manager.Summary)
	// Results, when set, receives the results lines as the run goes (the
	// same lines -out writes), with the verdict in the summary.
	Results ResultSink
	// QuietRounds leaves out the "round finished" log line, for a caller
	// that prints every round itself, so each round is shown once.
	QuietRounds bool
	// Command names the program in the results file's run line (default
	// "orchestrator"); Flags adds flags of the program's own to it.
	Command string
	Flags   map[string]string
}

// Run runs the orchestrator until the test ends (-duration, the
// calculator ends it, or -abort-on-fail) or ctx ends, then judges the
// run, writes -termination-log and, with -results-linger, keeps serving
// /results for that long or until ctx ends. It returns nil when the test
// completed and passed; a *VerdictError when it failed its thresholds or,
// with none, no request succeeded (joined with ctx.Err() when it was also
// stopped); ctx.Err() when it was stopped and passed; a *UsageError for
// input to fix; and other errors when it could not run, or when one of
// its services (the HTTP or gRPC server, the Kubernetes target, a local
// executor) failed, which ends the test.
func Run(ctx context.Context, cfg Config, opts RunOptions) (err error) {
	r, err := prepare(ctx, cfg, opts)
	if err != nil {
		return err
	}
	defer func() { err = r.teardown(err) }()
	if err := r.build(); err != nil {
		return err
	}
	if err := r.start(); err != nil {
		return err
	}
	return r.test()
}

// The orchestrator's metrics are what each part counts; each part defines
// its own small interface, and this is where they meet.
var _ manager.SchedulerMetrics = (*metrics.Orchestrator)(nil)

// run is one Run: the pieces it builds, in the order it builds them.
// teardown releases whichever of them exist.
type run struct {
	ctx     context.Context // the caller's
	cfg     Config
	opts    RunOptions
	log     *slog.Logger
	reg     *prometheus.Registry
	om      *metrics.Orchestrator
	ctrlTLS *tls.Config
	jobTLS  *tally.TLSConfig

	target     func() (string, error)
	kube       *k8s.Target // nil in url mode
	bi         *builtIns
	src        types.RequestSource
	calc       manager.LoadCalculator
	token      string
	thresholds []results.Threshold
	sched      *manager.Scheduler
	// schedCtx is the scheduler's: it also ends when -abort-on-fail or a
	// failed service ends the test, with that as its cause.
	schedCtx context.Context
	abort    context.CancelCauseFunc

	services      *group
	execCtx       context.Context // the local executors'
	stopExecutors context.CancelFunc
	httpLis       net.Listener
	ctrl          *control.Server
	rec           *recorder
	ready         atomic.Bool // /readyz
	outCreated    atomic.Bool // this run's -out file exists
}

// prepare checks the configuration and sets up logging, metrics and the
// seed: everything that needs no teardown.
func prepare(ctx context.Context, cfg Config, opts RunOptions) (*run, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	r := &run{ctx: ctx, cfg: cfg, opts: opts, log: opts.Logger, reg: opts.Registry}
	var err error
	if r.ctrlTLS, err = prepareControlPlane(cfg, opts); err != nil {
		return nil, err
	}
	if r.jobTLS, err = loadTLS(cfg); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if r.log == nil {
		r.log = slog.Default()
	}
	if r.reg == nil {
		r.reg = prometheus.NewRegistry()
		r.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if r.om, err = metrics.NewOrchestrator(r.reg); err != nil {
		return nil, fmt.Errorf("orchestrator metrics: %w", err)
	}
	if r.cfg.Seed == 0 {
		r.cfg.Seed = time.Now().UnixNano()
		r.log.Info("random seed chosen; pass -seed to repeat this run", "seed", r.cfg.Seed)
	}
	return r, nil
}

// build makes the target, the request source and load calculator, the
// thresholds and the scheduler.
func (r *run) build() error {
	var err error
	if r.target, r.kube, err = targetFor(r.cfg, r.log, r.om); err != nil {
		return err
	}
	if err := r.buildWorkload(); err != nil {
		return err
	}
	if r.cfg.AuthTokenFile != "" {
		if r.token, err = imagerv1.ReadAuthTokenFile(r.cfg.AuthTokenFile); err != nil {
			return fmt.Errorf("-auth-token-file: %w", err)
		}
	}
	if r.thresholds, err = thresholdsFor(r.cfg, r.bi); err != nil {
		return err
	}
	r.schedCtx, r.abort = context.WithCancelCause(r.ctx)
	r.sched, err = manager.NewScheduler(r.schedulerConfig())
	return err
}

// buildWorkload asks the factories for the request source and load
// calculator. The built-ins they fall back to share the run's logger and
// its once-loaded -scenario, which must serve one of them.
func (r *run) buildWorkload() error {
	r.bi = newBuiltIns(r.cfg, r.log, nil)
	r.cfg.builtIns = r.bi
	var srcFactory RequestSourceFactory = RequestSourceFactoryFunc(NewBuiltInRequestSource)
	if r.opts.RequestSourceFactory != nil {
		srcFactory = r.opts.RequestSourceFactory
	}
	var calcFactory LoadCalculatorFactory = LoadCalculatorFactoryFunc(NewBuiltInLoadCalculator)
	if r.opts.LoadCalculatorFactory != nil {
		calcFactory = r.opts.LoadCalculatorFactory
	}
	var err error
	if r.src, err = srcFactory.NewRequestSource(r.cfg); err != nil {
		return fmt.Errorf("request source %q: %w", r.cfg.RequestSourceType, err)
	}
	if r.calc, err = calcFactory.NewLoadCalculator(r.cfg); err != nil {
		return fmt.Errorf("load calculator %q: %w", r.cfg.LoadCalculator, err)
	}
	if r.target, err = sourceTarget(r.cfg, r.src, r.target); err != nil {
		return err
	}
	if r.src, err = expectSourceOf(r.cfg, r.src); err != nil {
		return err
	}
	if r.cfg.Scenario != "" && !r.bi.scenarioUsed() {
		return fmt.Errorf("-scenario %s is not used: neither -request-source-type nor -load-calculator is lua or auto", r.cfg.Scenario)
	}
	return nil
}

// schedulerConfig is the scheduler's configuration; every finished round
// goes to the recorder, then to RunOptions.OnRound.
func (r *run) schedulerConfig() manager.SchedulerConfig {
	var usage func() []manager.PodUsage
	if r.kube != nil {
		usage = r.kube.Usage
	}
	cfg := r.cfg
	return manager.SchedulerConfig{
		Calculator:     types.CalculatorOf(r.calc),
		Source:         r.src,
		Target:         r.target,
		Interval:       cfg.RoundInterval,
		Duration:       cfg.Duration,
		RequestTimeout: cfg.RequestTimeout,
		TLS:            r.jobTLS,
		Usage:          usage,
		Metrics:        r.om,
		Logger:         r.log,
		OnRound: func(rr *manager.RoundResult) {
			r.rec.round(rr)
			if r.opts.OnRound != nil {
				r.opts.OnRound(rr)
			}
		},
		QuietRounds: r.opts.QuietRounds,

		ExpectExecutors:  cfg.ExpectExecutors,
		ExecutorWait:     cfg.ExecutorWait,
		ExecutorWaitFail: cfg.ExecutorWaitFail,
	}
}

// test runs the scheduler to the end of the test, records and judges the
// run, tells the executors it is over and lingers for /results.
func (r *run) test() error {
	runErr := flagErrors(r.sched.Run(r.schedCtx))
	if r.ctx.Err() == nil {
		// A test ended by -abort-on-fail is the verdict's to report; one
		// ended by a failed service fails with that service's error.
		var failed *serviceError
		switch cause := context.Cause(r.schedCtx); {
		case errors.Is(cause, errAborted):
			runErr = nil
		case errors.As(cause, &failed):
			runErr = failed
		}
	}
	sum := r.sched.Summary()
	if r.opts.OnSummary != nil {
		r.opts.OnSummary(sum)
	}
	runErr = r.rec.finish(sum, runErr)
	if r.ctrl != nil {
		// Tell the executors the test is over before the server stops;
		// Finish waits (boundedly) for them to close their streams.
		r.ctrl.Finish(doneNotice(runErr))
	}
	r.stopExecutors()
	if r.services.Err() == nil {
		lingerResults(r.ctx, r.cfg.ResultsLinger, r.httpLis, r.log)
	}
	return runErr
}

// teardown is Run's one way out once prepare has succeeded, whether the
// test ran or a step failed: it stops the local executors and the
// services, waits for all their goroutines and releases the scenario's
// VMs. It returns runErr or, when that is nil, the first failure of a
// service.
func (r *run) teardown(runErr error) error {
	var svcErr error
	if r.services != nil {
		r.stopExecutors()
		svcErr = r.services.Stop()
	}
	if r.abort != nil {
		r.abort(nil)
	}
	if r.bi != nil {
		r.bi.close()
	}
	if runErr == nil {
		return svcErr
	}
	return runErr
}
