package e2e

import (
	"maps"
	"path/filepath"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/PeladoCollado/imager/internal/testutil/cluster"
)

// The NetworkPolicies of deploy/ checked against the pods of each rendered
// tree: their selectors pick real pods, their ports are those pods' ports,
// only executors reach the control plane, and executors reach the
// orchestrator and the target the orchestrator aims at.

// workload is the pod template of a Deployment or Job in a rendered tree.
type workload struct {
	name, namespace string
	labels          map[string]string
	spec            corev1.PodSpec
}

// netTree is what the NetworkPolicy checks read from a rendered tree.
type netTree struct {
	workloads  []workload
	namespaces map[string]map[string]string // labels as the API server sets them
	policies   []*networkingv1.NetworkPolicy
}

// newNetTree sorts objs into workloads, namespaces and policies.
func newNetTree(t *testing.T, objs []object) netTree {
	t.Helper()
	n := netTree{namespaces: map[string]map[string]string{}}
	for _, o := range objs {
		switch obj := o.obj.(type) {
		case *corev1.Namespace:
			l := map[string]string{"kubernetes.io/metadata.name": obj.Name}
			for k, v := range obj.Labels {
				l[k] = v
			}
			n.namespaces[obj.Name] = l
		case *networkingv1.NetworkPolicy:
			n.policies = append(n.policies, obj)
		default:
			if tmpl, ok := podTemplate(o.obj); ok {
				n.workloads = append(n.workloads, workload{o.name, o.namespace, tmpl.Labels, tmpl.Spec})
			}
		}
	}
	return n
}

// selects reports whether sel (nil: unset, never selects) matches l.
func selects(t *testing.T, sel *metav1.LabelSelector, l map[string]string) bool {
	t.Helper()
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Fatalf("selector %+v: %v", sel, err)
	}
	return s.Matches(labels.Set(l))
}

// selected returns the workloads of namespace ns that sel picks.
func (n netTree) selected(t *testing.T, ns string, sel metav1.LabelSelector) []workload {
	var out []workload
	for _, w := range n.workloads {
		if w.namespace == ns && selects(t, &sel, w.labels) {
			out = append(out, w)
		}
	}
	return out
}

// peerPods returns the workloads a peer of a policy in namespace ns picks,
// and whether it names pods of the tree at all (false for ipBlock or
// namespace-only peers, and for namespaces outside the tree, such as
// Prometheus's).
func (n netTree) peerPods(t *testing.T, ns string, p networkingv1.NetworkPolicyPeer) ([]workload, bool) {
	if p.PodSelector == nil {
		return nil, false
	}
	if p.NamespaceSelector != nil && !slices.ContainsFunc(slices.Collect(maps.Values(n.namespaces)), func(l map[string]string) bool {
		return selects(t, p.NamespaceSelector, l)
	}) {
		return nil, false
	}
	var out []workload
	for _, w := range n.workloads {
		inNS := w.namespace == ns
		if p.NamespaceSelector != nil {
			inNS = selects(t, p.NamespaceSelector, n.namespaces[w.namespace])
		}
		if inNS && selects(t, p.PodSelector, w.labels) {
			out = append(out, w)
		}
	}
	return out, true
}

// admits reports whether a rule's ports include port (no ports: all).
func admits(ports []networkingv1.NetworkPolicyPort, port int32) bool {
	return len(ports) == 0 || slices.ContainsFunc(ports, func(p networkingv1.NetworkPolicyPort) bool {
		return p.Port != nil && p.Port.Type == intstr.Int && p.Port.IntVal == port
	})
}

// hasPorts wants every numbered port of a rule to be a container port of w.
func hasPorts(t *testing.T, where string, w workload, ports []networkingv1.NetworkPolicyPort) {
	t.Helper()
	for _, p := range ports {
		if p.Port == nil || p.Port.Type != intstr.Int {
			t.Errorf("%s: port %v: want a number (named ports are not enforced everywhere)", where, p.Port)
			continue
		}
		if !slices.ContainsFunc(w.spec.Containers[0].Ports, func(cp corev1.ContainerPort) bool { return cp.ContainerPort == p.Port.IntVal }) {
			t.Errorf("%s: port %d is no container port of %s/%s", where, p.Port.IntVal, w.namespace, w.name)
		}
	}
}

// checkNetworkPolicies runs every check of this file on one tree.
func checkNetworkPolicies(t *testing.T, n netTree) {
	t.Helper()
	isolated := map[string]bool{}
	for _, np := range n.policies {
		where := "NetworkPolicy " + np.Namespace + "/" + np.Name
		pods := n.selected(t, np.Namespace, np.Spec.PodSelector)
		if len(pods) == 0 || !slices.Equal(np.Spec.PolicyTypes, []networkingv1.PolicyType{"Ingress", "Egress"}) {
			t.Errorf("%s: selects %d pods, policy types %v; want some pods, Ingress and Egress", where, len(pods), np.Spec.PolicyTypes)
		}
		for _, w := range pods {
			isolated[w.name] = true
			for _, r := range np.Spec.Ingress {
				hasPorts(t, where+" ingress", w, r.Ports)
				checkPeers(t, n, where+" ingress", np.Namespace, r.From)
			}
			checkIngressCovers(t, where, w, np.Spec.Ingress)
		}
		for _, r := range np.Spec.Egress {
			for _, w := range checkPeers(t, n, where+" egress", np.Namespace, r.To) {
				hasPorts(t, where+" egress", w, r.Ports)
			}
		}
	}
	for _, name := range []string{"imager-orchestrator", "imager-executor"} {
		if !isolated[name] {
			t.Errorf("no NetworkPolicy selects the %s pods", name)
		}
	}
	checkControlPlanePolicy(t, n)
}

// checkPeers wants every pod peer to pick some pod of the tree, and
// returns the pods the peers pick.
func checkPeers(t *testing.T, n netTree, where, ns string, peers []networkingv1.NetworkPolicyPeer) []workload {
	t.Helper()
	var all []workload
	for _, p := range peers {
		pods, named := n.peerPods(t, ns, p)
		if named && len(pods) == 0 {
			t.Errorf("%s: peer %+v picks no pod of the tree", where, p)
		}
		all = append(all, pods...)
	}
	return all
}

// checkIngressCovers wants every container port of w admitted by some
// ingress rule: a port no rule admits would be unreachable (metrics
// scraping, the control plane).
func checkIngressCovers(t *testing.T, where string, w workload, rules []networkingv1.NetworkPolicyIngressRule) {
	t.Helper()
	for _, cp := range w.spec.Containers[0].Ports {
		if !slices.ContainsFunc(rules, func(r networkingv1.NetworkPolicyIngressRule) bool { return admits(r.Ports, cp.ContainerPort) }) {
			t.Errorf("%s: no ingress rule admits %s port %s (%d)", where, w.name, cp.Name, cp.ContainerPort)
		}
	}
}

// checkControlPlanePolicy wants the orchestrator's gRPC port admitted from
// executor pods only, executors allowed to reach it and the orchestrator's
// target, and the orchestrator allowed to reach the Kubernetes API.
func checkControlPlanePolicy(t *testing.T, n netTree) {
	t.Helper()
	var orch *workload
	for i, w := range n.workloads {
		if w.name == "imager-orchestrator" {
			orch = &n.workloads[i]
		}
	}
	if orch == nil {
		t.Fatal("no orchestrator in the tree")
	}
	args := orch.spec.Containers[0].Args
	targetNS, targetDep := flagValue(args, "-target-namespace"), flagValue(args, "-target-deployment")
	var execReachOrch, execReachTarget, apiPorts bool
	for _, np := range n.policies {
		for _, w := range n.selected(t, np.Namespace, np.Spec.PodSelector) {
			switch w.name {
			case "imager-orchestrator":
				for _, r := range np.Spec.Ingress {
					if !admits(r.Ports, 8100) {
						continue
					}
					for _, p := range r.From {
						pods, named := n.peerPods(t, np.Namespace, p)
						if !named || p.NamespaceSelector != nil || slices.ContainsFunc(pods, func(w workload) bool { return w.name != "imager-executor" }) {
							t.Errorf("NetworkPolicy %s admits %+v to the control plane; want imager's executors only", np.Name, p)
						}
					}
				}
				apiPorts = apiPorts || slices.ContainsFunc(np.Spec.Egress, func(r networkingv1.NetworkPolicyEgressRule) bool {
					return len(r.To) == 0 && admits(r.Ports, 443) && admits(r.Ports, 6443)
				})
			case "imager-executor":
				for _, r := range np.Spec.Egress {
					for _, p := range checkPeers(t, n, np.Name, np.Namespace, r.To) {
						execReachOrch = execReachOrch || p.name == "imager-orchestrator" && admits(r.Ports, 8100)
						execReachTarget = execReachTarget || p.name == targetDep && p.namespace == targetNS && admits(r.Ports, 8080)
					}
				}
			}
		}
	}
	if !execReachOrch || !execReachTarget || !apiPorts {
		t.Errorf("executors may reach the orchestrator's 8100: %v, the target %s/%s on 8080: %v; the orchestrator the API on 443 and 6443: %v; want all",
			execReachOrch, targetNS, targetDep, execReachTarget, apiPorts)
	}
}

func TestManifestNetworkPolicies(t *testing.T) {
	kubectl := cluster.Binaries(t).Kubectl
	root := repoRoot(t)
	for _, dir := range []string{"deploy/k8s", "deploy/demo", "deploy/run", "deploy/scenario", "deploy/tls"} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			n := newNetTree(t, kustomizeBuild(t, kubectl, filepath.Join(root, dir)))
			if len(n.policies) != 2 {
				t.Fatalf("%s renders %d NetworkPolicies, want 2 (orchestrator and executors)", dir, len(n.policies))
			}
			checkNetworkPolicies(t, n)
		})
	}
}
