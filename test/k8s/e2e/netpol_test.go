package e2e

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// What the API server stored of deploy/k8s's NetworkPolicies and of
// deploy/tls's control-plane TLS, read back after a server-side apply.

// selectorMatches reports whether the stored selector sel picks l.
func selectorMatches(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("stored selector %+v: %v", sel, err)
	}
	return s.Matches(labels.Set(l))
}

// checkStoredPolicies wants the stored policy of the orchestrator and of
// the executors to isolate both directions of their Deployment's pods, and
// the orchestrator's control-plane port open to the executor pods only.
func checkStoredPolicies(t *testing.T, e *env) {
	t.Helper()
	pods := map[string]map[string]string{}
	for _, name := range []string{"imager-orchestrator", "imager-executor"} {
		d, err := e.cs.AppsV1().Deployments(imagerNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		pods[name] = d.Spec.Template.Labels
	}
	for name, podLabels := range pods {
		np, err := e.cs.NetworkingV1().NetworkPolicies(imagerNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("NetworkPolicy %s: %v", name, err)
		}
		if !selectorMatches(t, &np.Spec.PodSelector, podLabels) || len(np.Spec.PolicyTypes) != 2 {
			t.Errorf("NetworkPolicy %s: selector %+v, types %v; want the Deployment's pods %v, Ingress and Egress",
				name, np.Spec.PodSelector, np.Spec.PolicyTypes, podLabels)
		}
		for _, other := range pods {
			if other["app.kubernetes.io/name"] != podLabels["app.kubernetes.io/name"] && selectorMatches(t, &np.Spec.PodSelector, other) {
				t.Errorf("NetworkPolicy %s also selects pods %v", name, other)
			}
		}
		if name != "imager-orchestrator" {
			continue
		}
		for _, r := range np.Spec.Ingress {
			if !slices.ContainsFunc(r.Ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.IntVal == 8100 }) {
				continue
			}
			if len(r.From) != 1 || r.From[0].PodSelector == nil || r.From[0].NamespaceSelector != nil ||
				!selectorMatches(t, r.From[0].PodSelector, pods["imager-executor"]) || selectorMatches(t, r.From[0].PodSelector, pods["imager-orchestrator"]) {
				t.Errorf("stored control-plane rule admits %+v; want the executor pods only", r.From)
			}
		}
	}
}

// checkStoredTLS wants deploy/tls's orchestrator to serve TLS from the
// Secret imager-control-tls and its executors to mount only that Secret's
// ca.crt.
func checkStoredTLS(t *testing.T, e *env) {
	t.Helper()
	want := map[string][]string{
		"imager-orchestrator": {"-tls-cert=/var/run/secrets/imager-tls/tls.crt", "-tls-key=/var/run/secrets/imager-tls/tls.key"},
		"imager-executor":     {"-tls-ca=/var/run/secrets/imager-tls/ca.crt"},
	}
	for name, args := range want {
		d, err := e.cs.AppsV1().Deployments(imagerNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		spec := d.Spec.Template.Spec
		for _, a := range args {
			if !slices.Contains(spec.Containers[0].Args, a) {
				t.Errorf("stored %s args %q lack %s", name, spec.Containers[0].Args, a)
			}
		}
		i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool {
			return v.Secret != nil && v.Secret.SecretName == "imager-control-tls"
		})
		if i < 0 {
			t.Errorf("stored %s mounts no Secret imager-control-tls: %+v", name, spec.Volumes)
			continue
		}
		items := spec.Volumes[i].Secret.Items
		if name == "imager-executor" && (len(items) != 1 || items[0].Key != "ca.crt") {
			t.Errorf("stored executor mounts %+v of imager-control-tls; want ca.crt only", items)
		}
	}
}
