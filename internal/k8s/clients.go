package k8s

import (
	"errors"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	metricsv "k8s.io/metrics/pkg/client/clientset/versioned"
)

// userAgent identifies the orchestrator to the API server.
const userAgent = "imager-orchestrator"

// NewClients builds the Kubernetes and metrics.k8s.io clients. A kubeconfig
// path wins over inCluster; with inCluster the pod's service account is
// used; with neither, the kubeconfig is found as kubectl finds it
// (KUBECONFIG, then ~/.kube/config). A configuration that cannot be
// loaded is a *ClientConfigError. Nothing is sent to the API server here.
func NewClients(inCluster bool, kubeconfig string) (kubernetes.Interface, metricsv.Interface, error) {
	cfg, err := restConfig(inCluster, kubeconfig)
	if err != nil {
		return nil, nil, err
	}
	cfg = rest.CopyConfig(cfg)
	cfg.UserAgent = userAgent
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("kubernetes client: %w", err)
	}
	mc, err := metricsv.NewForConfig(cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("metrics.k8s.io client: %w", err)
	}
	return kc, mc, nil
}

// Where NewClients looked for its client configuration, as
// ClientConfigError.Source says.
const (
	// SourceKubeconfig is an explicit kubeconfig file.
	SourceKubeconfig = "kubeconfig"
	// SourceInCluster is the pod's service account.
	SourceInCluster = "in-cluster"
	// SourceDefault is the kubeconfig kubectl would use (KUBECONFIG, then
	// ~/.kube/config).
	SourceDefault = "default"
)

// ClientConfigError is NewClients' error when no client configuration
// could be loaded from where it looked.
type ClientConfigError struct {
	// Source is SourceKubeconfig, SourceInCluster or SourceDefault.
	Source string
	// Path is the kubeconfig file with SourceKubeconfig.
	Path string
	// Err is client-go's error.
	Err error
}

// Error implements error.
func (e *ClientConfigError) Error() string {
	switch e.Source {
	case SourceKubeconfig:
		return fmt.Sprintf("kubeconfig %s: %v", e.Path, e.Err)
	case SourceInCluster:
		if e.NotInPod() {
			return fmt.Sprintf("in-cluster configuration: not running in a Kubernetes pod (%v)", e.Err)
		}
		return fmt.Sprintf("in-cluster configuration: %v", e.Err)
	default:
		return fmt.Sprintf("no usable kubeconfig from KUBECONFIG or ~/.kube/config: %v", e.Err)
	}
}

// Unwrap returns client-go's error.
func (e *ClientConfigError) Unwrap() error { return e.Err }

// NotInPod reports whether the in-cluster configuration failed because
// the process does not run in a Kubernetes pod.
func (e *ClientConfigError) NotInPod() bool { return errors.Is(e.Err, rest.ErrNotInCluster) }

// restConfig picks the client configuration inCluster and kubeconfig ask
// for.
func restConfig(inCluster bool, kubeconfig string) (*rest.Config, error) {
	switch {
	case kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, &ClientConfigError{Source: SourceKubeconfig, Path: kubeconfig, Err: err}
		}
		return cfg, nil
	case inCluster:
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, &ClientConfigError{Source: SourceInCluster, Err: err}
		}
		return cfg, nil
	default:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, &ClientConfigError{Source: SourceDefault, Err: err}
		}
		return cfg, nil
	}
}
