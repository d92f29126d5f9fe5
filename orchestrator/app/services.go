package app

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/httpserve"
	"github.com/PeladoCollado/imager/internal/k8s"
	"github.com/PeladoCollado/imager/internal/metrics"
)

// group runs a run's services and local executors and owns their
// goroutines. The first of them to fail cancels the group's context, so
// every service stops, and is handed to onFail; Stop ends the rest and
// waits for all of them.
type group struct {
	ctx    context.Context
	cancel context.CancelFunc
	onFail func(error)
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error // the first failure
}

// newGroup makes a group whose context is a child of parent.
func newGroup(parent context.Context, onFail func(error)) *group {
	ctx, cancel := context.WithCancel(parent)
	return &group{ctx: ctx, cancel: cancel, onFail: onFail}
}

// Go runs f on a goroutine of the group; name says what failed when f
// returns an error.
func (g *group) Go(name string, f func() error) {
	g.wg.Go(func() {
		if err := f(); err != nil {
			g.fail(&serviceError{name: name, err: err})
		}
	})
}

// fail records err; the first failure also cancels the group and is
// handed to onFail.
func (g *group) fail(err *serviceError) {
	g.mu.Lock()
	first := g.err == nil
	if first {
		g.err = err
	}
	g.mu.Unlock()
	if first {
		g.cancel()
		g.onFail(err)
	}
}

// Err returns the first failure so far, or nil.
func (g *group) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}

// Stop cancels the group's context, waits for every goroutine and returns
// the first failure.
func (g *group) Stop() error {
	g.cancel()
	g.wg.Wait()
	return g.Err()
}

// serviceError is the failure of one of a run's services.
type serviceError struct {
	name string
	err  error
}

func (e *serviceError) Error() string { return e.name + ": " + e.err.Error() }
func (e *serviceError) Unwrap() error { return e.err }

// start opens the listeners, starts the services and local executors,
// waits for the Kubernetes target and opens the results: after it the
// run is ready for its first round.
func (r *run) start() error {
	httpLis, grpcLis, err := listeners(r.cfg, r.opts, r.ctrlTLS != nil, r.log)
	if err != nil {
		return err
	}
	r.httpLis = httpLis
	// Services outlive the caller's ctx: they serve the end of the test,
	// its results and the executors' goodbye. Local executors stop with
	// it, so a stopped run still reports what they measured while the
	// scheduler drains.
	r.services = newGroup(context.WithoutCancel(r.ctx), r.abort)
	r.execCtx, r.stopExecutors = context.WithCancel(r.schedCtx)
	r.startServices(httpLis, grpcLis)
	if err := r.startLocalExecutors(); err != nil {
		return err
	}
	if r.kube != nil {
		if err := waitKubeTarget(r.schedCtx, r.kube, r.cfg); err != nil {
			return err
		}
	}
	if r.rec, err = newRecorder(r.cfg, r.opts, r.thresholds, r.log, r.abort); err != nil {
		return err
	}
	r.outCreated.Store(true)
	if s, ok := r.calc.(searcher); ok {
		r.rec.search = s.SearchResult
	}
	r.ready.Store(true)
	return nil
}

// startServices starts the Kubernetes target, the scenario's reloading,
// the HTTP server on httpLis and the control plane on grpcLis, those of
// them the run has.
func (r *run) startServices(httpLis, grpcLis net.Listener) {
	g := r.services
	if r.kube != nil {
		g.Go("kubernetes target", func() error { return r.kube.Run(g.ctx) })
	}
	if r.bi.scenarioUsed() && r.cfg.ScenarioReloadInterval > 0 {
		g.Go("scenario reload", func() error { return r.bi.watchScenario(g.ctx, r.cfg, r.om) })
	}
	if httpLis != nil {
		srv := &http.Server{
			Handler:  httpHandler(r.reg, r.ready.Load, r.cfg.Out, r.outCreated.Load),
			ErrorLog: slog.NewLogLogger(r.log.Handler(), slog.LevelWarn),
		}
		g.Go("http server", func() error { return httpserve.Serve(g.ctx, httpLis, srv) })
		r.log.Info("serving metrics and health", "addr", httpLis.Addr().String())
	}
	if grpcLis != nil {
		cfg := r.cfg
		r.ctrl = control.NewServer(control.Config{
			Fleet: r.sched, Metrics: r.om, AuthToken: r.token, ExecutorTimeout: cfg.ExecutorTimeout,
			HeartbeatInterval: cfg.ExecutorTimeout / 5, Version: Version, Logger: r.log, TLS: r.ctrlTLS,
		})
		ctrl := r.ctrl
		g.Go("control plane", func() error { return ctrl.Serve(g.ctx, grpcLis) })
	}
}

// startLocalExecutors starts RunOptions.LocalExecutors executors in this
// process and joins them to the scheduler.
func (r *run) startLocalExecutors() error {
	if r.opts.LocalExecutors <= 0 {
		return nil
	}
	em, err := metrics.NewExecutor(r.reg)
	if err != nil {
		return fmt.Errorf("executor metrics: %w", err)
	}
	for i := range r.opts.LocalExecutors {
		runner := engine.NewRunner(engine.RunnerConfig{MaxInFlight: r.opts.LocalMaxInFlight, Connections: r.opts.LocalConnections, Observer: em})
		l := executor.NewLocal("local-"+strconv.Itoa(i), 1, runner, r.sched.Report, em)
		r.sched.Join(l)
		r.services.Go("local executor", func() error { return l.Run(r.execCtx) })
	}
	return nil
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
			return nil, nil, fmt.Errorf("-target-mode=%s: %w", cfg.TargetMode, flagErrors(err))
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
			return nil, nil, fmt.Errorf("-target-mode=%s: %w", cfg.TargetMode, flagErrors(err))
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
