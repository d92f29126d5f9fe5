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
// (KUBECONFIG, then ~/.kube/config). Errors name the flag to fix. Nothing
// is sent to the API server here.
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

// restConfig picks the client configuration the flags ask for.
func restConfig(inCluster bool, kubeconfig string) (*rest.Config, error) {
	switch {
	case kubeconfig != "":
		rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("-kubeconfig %s: %w", kubeconfig, err)
		}
		return cfg, nil
	case inCluster:
		cfg, err := rest.InClusterConfig()
		if errors.Is(err, rest.ErrNotInCluster) {
			return nil, fmt.Errorf("-in-cluster: not running in a Kubernetes pod (%w); outside the cluster pass -kubeconfig", err)
		}
		if err != nil {
			return nil, fmt.Errorf("-in-cluster: %w", err)
		}
		return cfg, nil
	default:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("-in-cluster=false and no -kubeconfig: no usable kubeconfig from KUBECONFIG or ~/.kube/config (%w); pass -kubeconfig", err)
		}
		return cfg, nil
	}
}
