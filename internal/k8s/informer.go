package k8s

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
)

// newFactory returns an informer factory scoped to namespace whose list
// and watch calls are narrowed by tweak. Caches drop managedFields, which
// nothing here reads. No periodic resync: every change arrives as a
// watch event.
func newFactory(client kubernetes.Interface, namespace string, tweak func(*metav1.ListOptions)) informers.SharedInformerFactory {
	return informers.NewSharedInformerFactoryWithOptions(client, 0,
		informers.WithNamespace(namespace),
		informers.WithTweakListOptions(tweak),
		informers.WithTransform(stripManagedFields),
	)
}

// stripManagedFields is a cache.TransformFunc that drops managedFields
// from cached objects to save memory.
func stripManagedFields(obj any) (any, error) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// watchInformer registers kick as the informer's event handler (any add,
// update or delete asks for a new resolution) and errs as its watch
// error handler. It must be called before the informer starts.
func watchInformer(inf cache.SharedIndexInformer, kick func(), errs *watchErrors) error {
	if err := inf.SetWatchErrorHandlerWithContext(errs.handle); err != nil {
		return err
	}
	_, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { kick() },
		UpdateFunc: func(any, any) { kick() },
		DeleteFunc: func(any) { kick() },
	})
	return err
}

// watchErrors collects the list and watch errors of a Target's informers:
// the latest one explains why caches do not sync (RBAC, a wrong
// kubeconfig), and each new kind of error is logged once as a warning.
// Its methods are safe for concurrent use.
type watchErrors struct {
	log *slog.Logger

	mu     sync.Mutex
	last   error
	logged string
}

// handle is a cache.WatchErrorHandlerWithContext.
func (w *watchErrors) handle(_ context.Context, r *cache.Reflector, err error) {
	switch {
	case err == nil, errors.Is(err, io.EOF):
		return // a watch that closed normally is reopened
	case errors.Is(err, io.ErrUnexpectedEOF), apierrors.IsResourceExpired(err), apierrors.IsGone(err):
		w.log.Debug("kubernetes watch restarted", "type", r.TypeDescription(), "error", err)
		return
	}
	w.mu.Lock()
	w.last = err
	repeat := w.logged == err.Error()
	w.logged = err.Error()
	w.mu.Unlock()
	if !repeat {
		w.log.Warn("kubernetes list/watch failed; retrying", "type", r.TypeDescription(), "error", err)
	}
}

// lastErr returns the latest list or watch error, or nil.
func (w *watchErrors) lastErr() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// podWatch is a pod informer narrowed to one label selector. Pod mode
// replaces it when the Deployment's selector changes.
type podWatch struct {
	selector labels.Selector
	factory  informers.SharedInformerFactory
	informer cache.SharedIndexInformer
	lister   corelisters.PodNamespaceLister
	cancel   context.CancelFunc
	wg       sync.WaitGroup
}

// startPodWatch starts watching the pods of namespace that match sel.
// kick is called on every pod change and once when the first list is in.
func startPodWatch(ctx context.Context, client kubernetes.Interface, namespace string, sel labels.Selector, kick func(), errs *watchErrors) (*podWatch, error) {
	ctx, cancel := context.WithCancel(ctx)
	f := newFactory(client, namespace, func(o *metav1.ListOptions) { o.LabelSelector = sel.String() })
	pods := f.Core().V1().Pods()
	w := &podWatch{selector: sel, factory: f, informer: pods.Informer(), lister: pods.Lister().Pods(namespace), cancel: cancel}
	if err := watchInformer(w.informer, kick, errs); err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	// An empty list produces no event, so say when the cache is complete.
	w.wg.Go(func() {
		if cache.WaitFor(ctx, "", w.informer.HasSyncedChecker()) {
			kick()
		}
	})
	return w, nil
}

// synced reports whether the first list is in the cache.
func (w *podWatch) synced() bool { return w.informer.HasSynced() }

// list returns the cached pods matching the selector. The filter is
// applied again here because the selector only narrows what the API
// server sends.
func (w *podWatch) list() ([]*corev1.Pod, error) {
	return w.lister.List(w.selector)
}

// stop stops the informer and waits for its goroutines.
func (w *podWatch) stop() {
	w.cancel()
	w.wg.Wait()
	w.factory.Shutdown()
}
