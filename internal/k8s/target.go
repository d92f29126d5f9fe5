// Package k8s resolves the orchestrator's Kubernetes targets and reads
// their pods' CPU and memory.
//
// A Target follows one Deployment (pod mode) or one Service (service
// mode) with client-go informers scoped to the target's namespace and
// narrowed by field and label selectors, so the API server pushes every
// change and nothing is listed per round. URL gives the base URL of the
// next round or, while there is nothing to send to, an error saying why
// dispatch is paused; Usage gives the target pods' latest CPU and memory,
// polled from the metrics.k8s.io API.
//
// Pod mode watches the Deployment for its selector and the pods matching
// it. A pod is ready when its phase is Running, its Ready condition is
// True, it is not being deleted and it has an IP. The target is the
// oldest ready pod (by creation time, then name), and it stays the target
// while it remains ready, even if an older pod becomes ready; when it
// stops being ready or goes away, the next oldest ready pod takes over
// (logged as "target pod changed"). The URL is http://<pod IP>:<port>,
// where port is the container port named Config.PortName in any of the
// pod's containers, or PortName itself when it is a number. Usage covers
// the target pod only.
//
// Service mode watches the Service and its EndpointSlices (label
// kubernetes.io/service-name). The URL is
// http://<Config.ServiceHost or <svc>.<ns>.svc>:<port>, where port is the
// Service port named PortName (or PortName itself when it is a number), so
// Kubernetes balances the load; the target port does not matter here. The
// pods behind the ready endpoints are the backing pods, and Usage covers
// every one of them.
//
// When there is nothing to send to (the Deployment or Service is missing,
// no pod or endpoint is ready, the port is unknown) URL returns the reason,
// the imager_orchestrator_target_available gauge drops to 0 and one
// warning "dispatch paused" is logged; when a target returns the gauge
// goes back to 1 and "dispatch resumed" is logged.
//
// The orchestrator needs these permissions in the target namespace: list
// and watch of deployments.apps and pods (pod mode) or of services and
// endpointslices.discovery.k8s.io (service mode), and list of
// pods.metrics.k8s.io. Nothing is read with get, and nothing is written.
package k8s

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"k8s.io/client-go/kubernetes"
	metricsv "k8s.io/metrics/pkg/client/clientset/versioned"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// Target modes accepted by Config.Mode.
const (
	ModePod     = "pod"
	ModeService = "service"
)

// Config configures a Target.
type Config struct {
	// Mode is ModePod or ModeService.
	Mode string
	// Namespace holds the Deployment (pod mode) or Service (service mode)
	// named by Deployment or Service.
	Namespace, Deployment, Service string
	// PortName names the container port (pod mode) or Service port
	// (service mode) to send to; a number is used as the port itself.
	PortName string
	// ServiceHost replaces the Service's cluster DNS name <svc>.<ns>.svc in
	// service mode (for running outside the cluster, e.g. with a
	// port-forward or in tests); "" = the DNS name.
	ServiceHost string
	// MetricsPollInterval is how often pod usage is read from
	// metrics.k8s.io; it must be positive.
	MetricsPollInterval time.Duration
	// Metrics receives the target availability and pod usage gauges; nil
	// records nothing.
	Metrics TargetMetrics
	// Logger defaults to slog.Default().
	Logger *slog.Logger
}

// resolution is what a resolver makes of the informers' caches.
type resolution struct {
	url string
	// err says why there is no URL: dispatch is paused.
	err error
	// pending is set while a cache the answer depends on is still being
	// filled; err then says which.
	pending bool
	// pods are the target pods, sorted; metricsSelector narrows the
	// metrics.k8s.io list that finds them.
	pods            []string
	metricsSelector string
	// ready and total count the pods matching the Deployment's selector
	// (pod mode) or the Service's endpoints (service mode), for the logs.
	ready, total int
}

// resolver turns one kind of Kubernetes target into a resolution.
type resolver interface {
	// start registers and starts the informers; kick asks for a new
	// resolution and is called on every change.
	start(ctx context.Context) error
	// waitSynced waits for the informers started by start to list.
	waitSynced(ctx context.Context) bool
	// resolve reads the caches; it may start or stop informers.
	resolve(ctx context.Context) resolution
	// stop stops every informer; ctx must have ended.
	stop()
	// describe names the target, e.g. "deployment ns/web".
	describe() string
}

// Target resolves a Kubernetes target: the base URL each round sends to
// and the CPU and memory of the pods behind it. Create it with New and
// start it with Run; URL and Usage are safe for concurrent use.
type Target struct {
	cfg  Config
	log  *slog.Logger
	om   TargetMetrics
	mc   metricsv.Interface
	res  resolver
	errs *watchErrors

	kick    chan struct{} // informer events ask for a new resolution
	pollNow chan struct{} // the target pods changed
	synced  chan struct{} // closed after the first complete resolution
	done    chan struct{} // closed when Run returns
	running atomic.Bool

	mu    sync.Mutex
	cur   resolution
	usage map[string]manager.PodUsage // by pod name

	// Owned by Run's goroutine.
	available  *bool
	syncClosed bool
}

// New checks cfg (each refused field is a *ConfigError, joined) and
// returns a Target reading from client and, for pod usage, mc (nil
// disables usage). It does not contact the API server.
func New(client kubernetes.Interface, mc metricsv.Interface, cfg Config) (*Target, error) {
	if client == nil {
		return nil, errors.New("k8s: no Kubernetes client")
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noTargetMetrics{}
	}
	t := &Target{
		cfg:     cfg,
		log:     cfg.Logger,
		om:      cfg.Metrics,
		mc:      mc,
		errs:    &watchErrors{log: cfg.Logger},
		kick:    make(chan struct{}, 1),
		pollNow: make(chan struct{}, 1),
		synced:  make(chan struct{}),
		done:    make(chan struct{}),
		cur:     resolution{err: errors.New("kubernetes target not resolved yet"), pending: true},
	}
	if cfg.Mode == ModePod {
		t.res = &podResolver{cfg: &t.cfg, client: client, log: t.log, kick: t.poke, errs: t.errs}
	} else {
		t.res = &serviceResolver{cfg: &t.cfg, client: client, kick: t.poke, errs: t.errs}
	}
	return t, nil
}

// poke asks Run's loop for a new resolution without blocking.
func (t *Target) poke() { signal(t.kick) }

// signal sends on a channel of capacity 1 unless a signal is pending.
func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run starts the informers and, when there is a metrics client, the usage
// poller, and keeps the target up to date until ctx ends. It returns nil
// then, after every goroutine it started has stopped. It may be called
// once.
func (t *Target) Run(ctx context.Context) error {
	if !t.running.CompareAndSwap(false, true) {
		return errors.New("k8s: Target.Run called twice")
	}
	defer close(t.done)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
		t.res.stop()
	}()
	if err := t.res.start(ctx); err != nil {
		return fmt.Errorf("k8s: start informers for %s: %w", t.res.describe(), err)
	}
	if !t.res.waitSynced(ctx) {
		return nil
	}
	t.update(ctx)
	if t.mc != nil {
		wg.Go(func() { t.pollLoop(ctx) })
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.kick:
			t.update(ctx)
		}
	}
}

// WaitSynced waits until the informers have listed their objects and the
// target has been resolved once (URL may still report a paused target).
// It fails when ctx ends first, naming the target and the latest list
// error, or when Run has returned.
func (t *Target) WaitSynced(ctx context.Context) error {
	select {
	case <-t.synced:
		return nil
	default:
	}
	select {
	case <-t.synced:
		return nil
	case <-t.done:
		select {
		case <-t.synced:
			return nil
		default:
			return fmt.Errorf("k8s: %s: stopped before its caches synced", t.res.describe())
		}
	case <-ctx.Done():
		err := fmt.Errorf("k8s: %s: caches not synced: %w", t.res.describe(), context.Cause(ctx))
		if last := t.errs.lastErr(); last != nil {
			err = fmt.Errorf("%w (last list/watch error: %v)", err, last)
		}
		return err
	}
}

// URL returns the base URL for the next round, or an error saying why
// dispatch is paused, e.g. "deployment ns/web has no ready pods".
func (t *Target) URL() (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur.url, t.cur.err
}

// Usage returns the latest known CPU and memory of the current target
// pods, sorted by namespace and pod. Pods whose usage has not been read
// yet are left out.
func (t *Target) Usage() []manager.PodUsage {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]manager.PodUsage, 0, len(t.cur.pods))
	for _, p := range t.cur.pods { // sorted, one namespace
		if u, ok := t.usage[p]; ok {
			out = append(out, u)
		}
	}
	return out
}

// update resolves the target again and publishes the result.
func (t *Target) update(ctx context.Context) {
	r := t.res.resolve(ctx)
	t.mu.Lock()
	prev := t.cur
	t.cur = r
	t.mu.Unlock()
	if !slices.Equal(prev.pods, r.pods) || prev.metricsSelector != r.metricsSelector {
		signal(t.pollNow)
	}
	if r.pending {
		return
	}
	if !t.syncClosed {
		t.syncClosed = true
		close(t.synced)
	}
	ok := r.err == nil
	switch {
	case t.available == nil && ok:
		t.log.Info("target resolved", "target", t.res.describe(), "url", r.url, "ready", r.ready, "total", r.total)
	case ok && !*t.available:
		t.log.Info("dispatch resumed", "target", t.res.describe(), "url", r.url, "ready", r.ready, "total", r.total)
	case !ok && (t.available == nil || *t.available):
		t.log.Warn("dispatch paused: "+r.err.Error(), "target", t.res.describe(), "reason", r.err.Error(), "ready", r.ready, "total", r.total)
	case !ok:
		t.log.Debug("dispatch still paused", "target", t.res.describe(), "reason", r.err.Error(), "ready", r.ready, "total", r.total)
	}
	if t.available == nil || *t.available != ok {
		t.om.SetTargetAvailable(ok)
	}
	t.available = &ok
}

// TargetMetrics is what a Target records: whether the target is available
// and its pods' usage. *metrics.Orchestrator implements it. Its methods
// are called from the Target's goroutines, one at a time or concurrently.
type TargetMetrics interface {
	SetTargetAvailable(ok bool)
	SetPodUsage(namespace, pod string, cpuMillicores, memoryBytes float64)
	DeletePod(namespace, pod string)
}

var _ TargetMetrics = (*metrics.Orchestrator)(nil)

// noTargetMetrics records nothing: a Target's metrics when the caller
// gives none.
type noTargetMetrics struct{}

func (noTargetMetrics) SetTargetAvailable(bool)                      {}
func (noTargetMetrics) SetPodUsage(string, string, float64, float64) {}
func (noTargetMetrics) DeletePod(string, string)                     {}

// ConfigError is a Config field that New refused. Field is the field's
// name in Config; a program with flags maps it to its own flag.
type ConfigError struct {
	Field   string
	Problem string
}

// Error says which field is wrong and why.
func (e *ConfigError) Error() string {
	return "k8s target: " + e.Field + " " + e.Problem
}

// check returns every problem of cfg as a *ConfigError, joined.
func (cfg Config) check() error {
	var errs []error
	bad := func(field, format string, a ...any) {
		errs = append(errs, &ConfigError{Field: field, Problem: fmt.Sprintf(format, a...)})
	}
	switch cfg.Mode {
	case ModePod:
		if cfg.Deployment == "" {
			bad("Deployment", "is empty: pod mode needs a deployment")
		}
	case ModeService:
		if cfg.Service == "" {
			bad("Service", "is empty: service mode needs a service")
		}
	default:
		bad("Mode", "is %q: want %s or %s", cfg.Mode, ModePod, ModeService)
	}
	if cfg.Namespace == "" {
		bad("Namespace", "is empty")
	}
	if cfg.PortName == "" {
		bad("PortName", "is empty")
	} else if n, err := strconv.Atoi(cfg.PortName); err == nil && (n < 1 || n > 65535) {
		bad("PortName", "is port %d: want 1 to 65535", n)
	}
	if cfg.MetricsPollInterval <= 0 {
		bad("MetricsPollInterval", "is %v: want a positive interval", cfg.MetricsPollInterval)
	}
	return errors.Join(errs...)
}
