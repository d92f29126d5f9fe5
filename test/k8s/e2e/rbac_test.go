package e2e

import (
	"slices"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// orchestratorRules is everything the orchestrator may do in its target
// namespace, as "verb resource.group": reading what target discovery
// watches and the pods' usage, nothing more.
var orchestratorRules = func() []string {
	var out []string
	for _, r := range []string{"deployments.apps", "pods", "services", "endpointslices.discovery.k8s.io"} {
		// Informers list and watch; nothing is read with get.
		for _, v := range []string{"list", "watch"} {
			out = append(out, v+" "+r)
		}
	}
	out = append(out, "list pods.metrics.k8s.io")
	slices.Sort(out)
	return out
}()

// granted is what the service account imager/name may do in namespace
// beyond what every service account may (self reviews, discovery, and the
// like from the default cluster roles), as sorted "verb resource.group".
func (e *env) granted(t *testing.T, name, namespace string) []string {
	t.Helper()
	base := e.resourceRules(t, e.c.ServiceAccountConfig(imagerNS, "no-bindings"), namespace)
	got := e.resourceRules(t, e.c.ServiceAccountConfig(imagerNS, name), namespace)
	return slices.DeleteFunc(got, func(r string) bool { return slices.Contains(base, r) })
}

// resourceRules expands what cfg's user may do in namespace into sorted
// "verb resource.group" strings.
func (e *env) resourceRules(t *testing.T, cfg *rest.Config, namespace string) []string {
	t.Helper()
	review := &authzv1.SelfSubjectRulesReview{Spec: authzv1.SelfSubjectRulesReviewSpec{Namespace: namespace}}
	got, err := kubernetes.NewForConfigOrDie(cfg).AuthorizationV1().SelfSubjectRulesReviews().Create(e.ctx, review, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("SelfSubjectRulesReview in %s: %v", namespace, err)
	}
	if got.Status.Incomplete {
		t.Fatalf("SelfSubjectRulesReview in %s is incomplete: %s", namespace, got.Status.EvaluationError)
	}
	var out []string
	for _, r := range got.Status.ResourceRules {
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				if g != "" {
					res += "." + g
				}
				for _, v := range r.Verbs {
					out = append(out, v+" "+res)
				}
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestOrchestratorRBAC checks deploy/k8s/rbac.yaml on a real authorizer by
// impersonating its service accounts: the orchestrator may read exactly
// what target discovery and pod usage need in namespace imager, and
// nothing else anywhere; the executor may do nothing at all.
func TestOrchestratorRBAC(t *testing.T) {
	e := newEnv(t)
	orchCfg := e.c.ServiceAccountConfig(imagerNS, orchestratorSA)
	execCfg := e.c.ServiceAccountConfig(imagerNS, executorSA)

	t.Run("exact rules", func(t *testing.T) {
		if got := e.granted(t, orchestratorSA, imagerNS); !slices.Equal(got, orchestratorRules) {
			t.Errorf("orchestrator may, in %s:\n%q\nwant exactly\n%q", imagerNS, got, orchestratorRules)
		}
		for _, ns := range []string{"default", "kube-system", "imagerdemo"} {
			if got := e.granted(t, orchestratorSA, ns); len(got) != 0 {
				t.Errorf("orchestrator may, in %s: %q; want nothing", ns, got)
			}
		}
		if got := e.granted(t, executorSA, imagerNS); len(got) != 0 {
			t.Errorf("executor may, in %s: %q; want nothing", imagerNS, got)
		}
	})

	tests := []struct {
		name  string
		cfg   *rest.Config
		attrs authzv1.ResourceAttributes
		want  bool
	}{
		{"orchestrator watches deployments", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "watch", Group: "apps", Resource: "deployments"}, true},
		{"orchestrator lists endpointslices", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "list", Group: "discovery.k8s.io", Resource: "endpointslices"}, true},
		{"orchestrator lists pod metrics", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "list", Group: "metrics.k8s.io", Resource: "pods"}, true},
		{"orchestrator gets a pod by name", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "pods"}, false},
		{"orchestrator creates pods", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "create", Resource: "pods"}, false},
		{"orchestrator deletes pods", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "delete", Resource: "pods"}, false},
		{"orchestrator execs into pods", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "create", Resource: "pods", Subresource: "exec"}, false},
		{"orchestrator reads pod logs", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "pods", Subresource: "log"}, false},
		{"orchestrator scales deployments", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "update", Group: "apps", Resource: "deployments", Subresource: "scale"}, false},
		{"orchestrator gets secrets", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "secrets"}, false},
		{"orchestrator reads configmaps", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "configmaps"}, false},
		{"orchestrator watches pod metrics", orchCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "watch", Group: "metrics.k8s.io", Resource: "pods"}, false},
		{"orchestrator lists pods in default", orchCfg, authzv1.ResourceAttributes{Namespace: "default", Verb: "list", Resource: "pods"}, false},
		{"orchestrator lists pods in all namespaces", orchCfg, authzv1.ResourceAttributes{Verb: "list", Resource: "pods"}, false},
		{"orchestrator lists nodes", orchCfg, authzv1.ResourceAttributes{Verb: "list", Resource: "nodes"}, false},
		{"orchestrator lists namespaces", orchCfg, authzv1.ResourceAttributes{Verb: "list", Resource: "namespaces"}, false},
		{"orchestrator lists node metrics", orchCfg, authzv1.ResourceAttributes{Verb: "list", Group: "metrics.k8s.io", Resource: "nodes"}, false},
		{"executor lists pods", execCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "list", Resource: "pods"}, false},
		{"executor gets services", execCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "services"}, false},
		{"executor gets secrets", execCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "get", Resource: "secrets"}, false},
		{"executor lists pod metrics", execCfg, authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "list", Group: "metrics.k8s.io", Resource: "pods"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := e.canI(t, tt.cfg, tt.attrs); got != tt.want {
				t.Errorf("SelfSubjectAccessReview %+v as %s: allowed = %v, want %v", tt.attrs, tt.cfg.Impersonate.UserName, got, tt.want)
			}
		})
	}

	t.Run("kubectl auth can-i", func(t *testing.T) {
		kc := e.orchestratorKubeconfig(t)
		for _, tt := range []struct {
			args []string
			want string
		}{
			{[]string{"watch", "endpointslices.discovery.k8s.io", "-n", imagerNS}, "yes"},
			{[]string{"get", "secrets", "-n", imagerNS}, "no"},
			{[]string{"list", "pods", "--all-namespaces"}, "no"},
		} {
			out, err := e.c.KubectlAs(kc, append([]string{"auth", "can-i"}, tt.args...)...)
			if got := strings.TrimSpace(out); got != tt.want || (err == nil) != (tt.want == "yes") {
				t.Errorf("kubectl auth can-i %q as the orchestrator: %q (err %v), want %q", tt.args, got, err, tt.want)
			}
		}
	})

	t.Run("real requests", func(t *testing.T) {
		cs := kubernetes.NewForConfigOrDie(orchCfg)
		if _, err := cs.CoreV1().Pods(imagerNS).List(e.ctx, metav1.ListOptions{}); err != nil {
			t.Errorf("orchestrator lists pods in %s: %v", imagerNS, err)
		}
		pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "intruder", Namespace: imagerNS}, Spec: webPodSpec(podPort)}
		if _, err := cs.CoreV1().Pods(imagerNS).Create(e.ctx, pod, metav1.CreateOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("orchestrator creates a pod: err = %v, want Forbidden", err)
		}
		if _, err := cs.CoreV1().Pods("default").List(e.ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("orchestrator lists pods in default: err = %v, want Forbidden", err)
		}
		if _, err := kubernetes.NewForConfigOrDie(execCfg).CoreV1().Pods(imagerNS).List(e.ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("executor lists pods in %s: err = %v, want Forbidden", imagerNS, err)
		}
	})
}
