package k8s

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// metricsTimeout bounds one read of the metrics API.
const metricsTimeout = 10 * time.Second

// pollState is the usage poller's own state.
type pollState struct {
	// published holds the pods that have usage gauges.
	published map[string]bool
	// down is set while the metrics API fails; it is warned about once.
	down bool
}

// pollLoop reads the target pods' usage every MetricsPollInterval, and at
// once when the target pods change, until ctx ends.
func (t *Target) pollLoop(ctx context.Context) {
	tick := time.NewTicker(t.cfg.MetricsPollInterval)
	defer tick.Stop()
	st := &pollState{published: map[string]bool{}}
	t.poll(ctx, st)
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-t.pollNow:
		}
		t.poll(ctx, st)
	}
}

// poll reads the usage of the current target pods from metrics.k8s.io,
// publishes it on the gauges and drops the gauges of pods no longer
// targeted. When the metrics API fails, the last known usage of pods
// still targeted is kept.
func (t *Target) poll(ctx context.Context, st *pollState) {
	t.mu.Lock()
	pods, sel := t.cur.pods, t.cur.metricsSelector
	known := t.usage
	t.mu.Unlock()

	fresh := make(map[string]manager.PodUsage, len(pods))
	if len(pods) > 0 {
		got, err := t.readUsage(ctx, sel)
		switch {
		case err != nil && ctx.Err() != nil:
			return // stopping
		case err != nil:
			if !st.down {
				t.log.Warn("pod metrics unavailable; target pod CPU and memory are not reported until they return",
					"target", t.res.describe(), "error", err, "hint", metricsHint(err))
			}
			st.down = true
			for _, p := range pods {
				if u, ok := known[p]; ok {
					fresh[p] = u
				}
			}
		default:
			if st.down {
				t.log.Info("pod metrics available again", "target", t.res.describe())
			}
			st.down = false
			for _, p := range pods {
				if u, ok := got[p]; ok {
					fresh[p] = u
					t.om.SetPodUsage(u.Namespace, u.Pod, u.CPUMillicores, float64(u.MemoryBytes))
					st.published[p] = true
				}
			}
		}
	}
	for p := range st.published {
		if _, ok := fresh[p]; !ok {
			t.om.DeletePod(t.cfg.Namespace, p)
			delete(st.published, p)
		}
	}
	t.mu.Lock()
	t.usage = fresh
	t.mu.Unlock()
}

// readUsage lists the PodMetrics of the target namespace matching
// selector and sums each pod's containers.
func (t *Target) readUsage(ctx context.Context, selector string) (map[string]manager.PodUsage, error) {
	ctx, cancel := context.WithTimeout(ctx, metricsTimeout)
	defer cancel()
	list, err := t.mc.MetricsV1beta1().PodMetricses(t.cfg.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return nil, fmt.Errorf("list pod metrics in %s: %w", t.cfg.Namespace, err)
	}
	out := make(map[string]manager.PodUsage, len(list.Items))
	for _, pm := range list.Items {
		u := manager.PodUsage{Namespace: t.cfg.Namespace, Pod: pm.Name}
		for _, c := range pm.Containers {
			if q, ok := c.Usage[corev1.ResourceCPU]; ok {
				u.CPUMillicores += q.AsApproximateFloat64() * 1000
			}
			if q, ok := c.Usage[corev1.ResourceMemory]; ok {
				u.MemoryBytes += q.Value()
			}
		}
		out[pm.Name] = u
	}
	return out, nil
}

// metricsHint suggests a cause for a failed read of the metrics API.
func metricsHint(err error) string {
	switch {
	case apierrors.IsNotFound(err):
		return "the metrics.k8s.io API is not served: is metrics-server installed?"
	case apierrors.IsServiceUnavailable(err):
		return "the metrics.k8s.io API is registered but its server is not answering"
	case apierrors.IsForbidden(err):
		return "the orchestrator may not list pods.metrics.k8s.io in this namespace (RBAC)"
	default:
		return "the metrics.k8s.io API could not be read"
	}
}
