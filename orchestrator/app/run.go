package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/executor"
	"github.com/PeladoCollado/imager/httpserve"
	"github.com/PeladoCollado/imager/internal/version"
	"github.com/PeladoCollado/imager/metrics"
	"github.com/PeladoCollado/imager/orchestrator/control"
	"github.com/PeladoCollado/imager/orchestrator/k8s"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
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
	// Logger defaults to slog.Default().
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
	// sized per job by its rate, see engine.AutoConnections).
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
// /results for that long or until ctx ends. It returns nil when the test completed and passed; a *VerdictError
// when it failed its thresholds or, with none, no request succeeded (joined
// with ctx.Err() when it was also stopped); ctx.Err() when it was stopped
// and passed; a *UsageError for input to fix; and other errors when it
// could not run.
func Run(ctx context.Context, cfg Config, opts RunOptions) error {
	if err := cfg.Validate(); err != nil {
		return fmt.Errorf("config: %w", err)
	}
	ctrlTLS, err := prepareControlPlane(cfg, opts)
	if err != nil {
		return err
	}
	jobTLS, err := loadTLS(cfg)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	reg := opts.Registry
	if reg == nil {
		reg = prometheus.NewRegistry()
		reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	om, err := metrics.NewOrchestrator(reg)
	if err != nil {
		return fmt.Errorf("orchestrator metrics: %w", err)
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
		log.Info("random seed chosen; pass -seed to repeat this run", "seed", cfg.Seed)
	}
	target, kube, err := targetFor(cfg, log, om)
	if err != nil {
		return err
	}
	var usage func() []manager.PodUsage
	if kube != nil {
		usage = kube.Usage
	}
	bi := builtIns{log: log}
	srcFactory := opts.RequestSourceFactory
	if srcFactory == nil {
		srcFactory = RequestSourceFactoryFunc(bi.requestSource)
	}
	calcFactory := opts.LoadCalculatorFactory
	if calcFactory == nil {
		calcFactory = LoadCalculatorFactoryFunc(bi.loadCalculator)
	}
	src, err := srcFactory.NewRequestSource(cfg)
	if err != nil {
		return fmt.Errorf("request source %q: %w", cfg.RequestSourceType, err)
	}
	calc, err := calcFactory.NewLoadCalculator(cfg)
	if err != nil {
		closeLua(src, nil)
		return fmt.Errorf("load calculator %q: %w", cfg.LoadCalculator, err)
	}
	defer closeLua(src, calc)
	if target, err = sourceTarget(cfg, src, target); err != nil {
		return err
	}
	luaSrc, _ := src.(*luaSource)
	luaCalc, _ := calc.(*luaCalculator)
	if cfg.Scenario != "" && luaSrc == nil && luaCalc == nil {
		return fmt.Errorf("-scenario %s is not used: neither -request-source-type nor -load-calculator is lua or auto", cfg.Scenario)
	}
	var rl *reloader
	if cfg.Scenario != "" && cfg.ScenarioReloadInterval > 0 {
		if rl, err = newReloader(cfg, log, om, luaSrc, luaCalc); err != nil {
			return err
		}
	}
	var token string
	if cfg.AuthTokenFile != "" {
		if token, err = imagerv1.ReadAuthTokenFile(cfg.AuthTokenFile); err != nil {
			return fmt.Errorf("-auth-token-file: %w", err)
		}
	}
	thresholds, err := thresholdsFor(cfg, bi)
	if err != nil {
		return err
	}
	// The scheduler's context also ends when -abort-on-fail ends the test.
	schedCtx, abort := context.WithCancelCause(ctx)
	defer abort(nil)
	var rec *recorder
	onRound := func(r *manager.RoundResult) {
		rec.round(r)
		if opts.OnRound != nil {
			opts.OnRound(r)
		}
	}
	sched, err := manager.NewScheduler(manager.SchedulerConfig{
		Calculator:     calc,
		Source:         src,
		Target:         target,
		Interval:       cfg.RoundInterval,
		Duration:       cfg.Duration,
		RequestTimeout: cfg.RequestTimeout,
		TLS:            jobTLS,
		Usage:          usage,
		Metrics:        om,
		Logger:         log,
		OnRound:        onRound,
		QuietRounds:    opts.QuietRounds,

		ExpectExecutors:  cfg.ExpectExecutors,
		ExecutorWait:     cfg.ExecutorWait,
		ExecutorWaitFail: cfg.ExecutorWaitFail,
	})
	if err != nil {
		return err
	}

	httpLis, grpcLis, err := listeners(cfg, opts, ctrlTLS != nil, log)
	if err != nil {
		return err
	}
	svcCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	var wg sync.WaitGroup
	errc := make(chan error, 4+opts.LocalExecutors)
	if kube != nil {
		wg.Go(func() { errc <- kube.Run(svcCtx) })
	}
	if rl != nil {
		wg.Go(func() { errc <- rl.Run(svcCtx) })
	}
	var ready, outCreated atomic.Bool
	if httpLis != nil {
		srv := &http.Server{Handler: httpHandler(reg, ready.Load, cfg.Out, outCreated.Load), ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
		wg.Go(func() { errc <- httpserve.Serve(svcCtx, httpLis, srv) })
		log.Info("serving metrics and health", "addr", httpLis.Addr().String())
	}
	var ctrl *control.Server
	if grpcLis != nil {
		srv := control.NewServer(control.Config{
			Fleet: sched, Metrics: om, AuthToken: token, ExecutorTimeout: cfg.ExecutorTimeout,
			HeartbeatInterval: cfg.ExecutorTimeout / 5, Version: Version, Logger: log, TLS: ctrlTLS,
		})
		ctrl = srv
		wg.Go(func() { errc <- srv.Serve(svcCtx, grpcLis) })
	}
	// Local executors stop with the caller's ctx, so a stopped run still
	// reports what they measured while the scheduler drains, or when the
	// test is over.
	execCtx, stopExecutors := context.WithCancel(schedCtx)
	defer stopExecutors()
	// abandon stops everything started so far when the test cannot start.
	abandon := func(err error) error {
		stopServices()
		stopExecutors()
		wg.Wait()
		return err
	}
	if opts.LocalExecutors > 0 {
		em, err := metrics.NewExecutor(reg)
		if err != nil {
			return abandon(fmt.Errorf("executor metrics: %w", err))
		}
		for i := range opts.LocalExecutors {
			runner := engine.NewRunner(engine.RunnerConfig{MaxInFlight: opts.LocalMaxInFlight, Connections: opts.LocalConnections, Observer: em})
			l := executor.NewLocal("local-"+strconv.Itoa(i), 1, runner, sched.Report, em)
			sched.Join(l)
			wg.Go(func() { errc <- l.Run(execCtx) })
		}
	}
	if kube != nil {
		if err := waitKubeTarget(ctx, kube, cfg); err != nil {
			return abandon(err)
		}
	}
	if rec, err = newRecorder(cfg, opts, thresholds, log, abort); err != nil {
		return abandon(err)
	}
	outCreated.Store(true)
	if s, ok := calc.(searcher); ok {
		rec.search = s.SearchResult
	}
	ready.Store(true)
	runErr := sched.Run(schedCtx)
	if ctx.Err() == nil && errors.Is(context.Cause(schedCtx), errAborted) {
		runErr = nil
	}
	sum := sched.Summary()
	if opts.OnSummary != nil {
		opts.OnSummary(sum)
	}
	runErr = rec.finish(sum, runErr)
	if ctrl != nil {
		// Tell the executors the test is over before the server stops;
		// Finish waits (boundedly) for them to close their streams.
		ctrl.Finish(doneNotice(runErr))
	}
	stopExecutors()
	lingerResults(ctx, cfg.ResultsLinger, httpLis, log)
	stopServices()
	wg.Wait()
	close(errc)
	for err := range errc {
		if err != nil && runErr == nil {
			runErr = err
		}
	}
	return runErr
}

// closeLua releases the VMs of Lua sources and calculators.
func closeLua(src any, calc any) {
	if l, ok := src.(*luaSource); ok {
		l.close()
	}
	if l, ok := calc.(*luaCalculator); ok {
		l.close()
	}
}

// kubeSyncTimeout bounds the wait for the Kubernetes target's caches.
const kubeSyncTimeout = 30 * time.Second

// targetFor returns the function that gives each round's target URL and,
// in pod and service modes, the Kubernetes target behind it, which Run
// must run. url mode touches no Kubernetes configuration at all.
func targetFor(cfg Config, log *slog.Logger, om *metrics.Orchestrator) (func() (string, error), *k8s.Target, error) {
	switch cfg.TargetMode {
	case TargetModeURL:
		// A static URL is always there to send to; pod and service modes
		// set this from the target's ready endpoints.
		if om != nil {
			om.SetTargetAvailable(true)
		}
		u := cfg.TargetURL
		return func() (string, error) { return u, nil }, nil, nil
	case TargetModePod, TargetModeService:
		kc, mc, err := k8s.NewClients(cfg.InCluster, cfg.Kubeconfig)
		if err != nil {
			return nil, nil, fmt.Errorf("-target-mode=%s: %w", cfg.TargetMode, err)
		}
		t, err := k8s.New(kc, mc, k8s.Config{
			Mode:                cfg.TargetMode,
			Namespace:           cfg.TargetNamespace,
			Deployment:          cfg.TargetDeployment,
			Service:             cfg.TargetService,
			PortName:            cfg.TargetPortName,
			ServiceHost:         cfg.ServiceHost,
			MetricsPollInterval: cfg.MetricsPollInterval,
			Metrics:             om,
			Logger:              log,
		})
		if err != nil {
			return nil, nil, fmt.Errorf("-target-mode=%s: %w", cfg.TargetMode, err)
		}
		return t.URL, t, nil
	default:
		return nil, nil, fmt.Errorf("-target-mode %q: want pod, service or url", cfg.TargetMode)
	}
}

// waitKubeTarget waits for the Kubernetes target's caches so the first
// round sees the target as it is. A stop while waiting is not an error
// here: the scheduler then ends at once and reports the stop.
func waitKubeTarget(ctx context.Context, kube *k8s.Target, cfg Config) error {
	wctx, cancel := context.WithTimeout(ctx, kubeSyncTimeout)
	defer cancel()
	if err := kube.WaitSynced(wctx); err != nil && ctx.Err() == nil {
		return fmt.Errorf("-target-mode=%s: no answer from the Kubernetes API within %v (check -kubeconfig or -in-cluster, and RBAC): %w", cfg.TargetMode, kubeSyncTimeout, err)
	}
	return nil
}

// listeners opens the HTTP and gRPC listeners the config asks for, on
// -http-bind and -grpc-bind (see Config.grpcHost), and checks and logs
// the control plane's exposure (see checkExposure).
func listeners(cfg Config, opts RunOptions, tlsOn bool, log *slog.Logger) (httpLis, grpcLis net.Listener, err error) {
	httpLis, grpcLis = opts.HTTPListener, opts.GRPCListener
	if httpLis == nil && cfg.ListenPort != 0 {
		if httpLis, err = net.Listen("tcp", net.JoinHostPort(cfg.httpHost(), strconv.Itoa(cfg.ListenPort))); err != nil {
			return nil, nil, fmt.Errorf("-http-bind, -listen-port: %w", err)
		}
	}
	if grpcLis == nil && cfg.GRPCPort != 0 {
		if grpcLis, err = net.Listen("tcp", net.JoinHostPort(cfg.grpcHost(), strconv.Itoa(cfg.GRPCPort))); err != nil {
			if httpLis != nil {
				httpLis.Close()
			}
			return nil, nil, fmt.Errorf("-grpc-bind, -grpc-port: %w", err)
		}
	}
	if grpcLis != nil {
		if err := checkExposure(cfg, grpcLis, tlsOn, log); err != nil {
			grpcLis.Close()
			if httpLis != nil {
				httpLis.Close()
			}
			return nil, nil, &UsageError{err}
		}
	}
	return httpLis, grpcLis, nil
}
