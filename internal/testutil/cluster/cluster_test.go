package cluster

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// TestCluster starts a cluster and exercises it the ways imager's tests
// will: client-go, kubectl, kustomize, server-side apply, RBAC through
// impersonation, and an aggregated API served from loopback.
func TestCluster(t *testing.T) {
	c := Start(t)
	cs, err := kubernetes.NewForConfig(c.RESTConfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	t.Run("client-go", func(t *testing.T) {
		if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "smoke"}}, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create namespace: %v", err)
		}
		want := map[string]string{"greeting": "hello"}
		cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cfg", Namespace: "smoke"}, Data: want}
		if _, err := cs.CoreV1().ConfigMaps("smoke").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
			t.Fatalf("create configmap: %v", err)
		}
		got, err := cs.CoreV1().ConfigMaps("smoke").Get(ctx, "cfg", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get configmap: %v", err)
		}
		if got.Data["greeting"] != want["greeting"] || got.UID == "" {
			t.Errorf("configmap read back as %v (uid %q), want data %v and a uid", got.Data, got.UID, want)
		}
	})

	t.Run("kubectl get ns", func(t *testing.T) {
		out, err := c.Kubectl("get", "namespaces", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		for _, ns := range []string{"namespace/default", "namespace/kube-system", "namespace/smoke"} {
			if !strings.Contains(out, ns) {
				t.Errorf("kubectl get namespaces printed %q, want it to list %s", out, ns)
			}
		}
	})

	t.Run("kubectl kustomize", func(t *testing.T) {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "kustomization.yaml"),
			"namespace: smoke\nnamePrefix: k-\nresources:\n- cm.yaml\nlabels:\n- pairs:\n    app: smoke\n")
		writeFile(t, filepath.Join(dir, "cm.yaml"),
			"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: plain\ndata:\n  a: \"1\"\n")
		out, err := c.Kubectl("kustomize", dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"name: k-plain", "namespace: smoke", "app: smoke"} {
			if !strings.Contains(out, want) {
				t.Errorf("kustomize output %q lacks %q", out, want)
			}
		}
	})

	t.Run("server-side apply", func(t *testing.T) {
		if _, err := c.KubectlInput(deploymentYAML(1), "apply", "--server-side", "-f", "-"); err != nil {
			t.Fatal(err)
		}
		d, err := cs.AppsV1().Deployments("smoke").Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get deployment: %v", err)
		}
		if got := *d.Spec.Replicas; got != 1 {
			t.Errorf("replicas = %d, want 1", got)
		}
		if d.Spec.Strategy.Type != "RollingUpdate" {
			t.Errorf("strategy = %q, want the server default RollingUpdate", d.Spec.Strategy.Type)
		}
		if len(d.ManagedFields) == 0 || d.ManagedFields[0].Manager != "kubectl" || d.ManagedFields[0].Operation != metav1.ManagedFieldsOperationApply {
			t.Errorf("managedFields = %+v, want an Apply entry by kubectl", d.ManagedFields)
		}
		// The apiserver validates: a selector that does not match the
		// template's labels is refused.
		bad := strings.Replace(deploymentYAML(1), "app: web\n    spec", "app: other\n    spec", 1)
		if _, err := c.KubectlInput(bad, "apply", "--server-side", "-f", "-"); err == nil || !strings.Contains(err.Error(), "Invalid") {
			t.Errorf("applying a mismatched selector: err = %v, want an Invalid error", err)
		}
	})

	t.Run("RBAC with impersonation", func(t *testing.T) {
		sa := kubernetes.NewForConfigOrDie(c.ServiceAccountConfig("smoke", "reader"))
		_, err := sa.CoreV1().ConfigMaps("smoke").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Fatalf("list before any grant: err = %v, want Forbidden", err)
		}
		grantConfigMapReader(ctx, t, cs, "smoke", "reader")
		if err := poll(ctx, func() error {
			_, err := sa.CoreV1().ConfigMaps("smoke").List(ctx, metav1.ListOptions{})
			return err
		}); err != nil {
			t.Fatalf("list after the grant: %v", err)
		}
		_, err = sa.CoreV1().Secrets("smoke").List(ctx, metav1.ListOptions{})
		if !apierrors.IsForbidden(err) {
			t.Errorf("list secrets (not granted): err = %v, want Forbidden", err)
		}
		out, err := c.KubectlAs(c.ServiceAccountKubeconfig(t, "smoke", "reader"), "auth", "can-i", "delete", "configmaps", "-n", "smoke")
		if err == nil || strings.TrimSpace(out) != "no" {
			t.Errorf("kubectl auth can-i delete as the reader: %q, %v; want \"no\" and a non-zero exit", out, err)
		}
	})

	t.Run("pods on loopback", func(t *testing.T) {
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "target", Namespace: "smoke", Labels: map[string]string{"app": "web"}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "example.invalid/web:1"}}},
		}
		got, err := c.RunPod(ctx, pod, "127.0.0.2", true)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status.PodIP != "127.0.0.2" || got.Status.Phase != corev1.PodRunning || !podReady(got) {
			t.Errorf("pod status = ip %q phase %q ready %v, want 127.0.0.2 Running true", got.Status.PodIP, got.Status.Phase, podReady(got))
		}
		if err := c.SetPodReady(ctx, "smoke", "target", false); err != nil {
			t.Fatal(err)
		}
		got, err = cs.CoreV1().Pods("smoke").Get(ctx, "target", metav1.GetOptions{})
		if err != nil || podReady(got) {
			t.Errorf("after SetPodReady(false): ready %v, err %v; want false, nil", got != nil && podReady(got), err)
		}
		// EndpointSlices may not name loopback addresses; this is why
		// RegisterAPIService uses an ExternalName Service.
		_, err = c.KubectlInput(loopbackSliceYAML, "apply", "--server-side", "-f", "-")
		if err == nil || !strings.Contains(err.Error(), "loopback") {
			t.Errorf("EndpointSlice with 127.0.0.2: err = %v, want a loopback validation error", err)
		}
		// A pod with no node is deleted at once.
		if err := cs.CoreV1().Pods("smoke").Delete(ctx, "target", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cs.CoreV1().Pods("smoke").Get(ctx, "target", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("get after delete: err = %v, want NotFound", err)
		}
	})

	t.Run("aggregated API", func(t *testing.T) {
		backend := startWidgetServer(t, c)
		c.RegisterAPIService(t, "smoke.imager.test", "v1", backend.addr)
		out, err := c.Kubectl("get", "--raw", "/apis/smoke.imager.test/v1/namespaces/smoke/widgets")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(out, `"kind":"WidgetList"`) {
			t.Errorf("aggregated read returned %q, want the backend's WidgetList", out)
		}
		if got := backend.lastUser(); got != AdminUser {
			t.Errorf("backend saw X-Remote-User %q, want %q", got, AdminUser)
		}
	})
}

// deploymentYAML is a minimal Deployment in namespace smoke.
func deploymentYAML(replicas int) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: smoke
spec:
  replicas: ` + strconv.Itoa(replicas) + `
  selector:
    matchLabels:
      app: web
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: example.invalid/web:1
`
}

// loopbackSliceYAML is an EndpointSlice the API must refuse.
const loopbackSliceYAML = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: web-loopback
  namespace: smoke
  labels:
    kubernetes.io/service-name: web
addressType: IPv4
endpoints:
- addresses: ["127.0.0.2"]
ports:
- name: http
  port: 8080
`

// podReady reports the pod's Ready condition.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// grantConfigMapReader lets the service account namespace/name read
// ConfigMaps in its namespace.
func grantConfigMapReader(ctx context.Context, t *testing.T, cs kubernetes.Interface, namespace, name string) {
	t.Helper()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "cm-reader", Namespace: namespace},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list"}}},
	}
	if _, err := cs.RbacV1().Roles(namespace).Create(ctx, role, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create role: %v", err)
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "cm-reader", Namespace: namespace},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: namespace}},
	}
	if _, err := cs.RbacV1().RoleBindings(namespace).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create rolebinding: %v", err)
	}
}

// poll calls f until it succeeds or ctx ends (RBAC changes reach the
// authorizer's cache within moments).
func poll(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// widgetServer is a tiny aggregated API server for group smoke.imager.test.
type widgetServer struct {
	addr string
	mu   sync.Mutex
	user string
}

func (w *widgetServer) lastUser() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.user
}

// startWidgetServer serves discovery and an empty widget list over HTTPS on
// 127.0.0.1, with a certificate from BackendTLSConfig.
func startWidgetServer(t *testing.T, c *Cluster) *widgetServer {
	t.Helper()
	ws := &widgetServer{}
	mux := http.NewServeMux()
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(v)
	}
	gv := map[string]any{"groupVersion": "smoke.imager.test/v1", "version": "v1"}
	mux.HandleFunc("GET /apis", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{
			map[string]any{"name": "smoke.imager.test", "versions": []any{gv}, "preferredVersion": gv},
		}})
	})
	mux.HandleFunc("GET /apis/smoke.imager.test/v1", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "smoke.imager.test/v1",
			"resources": []any{map[string]any{"name": "widgets", "singularName": "widget", "namespaced": true, "kind": "Widget", "verbs": []string{"get", "list"}}}})
	})
	mux.HandleFunc("GET /apis/smoke.imager.test/v1/namespaces/{ns}/widgets", func(w http.ResponseWriter, r *http.Request) {
		ws.mu.Lock()
		ws.user = r.Header.Get("X-Remote-User")
		ws.mu.Unlock()
		reply(w, map[string]any{"kind": "WidgetList", "apiVersion": "smoke.imager.test/v1", "metadata": map[string]any{}, "items": []any{}})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: mux, TLSConfig: c.BackendTLSConfig(t), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	ws.addr = ln.Addr().String()
	return ws
}

// writeFile writes content to path or fails the test.
func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
