package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

const (
	cpuGauge = "imager_orchestrator_target_pod_cpu_millicores"
	memGauge = "imager_orchestrator_target_pod_memory_bytes"
	mi       = 1 << 20
)

// waitUsage waits until tg's Usage is want.
func waitUsage(t *testing.T, tg *Target, want []manager.PodUsage) {
	t.Helper()
	waitFor(t, fmt.Sprintf("usage %v", want), func() (bool, string) {
		got := tg.Usage()
		return slices.Equal(got, want), fmt.Sprintf("%v", got)
	})
}

// checkGauges checks the usage gauges of pod: present with cpu and mem,
// or absent when present is false.
func (e *env) checkGauges(t *testing.T, pod string, present bool, cpu, mem float64) {
	t.Helper()
	c, okc := e.gauge(t, cpuGauge, pod)
	m, okm := e.gauge(t, memGauge, pod)
	if !present {
		if okc || okm {
			t.Errorf("pod %s still has usage gauges (cpu %v, memory %v), want none", pod, c, m)
		}
		return
	}
	if !okc || !okm || c != cpu || m != mem {
		t.Errorf("pod %s gauges: cpu %v (%v), memory %v (%v); want cpu %v, memory %v", pod, c, okc, m, okm, cpu, mem)
	}
}

func TestUsagePodMode(t *testing.T) {
	ctx := context.Background()
	api := &metricsAPI{}
	api.set(nil,
		usage{pod: "a", cpu: []string{"100m", "50m"}, mem: []string{"10Mi", "5Mi"}},
		usage{pod: "b", cpu: []string{"250000000n"}, mem: []string{"1Gi"}},
	)
	cfg := podCfg()
	cfg.MetricsPollInterval = 5 * time.Millisecond
	e := start(t, cfg, api, deployment("web", "web"), pod("a", 0, "10.1.0.1"), pod("b", time.Minute, "10.1.0.2"))

	// Only the target pod is reported, its containers summed.
	waitUsage(t, e.target, []manager.PodUsage{{Namespace: ns, Pod: "a", CPUMillicores: 150, MemoryBytes: 15 * mi}})
	e.checkGauges(t, "a", true, 150, 15*mi)
	e.checkGauges(t, "b", false, 0, 0)
	api.mu.Lock()
	sel := api.selectors[0]
	api.mu.Unlock()
	if sel != "app=web" {
		t.Errorf("pod metrics listed with selector %q, want app=web", sel)
	}

	// The target moves: the old pod's series go, the new one's come.
	e.waitWatch(t, "pods")
	if err := e.client.CoreV1().Pods(ns).Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsage(t, e.target, []manager.PodUsage{{Namespace: ns, Pod: "b", CPUMillicores: 250, MemoryBytes: 1024 * mi}})
	waitFor(t, "pod a's gauges deleted", func() (bool, string) {
		_, ok := e.gauge(t, cpuGauge, "a")
		return !ok, "still there"
	})
	e.checkGauges(t, "b", true, 250, 1024*mi)
}

func TestUsageServiceMode(t *testing.T) {
	ctx := context.Background()
	api := &metricsAPI{}
	api.set(nil,
		usage{pod: "p1", cpu: []string{"1"}, mem: []string{"1Mi"}},
		usage{pod: "p2", cpu: []string{"2"}, mem: []string{"2Mi"}},
		usage{pod: "p3", cpu: []string{"3"}, mem: []string{"3Mi"}}, // not ready
	)
	cfg := svcCfg()
	cfg.MetricsPollInterval = 5 * time.Millisecond
	e := start(t, cfg, api, webService(), slice("web-1", "web",
		endpoint{pod: "p2", ready: ptr(true)}, endpoint{pod: "p1", ready: ptr(true)}, endpoint{pod: "p3", ready: ptr(false)}))
	waitUsage(t, e.target, []manager.PodUsage{
		{Namespace: ns, Pod: "p1", CPUMillicores: 1000, MemoryBytes: mi},
		{Namespace: ns, Pod: "p2", CPUMillicores: 2000, MemoryBytes: 2 * mi},
	})
	e.checkGauges(t, "p1", true, 1000, mi)
	e.checkGauges(t, "p2", true, 2000, 2*mi)
	e.checkGauges(t, "p3", false, 0, 0)

	// All endpoints gone: every series goes.
	if err := e.client.DiscoveryV1().EndpointSlices(ns).Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitUsage(t, e.target, []manager.PodUsage{})
	waitFor(t, "gauges deleted", func() (bool, string) {
		_, ok1 := e.gauge(t, cpuGauge, "p1")
		_, ok2 := e.gauge(t, memGauge, "p2")
		return !ok1 && !ok2, fmt.Sprintf("p1 %v, p2 %v", ok1, ok2)
	})
}

func TestUsageMissingMetricsAPIWarnsOnce(t *testing.T) {
	notFound := apierrors.NewNotFound(schema.GroupResource{Group: "metrics.k8s.io", Resource: "pods"}, "")
	unavailable := apierrors.NewServiceUnavailable("the server is currently unable to handle the request")
	api := &metricsAPI{}
	api.set(notFound)
	cfg := podCfg()
	cfg.MetricsPollInterval = 5 * time.Millisecond
	e := start(t, cfg, api, deployment("web", "web"), pod("a", 0, "10.1.0.1"))
	const warning = "pod metrics unavailable"

	waitFor(t, "three failed polls", func() (bool, string) {
		n := api.callCount()
		return n >= 3, fmt.Sprintf("%d polls", n)
	})
	if got := e.logs.count(slog.LevelWarn, warning); got != 1 {
		t.Errorf("%d %q warnings after repeated failures, want 1", got, warning)
	}
	if got := e.logs.attrs(slog.LevelWarn, warning)["hint"]; got != metricsHint(notFound) {
		t.Errorf("warning hint = %q, want %q", got, metricsHint(notFound))
	}
	if got := e.target.Usage(); len(got) != 0 {
		t.Errorf("Usage() with no metrics API = %v, want empty", got)
	}
	e.checkGauges(t, "a", false, 0, 0)

	// It recovers, then fails another way: one more warning, and what was
	// known is kept.
	want := []manager.PodUsage{{Namespace: ns, Pod: "a", CPUMillicores: 10, MemoryBytes: mi}}
	api.set(nil, usage{pod: "a", cpu: []string{"10m"}, mem: []string{"1Mi"}})
	waitUsage(t, e.target, want)
	waitFor(t, "recovery log", func() (bool, string) {
		n := e.logs.count(slog.LevelInfo, "pod metrics available again")
		return n == 1, fmt.Sprintf("%d logs", n)
	})
	api.set(unavailable)
	n := api.callCount()
	waitFor(t, "three more failed polls", func() (bool, string) {
		c := api.callCount()
		return c >= n+3, fmt.Sprintf("%d polls", c-n)
	})
	if got := e.logs.count(slog.LevelWarn, warning); got != 2 {
		t.Errorf("%d %q warnings after fail, recover, fail; want 2", got, warning)
	}
	if got := e.target.Usage(); !slices.Equal(got, want) {
		t.Errorf("Usage() during the second outage = %v, want the last known %v", got, want)
	}
	e.checkGauges(t, "a", true, 10, mi)
}
