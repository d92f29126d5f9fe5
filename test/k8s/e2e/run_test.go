package e2e

import (
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestRunJobsApply applies deploy/run (one test as Jobs) server-side to an
// empty cluster and reads back what the API server stored after defaulting:
// the orchestrator Job never retries, the executor Job runs as many pods as
// the orchestrator expects, imager's long-lived Deployments are not part
// of the tree, and the RBAC is deploy/k8s's least privilege: the
// orchestrator may read its target namespace's discovery objects and
// nothing else, the executors may do nothing.
func TestRunJobsApply(t *testing.T) {
	e := startEnv(t)
	dir := filepath.Join(repoRoot(t), "deploy/run")
	ids := kustomizeIDs(t, e, dir)
	for _, want := range []string{"Job/imager/imager-orchestrator", "Job/imager/imager-executor", "Service/imager/imager-orchestrator",
		"Role/imager/imager-orchestrator-target", "RoleBinding/imager/imager-orchestrator-target"} {
		if !slices.Contains(ids, want) {
			t.Errorf("deploy/run renders %q, which lacks %s", ids, want)
		}
	}
	applyTree(t, e, dir, ids)

	orch, err := e.cs.BatchV1().Jobs(imagerNS).Get(e.ctx, "imager-orchestrator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Omitted, backoffLimit would default to 6: a failed test re-run six times.
	if b := orch.Spec.BackoffLimit; b == nil || *b != 0 {
		t.Errorf("stored orchestrator Job backoffLimit = %v, want 0", b)
	}
	if p, c := orch.Spec.Parallelism, orch.Spec.Completions; p == nil || *p != 1 || c == nil || *c != 1 {
		t.Errorf("stored orchestrator Job parallelism %v completions %v, want 1 and 1", p, c)
	}
	ospec := orch.Spec.Template.Spec
	if ospec.RestartPolicy != corev1.RestartPolicyNever || ospec.ServiceAccountName != orchestratorSA {
		t.Errorf("orchestrator pod: restartPolicy %q, service account %q; want Never and %s", ospec.RestartPolicy, ospec.ServiceAccountName, orchestratorSA)
	}
	args := ospec.Containers[0].Args
	expect := flagArg(args, "-expect-executors")
	if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-threshold=") }) ||
		!slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "-duration=") }) || expect == "" {
		t.Errorf("orchestrator args %q: want -duration, -threshold and -expect-executors", args)
	}
	// The kubelet reads the summary -termination-log writes from the path
	// the API server defaulted.
	if tl, mp := flagArg(args, "-termination-log"), ospec.Containers[0].TerminationMessagePath; tl == "" || tl != mp {
		t.Errorf("orchestrator: -termination-log=%q, stored terminationMessagePath %q; want them equal", tl, mp)
	}
	if sc := ospec.Containers[0].SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("orchestrator container security context %+v: want a read-only root", sc)
	}

	exec, err := e.cs.BatchV1().Jobs(imagerNS).Get(e.ctx, "imager-executor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	espec := exec.Spec.Template.Spec
	if p, c := exec.Spec.Parallelism, exec.Spec.Completions; p == nil || c == nil || *p != *c || expect != strconv.Itoa(int(*p)) {
		t.Errorf("stored executor Job parallelism %v completions %v, want both = -expect-executors=%s", p, c, expect)
	}
	if espec.RestartPolicy == corev1.RestartPolicyAlways || !slices.Contains(espec.Containers[0].Args, "-exit-when-done") {
		t.Errorf("executor pod: restartPolicy %q, args %q; want no Always and -exit-when-done", espec.RestartPolicy, espec.Containers[0].Args)
	}
	if espec.ServiceAccountName != executorSA || espec.AutomountServiceAccountToken == nil || *espec.AutomountServiceAccountToken {
		t.Errorf("executor pod: service account %q, automount %v; want %s without a token", espec.ServiceAccountName, espec.AutomountServiceAccountToken, executorSA)
	}

	// Only the Jobs run imager: no Deployment of its own was created.
	for _, name := range []string{"imager-orchestrator", "imager-executor"} {
		if _, err := e.cs.AppsV1().Deployments(imagerNS).Get(e.ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("Deployment %s: err = %v, want NotFound (deploy/run drops deploy/k8s's Deployments)", name, err)
		}
	}

	// RBAC by impersonation: exactly the target-discovery reads in imager.
	e.waitAllowed(t, e.c.ServiceAccountConfig(imagerNS, orchestratorSA),
		authzv1.ResourceAttributes{Namespace: imagerNS, Verb: "watch", Resource: "pods"})
	if got := e.granted(t, orchestratorSA, imagerNS); !slices.Equal(got, orchestratorRules) {
		t.Errorf("orchestrator may %q in %s, want exactly %q", got, imagerNS, orchestratorRules)
	}
	for _, attrs := range []authzv1.ResourceAttributes{
		{Namespace: imagerNS, Verb: "create", Group: "batch", Resource: "jobs"},
		{Namespace: imagerNS, Verb: "get", Resource: "secrets", Name: "imager-control-token"},
		{Namespace: imagerNS, Verb: "delete", Resource: "pods"},
		{Namespace: "default", Verb: "list", Resource: "pods"},
	} {
		if e.canI(t, e.c.ServiceAccountConfig(imagerNS, orchestratorSA), attrs) {
			t.Errorf("orchestrator may %s %s/%s in %q", attrs.Verb, attrs.Group, attrs.Resource, attrs.Namespace)
		}
	}
	if got := e.granted(t, executorSA, imagerNS); len(got) != 0 {
		t.Errorf("executor may %q in %s, want nothing", got, imagerNS)
	}
}

// flagArg returns the value of -name=value in args, or "".
func flagArg(args []string, name string) string {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
	}
	return ""
}
