package e2e

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
)

// The chart's control-plane TLS and NetworkPolicies, checked on each
// helmCase's render.

// tlsSet turns on TLS with client certificates and a server name, and names
// the token Secret by the old value auth.existingSecret.
var tlsSet = []string{"controlPlane.tls.enabled=true", "controlPlane.tls.clientAuth=true",
	"controlPlane.tls.serverName=orchestrator.example", "auth.existingSecret=old-token"}

// secretItems returns the items of the volume of spec that mounts Secret
// name (nil items: the whole Secret), and whether there is one.
func secretItems(spec corev1.PodSpec, name string) ([]string, bool) {
	i := slices.IndexFunc(spec.Volumes, func(v corev1.Volume) bool { return v.Secret != nil && v.Secret.SecretName == name })
	if i < 0 {
		return nil, false
	}
	s := spec.Volumes[i].Secret
	keys := []string{}
	for _, it := range s.Items {
		keys = append(keys, it.Key)
	}
	return keys, s.Optional != nil && !*s.Optional
}

// checkChartTLS wants, with c.tls, the orchestrator to serve TLS and ask
// for client certificates from <fullname>-control-tls, the executors to
// verify it with that Secret's ca.crt alone and present the certificate of
// <fullname>-executor-tls; without c.tls, no TLS flag at all.
func checkChartTLS(t *testing.T, c helmCase, r rendered) {
	t.Helper()
	oc, ec := r.orch.Spec.Containers[0], r.exec.Spec.Containers[0]
	if !c.tls {
		for _, a := range append(slices.Clone(oc.Args), ec.Args...) {
			if strings.HasPrefix(a, "-tls-") {
				t.Errorf("TLS is off, yet an arg is %q", a)
			}
		}
		return
	}
	for _, want := range [][2]string{
		{"-tls-cert", "/var/run/secrets/imager-tls/tls.crt"}, {"-tls-key", "/var/run/secrets/imager-tls/tls.key"},
		{"-tls-client-ca", "/var/run/secrets/imager-tls/ca.crt"},
	} {
		if got := flagArg(oc.Args, want[0]); got != want[1] {
			t.Errorf("orchestrator %s=%q, want %q", want[0], got, want[1])
		}
	}
	for _, want := range [][2]string{
		{"-tls-ca", "/var/run/secrets/imager-tls/ca.crt"}, {"-tls-server-name", "orchestrator.example"},
		{"-tls-cert", "/var/run/secrets/imager-client-tls/tls.crt"}, {"-tls-key", "/var/run/secrets/imager-client-tls/tls.key"},
	} {
		if got := flagArg(ec.Args, want[0]); got != want[1] {
			t.Errorf("executor %s=%q, want %q", want[0], got, want[1])
		}
	}
	server, client := c.fullname+"-control-tls", c.fullname+"-executor-tls"
	if keys, required := secretItems(r.orch.Spec, server); !sameSet(keys, []string{"tls.crt", "tls.key", "ca.crt"}) || !required {
		t.Errorf("orchestrator mounts %q of the Secret %s (required %v); want tls.crt, tls.key, ca.crt, required", keys, server, required)
	}
	if keys, required := secretItems(r.exec.Spec, server); !slices.Equal(keys, []string{"ca.crt"}) || !required {
		t.Errorf("executor mounts %q of the Secret %s (required %v); want ca.crt only, never the orchestrator's key", keys, server, required)
	}
	if keys, required := secretItems(r.exec.Spec, client); !sameSet(keys, []string{"tls.crt", "tls.key"}) || !required {
		t.Errorf("executor mounts %q of the Secret %s (required %v); want tls.crt and tls.key, required", keys, client, required)
	}
}

// policies returns the rendered NetworkPolicies by name.
func policies(t *testing.T, objs []*unstructured.Unstructured) map[string]*networkingv1.NetworkPolicy {
	t.Helper()
	out := map[string]*networkingv1.NetworkPolicy{}
	for _, u := range objs {
		if u.GetKind() == "NetworkPolicy" {
			np := &networkingv1.NetworkPolicy{}
			typed(t, u, np)
			out[np.Name] = np
		}
	}
	return out
}

// hasPort reports whether ports holds the TCP port n.
func hasPort(ports []networkingv1.NetworkPolicyPort, n int32) bool {
	return slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool { return p.Port != nil && p.Port.IntVal == n })
}

// checkChartPolicies wants one policy for the orchestrator's pods and one
// for the executors': the control plane admits the release's executors
// only, the orchestrator reaches the API (nothing in url mode), the
// executors reach the orchestrator and the target namespace (anywhere in
// url mode).
func checkChartPolicies(t *testing.T, c helmCase, objs []*unstructured.Unstructured, r rendered) {
	t.Helper()
	nps := policies(t, objs)
	orch, exec := nps[c.fullname+"-orchestrator"], nps[c.fullname+"-executor"]
	if len(nps) != 2 || orch == nil || exec == nil {
		t.Fatalf("NetworkPolicies %v; want %s-orchestrator and %s-executor", nps, c.fullname, c.fullname)
	}
	for _, p := range []struct {
		np         *networkingv1.NetworkPolicy
		pods, rest map[string]string
	}{{orch, r.orch.Labels, r.exec.Labels}, {exec, r.exec.Labels, r.orch.Labels}} {
		if !selectorMatches(t, &p.np.Spec.PodSelector, p.pods) || selectorMatches(t, &p.np.Spec.PodSelector, p.rest) || len(p.np.Spec.PolicyTypes) != 2 {
			t.Errorf("NetworkPolicy %s: selector %+v, types %v; want exactly the pods %v, Ingress and Egress", p.np.Name, p.np.Spec.PodSelector, p.np.Spec.PolicyTypes, p.pods)
		}
	}
	for _, rule := range orch.Spec.Ingress {
		if hasPort(rule.Ports, 8100) && (len(rule.From) != 1 || rule.From[0].NamespaceSelector != nil || rule.From[0].PodSelector == nil ||
			!selectorMatches(t, rule.From[0].PodSelector, r.exec.Labels) || selectorMatches(t, rule.From[0].PodSelector, r.orch.Labels)) {
			t.Errorf("orchestrator policy admits %+v to the control plane; want the release's executors only", rule.From)
		}
	}
	if c.mode == "url" {
		if len(orch.Spec.Egress) != 0 {
			t.Errorf("url mode: orchestrator egress %+v, want none", orch.Spec.Egress)
		}
	} else if len(orch.Spec.Egress) != 1 || !hasPort(orch.Spec.Egress[0].Ports, 443) || !hasPort(orch.Spec.Egress[0].Ports, 6443) {
		t.Errorf("orchestrator egress %+v, want the API ports 443 and 6443", orch.Spec.Egress)
	}
	var toOrch, toTarget bool
	for _, rule := range exec.Spec.Egress {
		for _, peer := range rule.To {
			toOrch = toOrch || peer.PodSelector != nil && selectorMatches(t, peer.PodSelector, r.orch.Labels) && hasPort(rule.Ports, 8100)
			toTarget = toTarget || peer.NamespaceSelector != nil && peer.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] == c.targetNS
		}
		toTarget = toTarget || c.mode == "url" && len(rule.To) == 0 && len(rule.Ports) == 0
	}
	if !toOrch || !toTarget {
		t.Errorf("executor egress %+v: to the orchestrator's 8100 %v, to the target %v; want both", exec.Spec.Egress, toOrch, toTarget)
	}
}

// TestHelmNetworkPolicyValues renders the chart with networkPolicy.enabled
// false (no policy at all) and with a target rule of its own (used as is).
func TestHelmNetworkPolicyValues(t *testing.T) {
	helm := cluster.Helm(t)
	c := helmCases[0]
	if n := len(policies(t, decodeObjects(t, c.render(t, helm, "--set", "networkPolicy.enabled=false")))); n != 0 {
		t.Errorf("networkPolicy.enabled=false renders %d NetworkPolicies, want 0", n)
	}
	objs := decodeObjects(t, c.render(t, helm, "--set-json", `networkPolicy.target={"to":[{"ipBlock":{"cidr":"10.1.0.0/16"}}],"ports":[{"port":8443}]}`))
	exec := policies(t, objs)["imager-executor"]
	if exec == nil || !slices.ContainsFunc(exec.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
		return len(r.To) == 1 && r.To[0].IPBlock != nil && r.To[0].IPBlock.CIDR == "10.1.0.0/16" && hasPort(r.Ports, 8443)
	}) {
		t.Errorf("networkPolicy.target: executor policy %+v; want an egress rule to 10.1.0.0/16 port 8443", exec)
	}
}
