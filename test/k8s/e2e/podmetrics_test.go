package e2e

import (
	"encoding/json"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// fakePod is a pod the fake metrics API reports on.
type fakePod struct {
	labels map[string]string
	// usage by container name: CPU and memory as metrics-server writes them.
	usage map[string][2]string
}

// The usage the tests serve, and its sums: web-a has two containers, and
// its CPU is in nanocores as metrics-server reports it.
var (
	podUsage = map[string]fakePod{
		"web-a": {labels: map[string]string{"app": webApp}, usage: map[string][2]string{
			"sumservice": {"200000000n", "40Mi"},
			"sidecar":    {"50m", "8Mi"},
		}},
		"web-b": {labels: map[string]string{"app": webApp}, usage: map[string][2]string{
			"sumservice": {"125m", "32Mi"},
		}},
		// Not selected by app=web: a list with the target's selector
		// must not return it.
		"other": {labels: map[string]string{"app": "other"}, usage: map[string][2]string{
			"main": {"999m", "1Gi"},
		}},
	}
	wantCPU    = map[string]float64{"web-a": 250, "web-b": 125}
	wantMemory = map[string]float64{"web-a": 48 << 20, "web-b": 32 << 20}
)

// metricsAPI is an aggregated API server for metrics.k8s.io/v1beta1 that
// serves podUsage for namespace imager.
type metricsAPI struct {
	addr string

	mu        sync.Mutex
	users     map[string]bool // X-Remote-User of pod metrics lists
	selectors []string        // labelSelector of each list
}

// startMetricsAPI serves discovery and PodMetricsList over HTTPS on
// 127.0.0.1 with the cluster's backend certificate.
func startMetricsAPI(t *testing.T, e *env) *metricsAPI {
	t.Helper()
	m := &metricsAPI{users: map[string]bool{}}
	gv := metav1.GroupVersionForDiscovery{GroupVersion: "metrics.k8s.io/v1beta1", Version: "v1beta1"}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, r *http.Request) {
		reply(w, metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"},
			Groups: []metav1.APIGroup{{Name: "metrics.k8s.io", Versions: []metav1.GroupVersionForDiscovery{gv}, PreferredVersion: gv}}})
	})
	mux.HandleFunc("GET /apis/metrics.k8s.io/v1beta1", func(w http.ResponseWriter, r *http.Request) {
		reply(w, metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"},
			GroupVersion: gv.GroupVersion, APIResources: []metav1.APIResource{
				{Name: "pods", SingularName: "", Namespaced: true, Kind: "PodMetrics", Verbs: []string{"get", "list"}},
				{Name: "nodes", SingularName: "", Namespaced: false, Kind: "NodeMetrics", Verbs: []string{"get", "list"}},
			}})
	})
	mux.HandleFunc("GET /apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods", m.listPods)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: e.c.BackendTLSConfig(t), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	m.addr = ln.Addr().String()
	return m
}

// listPods answers a PodMetrics list, honouring labelSelector.
func (m *metricsAPI) listPods(w http.ResponseWriter, r *http.Request) {
	sel, err := labels.Parse(r.URL.Query().Get("labelSelector"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	m.users[r.Header.Get("X-Remote-User")] = true
	m.selectors = append(m.selectors, sel.String())
	m.mu.Unlock()
	list := metricsv1beta1.PodMetricsList{TypeMeta: metav1.TypeMeta{Kind: "PodMetricsList", APIVersion: "metrics.k8s.io/v1beta1"}}
	if ns := r.PathValue("ns"); ns == imagerNS {
		now := metav1.Now()
		for name, p := range podUsage {
			if !sel.Matches(labels.Set(p.labels)) {
				continue
			}
			pm := metricsv1beta1.PodMetrics{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: p.labels},
				Timestamp:  now, Window: metav1.Duration{Duration: 15 * time.Second},
			}
			for c, u := range p.usage {
				pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c, Usage: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(u[0]), corev1.ResourceMemory: resource.MustParse(u[1]),
				}})
			}
			list.Items = append(list.Items, pm)
		}
	}
	reply(w, list)
}

// seen returns whether user listed pod metrics, and the selectors used.
func (m *metricsAPI) seen(user string) (bool, []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.users[user], append([]string(nil), m.selectors...)
}

// reply writes v as JSON.
func reply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// podSeries names a pod's gauge as the orchestrator exports it.
func podSeries(metric, pod string) string {
	return metric + `{namespace="` + imagerNS + `",pod="` + pod + `"}`
}

// TestPodMetrics serves pod usage through the aggregation layer (an
// APIService backed by a test server) and runs the orchestrator in pod
// mode: the gauges show the target pod's CPU and memory, and only its;
// round lines carry them; when the target changes, the gauges follow.
func TestPodMetrics(t *testing.T) {
	e := newEnv(t)
	api := startMetricsAPI(t, e)
	e.c.RegisterAPIService(t, "metrics.k8s.io", "v1beta1", api.addr)

	port := sharedPort(t, ipA, ipB)
	startSumservice(t, ipA, port)
	startSumservice(t, ipB, port)
	e.createWebDeployment(t, port)
	e.runWebPod(t, "web-a", ipA, port, true)
	e.runWebPod(t, "web-b", ipB, port, true)
	s := startStack(t, e.orchestratorKubeconfig(t), "-target-mode=pod", "-target-deployment=web", "-metrics-poll-interval=500ms")

	s.waitGauge(t, podSeries(cpuSeries, "web-a"), wantCPU["web-a"])
	s.waitGauge(t, podSeries(memorySeries, "web-a"), wantMemory["web-a"])
	m := s.metrics(t)
	for _, pod := range []string{"web-b", "other"} {
		for _, metric := range []string{cpuSeries, memorySeries} {
			if v, ok := m[podSeries(metric, pod)]; ok {
				t.Errorf("%s = %v, want no series: %s is not the target", podSeries(metric, pod), v, pod)
			}
		}
	}
	checkRoundUsage(t, s, wantCPU["web-a"], wantMemory["web-a"])

	user := "system:serviceaccount:" + imagerNS + ":" + orchestratorSA
	if ok, sels := api.seen(user); !ok || len(sels) == 0 || sels[len(sels)-1] != "app="+webApp {
		t.Errorf("metrics API: listed by %s %v, selectors %q; want lists by the orchestrator's service account with selector app=%s",
			user, ok, sels, webApp)
	}

	t.Run("gauges follow the target pod", func(t *testing.T) {
		e.deletePod(t, "web-a")
		s.orch.WaitFor(t, "target pod changed", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
		s.waitGauge(t, podSeries(cpuSeries, "web-b"), wantCPU["web-b"])
		s.waitGauge(t, podSeries(memorySeries, "web-b"), wantMemory["web-b"])
		for series := range s.metrics(t) {
			if series == podSeries(cpuSeries, "web-a") || series == podSeries(memorySeries, "web-a") {
				t.Errorf("%s still exported after web-a stopped being the target", series)
			}
		}
		checkRoundUsage(t, s, wantCPU["web-b"], wantMemory["web-b"])
	})
	s.checkAccounting(t)
}

// checkRoundUsage waits for fresh rounds and wants each to carry the
// target pods' summed CPU and memory and the CPU per request.
func checkRoundUsage(t *testing.T, s *stack, cpu, memory float64) {
	t.Helper()
	for _, r := range s.waitRounds(t, s.fresh(t), 2) {
		if got := proc.Num(t, r, "target_cpu_millicores"); got != cpu {
			t.Errorf("round %v: target_cpu_millicores = %v, want %v", r["round"], got, cpu)
		}
		if got := proc.Num(t, r, "target_memory_bytes"); got != memory {
			t.Errorf("round %v: target_memory_bytes = %v, want %v", r["round"], got, memory)
		}
		// CPU time per request: millicores times the round's length over
		// its successes (all planned requests, as waitRounds checked).
		// The log rounds it to the microsecond.
		want := math.Round(cpu*roundInterval.Seconds()/plannedPerRound*1000) / 1000
		if got := proc.Num(t, r, "cpu_ms_per_request"); got != want {
			t.Errorf("round %v: cpu_ms_per_request = %v, want %v", r["round"], got, want)
		}
	}
}
