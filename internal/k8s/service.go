package k8s

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	discoverylisters "k8s.io/client-go/listers/discovery/v1"
	"k8s.io/client-go/tools/cache"
)

var _ resolver = (*serviceResolver)(nil)

// serviceResolver implements service mode: a Service and the pods behind
// its ready endpoints.
type serviceResolver struct {
	cfg    *Config
	client kubernetes.Interface
	kick   func()
	errs   *watchErrors

	svcFactory, epsFactory informers.SharedInformerFactory
	svcInf                 cache.SharedIndexInformer
	sliceInf               cache.SharedIndexInformer
	svcLister              corelisters.ServiceNamespaceLister
	sliceLister            discoverylisters.EndpointSliceNamespaceLister
	sliceSel               labels.Selector
}

func (r *serviceResolver) describe() string {
	return "service " + r.cfg.Namespace + "/" + r.cfg.Service
}

func (r *serviceResolver) start(ctx context.Context) error {
	name := fields.OneTermEqualSelector("metadata.name", r.cfg.Service).String()
	r.svcFactory = newFactory(r.client, r.cfg.Namespace, func(o *metav1.ListOptions) { o.FieldSelector = name })
	svcs := r.svcFactory.Core().V1().Services()
	r.svcInf, r.svcLister = svcs.Informer(), svcs.Lister().Services(r.cfg.Namespace)

	r.sliceSel = labels.SelectorFromSet(labels.Set{discoveryv1.LabelServiceName: r.cfg.Service})
	sel := r.sliceSel.String()
	r.epsFactory = newFactory(r.client, r.cfg.Namespace, func(o *metav1.ListOptions) { o.LabelSelector = sel })
	eps := r.epsFactory.Discovery().V1().EndpointSlices()
	r.sliceInf, r.sliceLister = eps.Informer(), eps.Lister().EndpointSlices(r.cfg.Namespace)

	for _, inf := range []cache.SharedIndexInformer{r.svcInf, r.sliceInf} {
		if err := watchInformer(inf, r.kick, r.errs); err != nil {
			return err
		}
	}
	r.svcFactory.Start(ctx.Done())
	r.epsFactory.Start(ctx.Done())
	return nil
}

func (r *serviceResolver) waitSynced(ctx context.Context) bool {
	return cache.WaitFor(ctx, "", r.svcInf.HasSyncedChecker(), r.sliceInf.HasSyncedChecker())
}

func (r *serviceResolver) stop() {
	for _, f := range []informers.SharedInformerFactory{r.svcFactory, r.epsFactory} {
		if f != nil {
			f.Shutdown()
		}
	}
}

func (r *serviceResolver) resolve(context.Context) resolution {
	svc, err := r.svcLister.Get(r.cfg.Service)
	if apierrors.IsNotFound(err) {
		return resolution{err: fmt.Errorf("%s not found", r.describe())}
	}
	if err != nil {
		return resolution{err: fmt.Errorf("%s: %w", r.describe(), err)}
	}
	res := resolution{}
	if len(svc.Spec.Selector) > 0 {
		res.metricsSelector = labels.SelectorFromSet(svc.Spec.Selector).String()
	}
	port, err := servicePort(svc, r.cfg.PortName)
	if err != nil {
		res.err = err
		return res
	}
	eps, err := r.sliceLister.List(r.sliceSel)
	if err != nil {
		res.err = fmt.Errorf("%s: list cached endpoint slices: %w", r.describe(), err)
		return res
	}
	res.pods, res.ready, res.total = backingPods(eps, r.cfg.Namespace)
	if res.ready == 0 {
		res.err = fmt.Errorf("%s has no ready endpoints", r.describe())
		return res
	}
	host := r.cfg.ServiceHost
	if host == "" {
		host = r.cfg.Service + "." + r.cfg.Namespace + ".svc"
	}
	res.url = "http://" + net.JoinHostPort(host, strconv.Itoa(int(port)))
	return res
}

// servicePort finds the port of svc named name; a numeric name is the port
// itself.
func servicePort(svc *corev1.Service, name string) (int32, error) {
	if n, err := strconv.Atoi(name); err == nil {
		return int32(n), nil
	}
	var have []string
	for _, p := range svc.Spec.Ports {
		if p.Name == name {
			return p.Port, nil
		}
		have = append(have, fmt.Sprintf("%q=%d", p.Name, p.Port))
	}
	return 0, fmt.Errorf("service %s/%s has no port named %q; its ports: %s",
		svc.Namespace, svc.Name, name, strings.Join(have, ", "))
}

// backingPods returns the sorted, distinct names of the pods in namespace
// behind the ready endpoints of eps, how many ready endpoints there are
// (some may not be pods) and how many endpoints in all. An endpoint whose
// readiness is unknown counts as ready, as the EndpointSlice API asks.
func backingPods(eps []*discoveryv1.EndpointSlice, namespace string) (pods []string, ready, total int) {
	for _, s := range eps {
		total += len(s.Endpoints)
		for _, e := range s.Endpoints {
			if e.Conditions.Ready != nil && !*e.Conditions.Ready {
				continue
			}
			ready++
			ref := e.TargetRef
			if ref == nil || ref.Kind != "Pod" || ref.Name == "" || (ref.Namespace != "" && ref.Namespace != namespace) {
				continue
			}
			pods = append(pods, ref.Name)
		}
	}
	slices.Sort(pods)
	return slices.Compact(pods), ready, total
}
