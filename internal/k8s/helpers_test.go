package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsapi "k8s.io/metrics/pkg/apis/metrics/v1beta1"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/PeladoCollado/imager/internal/metrics"
)

const ns = "shop"

// base is the creation time of test objects; pods are created at base+age.
var base = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// waitTimeout bounds every wait on a condition.
const waitTimeout = 10 * time.Second

// waitFor polls cond until it holds or waitTimeout passes; cond also
// describes what it saw, for the failure message.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last saw %s", waitTimeout, what, saw)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// urlState describes a URL result.
func urlState(u string, err error) string {
	if err != nil {
		return "error " + strconv.Quote(err.Error())
	}
	return "URL " + u
}

// waitURL waits until tg's URL is want.
func waitURL(t *testing.T, tg *Target, want string) {
	t.Helper()
	waitFor(t, "URL "+want, func() (bool, string) {
		got, err := tg.URL()
		return err == nil && got == want, urlState(got, err)
	})
}

// waitPaused waits until tg's URL fails with an error containing reason.
func waitPaused(t *testing.T, tg *Target, reason string) {
	t.Helper()
	waitFor(t, "URL error containing "+strconv.Quote(reason), func() (bool, string) {
		got, err := tg.URL()
		return err != nil && strings.Contains(err.Error(), reason), urlState(got, err)
	})
}

// logRecorder is a slog.Handler keeping every record.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, r.Clone())
	return nil
}
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logRecorder) WithGroup(string) slog.Handler      { return l }

// count returns how many records at level start with msg.
func (l *logRecorder) count(level slog.Level, msg string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if r.Level == level && strings.HasPrefix(r.Message, msg) {
			n++
		}
	}
	return n
}

// attrs returns the attributes of the last record at level starting with msg.
func (l *logRecorder) attrs(level slog.Level, msg string) map[string]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.recs) - 1; i >= 0; i-- {
		r := l.recs[i]
		if r.Level == level && strings.HasPrefix(r.Message, msg) {
			out := map[string]string{}
			r.Attrs(func(a slog.Attr) bool { out[a.Key] = a.Value.String(); return true })
			return out
		}
	}
	return nil
}

// env is a Target running against fake clients.
type env struct {
	client  *fake.Clientset
	metrics *metricsfake.Clientset
	reg     *prometheus.Registry
	logs    *logRecorder
	target  *Target

	mu      sync.Mutex
	watched map[string]int // watches the fake client served, by resource
}

// recordWatches makes the fake client count the watches it serves. The
// fake does not replay events from a resource version, so a change made
// between an informer's list and its watch is never seen: tests wait for
// the watch before changing objects.
func (e *env) recordWatches() {
	e.watched = map[string]int{}
	e.client.PrependWatchReactor("*", func(a k8stesting.Action) (bool, watch.Interface, error) {
		e.mu.Lock()
		e.watched[a.GetResource().Resource]++
		e.mu.Unlock()
		return false, nil, nil
	})
}

// waitWatch waits until the fake client serves a watch on each resource.
func (e *env) waitWatch(t *testing.T, resources ...string) {
	t.Helper()
	waitFor(t, "watches on "+strings.Join(resources, ", "), func() (bool, string) {
		e.mu.Lock()
		defer e.mu.Unlock()
		for _, r := range resources {
			if e.watched[r] == 0 {
				return false, fmt.Sprintf("watched %v", e.watched)
			}
		}
		return true, ""
	})
}

// start creates a Target for cfg over objs, with m (if not nil) serving
// pod metrics, runs it until the test ends and waits for its caches. Run
// must return nil within waitTimeout of the end.
func start(t *testing.T, cfg Config, m *metricsAPI, objs ...runtime.Object) *env {
	t.Helper()
	e := &env{
		client:  fake.NewClientset(objs...),
		metrics: metricsfake.NewSimpleClientset(),
		reg:     prometheus.NewRegistry(),
		logs:    &logRecorder{},
	}
	e.recordWatches()
	if m != nil {
		m.install(e)
	}
	om, err := metrics.NewOrchestrator(e.reg)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics, cfg.Logger = om, slog.New(e.logs)
	if cfg.MetricsPollInterval == 0 {
		cfg.MetricsPollInterval = time.Hour
	}
	if cfg.PortName == "" {
		cfg.PortName = "http"
	}
	if e.target, err = New(e.client, e.metrics, cfg); err != nil {
		t.Fatalf("New: %v", err)
	}
	run(t, e.target)
	if cfg.Mode == ModeService {
		e.waitWatch(t, "services", "endpointslices")
	} else {
		e.waitWatch(t, "deployments")
	}
	return e
}

// run runs tg until the test ends and waits for its caches. Run must
// return nil within waitTimeout of the end.
func run(t *testing.T, tg *Target) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tg.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v, want nil", err)
			}
		case <-time.After(waitTimeout):
			t.Errorf("Run did not return within %v of cancel", waitTimeout)
		}
	})
	sctx, scancel := context.WithTimeout(ctx, waitTimeout)
	defer scancel()
	if err := tg.WaitSynced(sctx); err != nil {
		t.Fatalf("WaitSynced: %v", err)
	}
}

// gauge returns the value of the gauge name with the given namespace and
// pod labels, and whether the series exists.
func (e *env) gauge(t *testing.T, name, pod string) (float64, bool) {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if pod == "" && len(l) == 0 || l["namespace"] == ns && l["pod"] == pod {
				return m.GetGauge().GetValue(), true
			}
		}
	}
	return 0, false
}

// available returns imager_orchestrator_target_available.
func (e *env) available(t *testing.T) float64 {
	v, _ := e.gauge(t, "imager_orchestrator_target_available", "")
	return v
}

// waitAvailable waits for the target_available gauge to read want: it is
// set just after the URL is published and the change logged.
func (e *env) waitAvailable(t *testing.T, want float64) {
	t.Helper()
	waitFor(t, fmt.Sprintf("target_available %v", want), func() (bool, string) {
		got := e.available(t)
		return got == want, fmt.Sprintf("target_available = %v", got)
	})
}

// targetPods returns the pods tg currently targets.
func targetPods(tg *Target) []string {
	return state(tg).pods
}

// state returns tg's latest resolution.
func state(tg *Target) resolution {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	r := tg.cur
	r.pods = append([]string(nil), r.pods...)
	return r
}

// waitCounts waits until tg's latest resolution saw ready of total pods
// or endpoints: a change the test made has been taken into account.
func waitCounts(t *testing.T, tg *Target, ready, total int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d ready of %d", ready, total), func() (bool, string) {
		r := state(tg)
		return r.ready == ready && r.total == total, fmt.Sprintf("%d ready of %d", r.ready, r.total)
	})
}

// podOpt changes a test pod.
type podOpt func(*corev1.Pod)

func notReady(p *corev1.Pod) { p.Status.Conditions[0].Status = corev1.ConditionFalse }
func terminating(p *corev1.Pod) {
	now := metav1.NewTime(base)
	p.DeletionTimestamp = &now
	p.Finalizers = []string{"test/keep"}
}
func noIP(p *corev1.Pod)    { p.Status.PodIP = "" }
func pending(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }
func labelled(k, v string) podOpt {
	return func(p *corev1.Pod) { p.Labels = map[string]string{k: v} }
}
func ports(ps ...corev1.ContainerPort) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c" + p.Name, Ports: ps})
	}
}

// pod returns a ready pod of the "web" Deployment, created age after base,
// with IP ip and container port http=8080 unless opts change it.
func pod(name string, age time.Duration, ip string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: ns, Labels: map[string]string{"app": "web"},
			CreationTimestamp: metav1.NewTime(base.Add(age)),
		},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}}}},
		Status: corev1.PodStatus{
			Phase: corev1.PodRunning, PodIP: ip,
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

// deployment returns Deployment name selecting app=<app>.
func deployment(name, app string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}}},
	}
}

// service returns Service name selecting app=web with ports.
func service(name string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec:       corev1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: ports},
	}
}

// endpoint is one endpoint of a test EndpointSlice: ready nil means
// unknown; pod "" means no targetRef.
type endpoint struct {
	pod   string
	ready *bool
}

func ptr[T any](v T) *T { return &v }

// slice returns an EndpointSlice of Service svc.
func slice(name, svc string, eps ...endpoint) *discoveryv1.EndpointSlice {
	s := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{discoveryv1.LabelServiceName: svc}},
		AddressType: discoveryv1.AddressTypeIPv4,
	}
	for i, e := range eps {
		ep := discoveryv1.Endpoint{Addresses: []string{"10.0.0." + string(rune('1'+i))}, Conditions: discoveryv1.EndpointConditions{Ready: e.ready}}
		if e.pod != "" {
			ep.TargetRef = &corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: e.pod}
		}
		s.Endpoints = append(s.Endpoints, ep)
	}
	return s
}

// usage is one pod's metrics as the fake metrics API serves them.
type usage struct {
	pod      string
	cpu, mem []string // per container
}

// metricsAPI serves PodMetrics from the fake metrics clientset: the list
// it returns can be changed, or made to fail, while the test runs.
type metricsAPI struct {
	mu        sync.Mutex
	items     []usage
	err       error
	calls     int
	selectors []string
}

// install makes m answer the PodMetrics lists of e's metrics client.
func (m *metricsAPI) install(e *env) {
	e.metrics.PrependReactor("list", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.calls++
		m.selectors = append(m.selectors, a.(k8stesting.ListAction).GetListRestrictions().Labels.String())
		if m.err != nil {
			return true, nil, m.err
		}
		list := &metricsapi.PodMetricsList{}
		for _, u := range m.items {
			pm := metricsapi.PodMetrics{ObjectMeta: metav1.ObjectMeta{Name: u.pod, Namespace: ns, Labels: map[string]string{"app": "web"}}}
			for i := range u.cpu {
				pm.Containers = append(pm.Containers, metricsapi.ContainerMetrics{
					Name: "c" + string(rune('0'+i)),
					Usage: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse(u.cpu[i]),
						corev1.ResourceMemory: resource.MustParse(u.mem[i]),
					},
				})
			}
			list.Items = append(list.Items, pm)
		}
		return true, list, nil
	})
}

func (m *metricsAPI) set(err error, items ...usage) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.err, m.items = err, items
}

func (m *metricsAPI) callCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.calls
}
