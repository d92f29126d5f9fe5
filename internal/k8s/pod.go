package k8s

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	appslisters "k8s.io/client-go/listers/apps/v1"
	"k8s.io/client-go/tools/cache"
)

var _ resolver = (*podResolver)(nil)

// podResolver implements pod mode: one ready pod of a Deployment.
type podResolver struct {
	cfg    *Config
	client kubernetes.Interface
	log    *slog.Logger
	kick   func()
	errs   *watchErrors

	deps      informers.SharedInformerFactory
	depInf    cache.SharedIndexInformer
	depLister appslisters.DeploymentNamespaceLister

	// Owned by Run's goroutine.
	pods    *podWatch // nil while the Deployment is unknown
	current string    // the target pod, kept while it stays ready
}

func (r *podResolver) describe() string {
	return "deployment " + r.cfg.Namespace + "/" + r.cfg.Deployment
}

func (r *podResolver) start(ctx context.Context) error {
	name := fields.OneTermEqualSelector("metadata.name", r.cfg.Deployment).String()
	r.deps = newFactory(r.client, r.cfg.Namespace, func(o *metav1.ListOptions) { o.FieldSelector = name })
	deps := r.deps.Apps().V1().Deployments()
	r.depInf = deps.Informer()
	r.depLister = deps.Lister().Deployments(r.cfg.Namespace)
	if err := watchInformer(r.depInf, r.kick, r.errs); err != nil {
		return err
	}
	r.deps.Start(ctx.Done())
	return nil
}

func (r *podResolver) waitSynced(ctx context.Context) bool {
	return cache.WaitFor(ctx, "", r.depInf.HasSyncedChecker())
}

func (r *podResolver) stop() {
	r.stopPods()
	if r.deps != nil {
		r.deps.Shutdown()
	}
}

// stopPods stops the pod informer, if any.
func (r *podResolver) stopPods() {
	if r.pods != nil {
		r.pods.stop()
		r.pods = nil
	}
}

func (r *podResolver) resolve(ctx context.Context) resolution {
	dep, err := r.depLister.Get(r.cfg.Deployment)
	if apierrors.IsNotFound(err) {
		r.stopPods()
		return resolution{err: fmt.Errorf("%s not found", r.describe())}
	}
	if err != nil {
		return resolution{err: fmt.Errorf("%s: %w", r.describe(), err)}
	}
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil || sel.Empty() {
		r.stopPods()
		return resolution{err: fmt.Errorf("%s has no usable pod selector", r.describe())}
	}
	if r.pods == nil || r.pods.selector.String() != sel.String() {
		if r.pods != nil {
			r.log.Info("deployment selector changed; watching its pods again", "target", r.describe(),
				"old", r.pods.selector.String(), "new", sel.String())
		}
		r.stopPods()
		w, err := startPodWatch(ctx, r.client, r.cfg.Namespace, sel, r.kick, r.errs)
		if err != nil {
			return resolution{err: fmt.Errorf("%s: watch pods: %w", r.describe(), err)}
		}
		r.pods = w
	}
	if !r.pods.synced() {
		return resolution{err: fmt.Errorf("%s: pods not listed yet", r.describe()), pending: true}
	}
	all, err := r.pods.list()
	if err != nil {
		return resolution{err: fmt.Errorf("%s: list cached pods: %w", r.describe(), err)}
	}
	ready := readyPods(all)
	if len(ready) == 0 {
		return resolution{err: fmt.Errorf("%s has no ready pods", r.describe()), metricsSelector: sel.String(), total: len(all)}
	}
	target := ready[0]
	for _, p := range ready {
		if p.Name == r.current {
			target = p
			break
		}
	}
	switch {
	case r.current == "":
		r.log.Info("target pod selected", "target", r.describe(), "pod", target.Name, "ip", target.Status.PodIP)
	case target.Name != r.current:
		r.log.Info("target pod changed", "target", r.describe(), "old", r.current, "new", target.Name, "ip", target.Status.PodIP)
	}
	r.current = target.Name
	res := resolution{pods: []string{target.Name}, metricsSelector: sel.String(), ready: len(ready), total: len(all)}
	port, err := containerPort(target, r.cfg.PortName)
	if err != nil {
		res.err = err
		return res
	}
	res.url = "http://" + net.JoinHostPort(target.Status.PodIP, strconv.Itoa(int(port)))
	return res
}

// readyPods returns the ready pods of pods, oldest first (creation time,
// then name).
func readyPods(pods []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range pods {
		if podReady(p) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b *corev1.Pod) int {
		if c := a.CreationTimestamp.Time.Compare(b.CreationTimestamp.Time); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out
}

// podReady reports whether p can take traffic: Running, Ready, not being
// deleted, with an IP.
func podReady(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || p.Status.PodIP == "" {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// containerPort finds the port named name in any container of p; a
// numeric name is the port itself.
func containerPort(p *corev1.Pod, name string) (int32, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return int32(n), nil
	}
	for _, c := range p.Spec.Containers {
		for _, cp := range c.Ports {
			if cp.Name == name {
				return cp.ContainerPort, nil
			}
		}
	}
	return 0, fmt.Errorf("pod %s/%s has no container port named %q", p.Namespace, p.Name, name)
}
