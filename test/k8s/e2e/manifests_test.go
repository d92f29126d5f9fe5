package e2e

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// kustomizeIDs renders dir with the harness's `kubectl kustomize` and
// returns "Kind/namespace/name" of every object, sorted.
func kustomizeIDs(t *testing.T, e *env, dir string) []string {
	t.Helper()
	out, err := e.c.Kubectl("kustomize", dir)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(out), 4096)
	var ids []string
	for {
		var u unstructured.Unstructured
		err := dec.Decode(&u.Object)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("decode kustomize output of %s: %v", dir, err)
		}
		if u.Object == nil {
			continue
		}
		ids = append(ids, u.GetKind()+"/"+u.GetNamespace()+"/"+u.GetName())
	}
	sort.Strings(ids)
	return ids
}

// applyTree applies a kustomize tree server-side, so the API server
// validates every object, and wants one "serverside-applied" line per
// rendered object.
func applyTree(t *testing.T, e *env, dir string, want []string) {
	t.Helper()
	out, err := e.c.Kubectl("apply", "--server-side", "-k", dir)
	if err != nil {
		t.Fatalf("apply -k %s: %v", dir, err)
	}
	if n := strings.Count(out, "serverside-applied"); n != len(want) {
		t.Errorf("apply -k %s applied %d objects, want %d:\n%s", dir, n, len(want), out)
	}
}

// TestManifestsApply renders deploy/k8s, deploy/demo, deploy/tls and
// deploy/scenario with kubectl kustomize and applies them server-side to a
// real API server, which validates and defaults every object (the
// NetworkPolicies included, whose selectors must pick the stored pods'
// labels); the orchestrator
// Deployment's mode variants pass a server-side dry run. The control-token
// Secret the pods mount is not in any tree (it must be created by hand),
// which does not stop the apply.
func TestManifestsApply(t *testing.T) {
	e := startEnv(t)
	root := repoRoot(t)
	trees := map[string][]string{}
	for _, tree := range []string{"deploy/demo", "deploy/k8s", "deploy/tls", "deploy/scenario"} {
		trees[tree] = kustomizeIDs(t, e, filepath.Join(root, tree))
		if len(trees[tree]) < 10 {
			t.Fatalf("kustomize %s rendered only %q", tree, trees[tree])
		}
	}

	// The demo first, on an empty cluster: its RBAC alone must give the
	// orchestrator its target namespace imagerdemo and nothing in imager.
	applyTree(t, e, filepath.Join(root, "deploy/demo"), trees["deploy/demo"])
	sa := e.c.ServiceAccountConfig(imagerNS, orchestratorSA)
	e.waitAllowed(t, sa, authzv1.ResourceAttributes{Namespace: "imagerdemo", Verb: "watch", Resource: "pods"})
	for _, attrs := range []authzv1.ResourceAttributes{
		{Namespace: imagerNS, Verb: "list", Resource: "pods"},
		{Namespace: imagerNS, Verb: "list", Group: "apps", Resource: "deployments"},
	} {
		if e.canI(t, sa, attrs) {
			t.Errorf("deploy/demo: the orchestrator may %s %s in %s; the demo grants only imagerdemo", attrs.Verb, attrs.Resource, attrs.Namespace)
		}
	}
	demo, err := e.cs.AppsV1().Deployments("imagerdemo").Get(e.ctx, "sumservice", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p := demo.Spec.Template.Spec.Containers[0].Ports; len(p) != 1 || p[0].Name != "http" || p[0].ContainerPort != 8080 {
		t.Errorf("imagerdemo/sumservice ports = %+v, want http 8080", p)
	}

	applyTree(t, e, filepath.Join(root, "deploy/k8s"), trees["deploy/k8s"])
	checkStoredPolicies(t, e)
	// deploy/tls over deploy/k8s: the same objects, TLS on the control plane.
	applyTree(t, e, filepath.Join(root, "deploy/tls"), trees["deploy/tls"])
	checkStoredTLS(t, e)
	applyTree(t, e, filepath.Join(root, "deploy/scenario"), trees["deploy/scenario"])
	for _, variant := range []string{"orchestrator-pod-mode.yaml", "orchestrator-service-mode.yaml", "orchestrator-url-mode.yaml"} {
		out, err := e.c.Kubectl("apply", "--server-side", "--dry-run=server", "-f", filepath.Join(root, "deploy/k8s", variant))
		if err != nil || !strings.Contains(out, "(server dry run)") {
			t.Errorf("server dry run of deploy/k8s/%s: %q, %v", variant, out, err)
		}
	}

	// What the API server stored, after the scenario tree went last.
	orch, err := e.cs.AppsV1().Deployments(imagerNS).Get(e.ctx, "imager-orchestrator", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pod := orch.Spec.Template.Spec
	c := pod.Containers[0]
	if pod.ServiceAccountName != orchestratorSA || !slices.Contains(c.Args, "-scenario=/scenario/scenario.lua") {
		t.Errorf("orchestrator: service account %q, args %q; want %s and the scenario", pod.ServiceAccountName, c.Args, orchestratorSA)
	}
	if sc := c.SecurityContext; sc == nil || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || c.ReadinessProbe == nil {
		t.Errorf("orchestrator container: security context %+v, readiness probe %v; want a read-only root and a probe", sc, c.ReadinessProbe)
	}
	var mounts []string
	for _, m := range c.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	if want := []string{"/var/run/secrets/imager", "/scenario"}; !sameSet(mounts, want) {
		t.Errorf("orchestrator mounts %q, want %q (deploy/scenario drops /config)", mounts, want)
	}
	if !slices.ContainsFunc(pod.Volumes, func(v corev1.Volume) bool {
		return v.Secret != nil && v.Secret.SecretName == "imager-control-token"
	}) {
		t.Errorf("orchestrator volumes %+v: want the Secret imager-control-token", pod.Volumes)
	}
	if _, err := e.cs.CoreV1().Secrets(imagerNS).Get(e.ctx, "imager-control-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("Secret imager-control-token: err = %v, want NotFound (no tree creates it)", err)
	}
	wantPorts := map[string]map[string]int32{
		"imager-orchestrator":     {"http": 8099, "grpc": 8100},
		"imager-executor-metrics": {"metrics": 9100},
	}
	for name, want := range wantPorts {
		svc, err := e.cs.CoreV1().Services(imagerNS).Get(e.ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]int32{}
		for _, p := range svc.Spec.Ports {
			got[p.Name] = p.Port
		}
		if !maps.Equal(got, want) || !strings.HasPrefix(svc.Spec.ClusterIP, "10.96.0.") {
			t.Errorf("Service %s: ports %v, cluster IP %q; want %v and an address from the service range", name, got, svc.Spec.ClusterIP, want)
		}
	}
	scenario, err := os.ReadFile(filepath.Join(root, "deploy/scenario/scenario.lua"))
	if err != nil {
		t.Fatal(err)
	}
	cm, err := e.cs.CoreV1().ConfigMaps(imagerNS).Get(e.ctx, "imager-scenario", metav1.GetOptions{})
	if err != nil || cm.Data["scenario.lua"] != string(scenario) {
		t.Errorf("ConfigMap imager-scenario: err %v, scenario.lua equal to the file: %v", err, err == nil && cm.Data["scenario.lua"] == string(scenario))
	}
	execSA, err := e.cs.CoreV1().ServiceAccounts(imagerNS).Get(e.ctx, executorSA, metav1.GetOptions{})
	if err != nil || execSA.AutomountServiceAccountToken == nil || *execSA.AutomountServiceAccountToken {
		t.Errorf("ServiceAccount %s: %v, automount %v; want automountServiceAccountToken false", executorSA, err, execSA)
	}
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	return slices.Equal(slices.Sorted(slices.Values(a)), slices.Sorted(slices.Values(b)))
}
