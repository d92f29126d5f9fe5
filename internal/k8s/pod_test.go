package k8s

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

func podCfg() Config { return Config{Mode: ModePod, Namespace: ns, Deployment: "web"} }

func TestPodModePicksOldestReadyPod(t *testing.T) {
	tests := []struct {
		name string
		pods []runtime.Object
		want string
	}{
		{"oldest of two", []runtime.Object{pod("b", 2*time.Minute, "10.1.0.2"), pod("a", time.Minute, "10.1.0.1")}, "http://10.1.0.1:8080"},
		{"same age: by name", []runtime.Object{pod("y", time.Minute, "10.1.0.2"), pod("x", time.Minute, "10.1.0.1")}, "http://10.1.0.1:8080"},
		{"skips unready, terminating, IP-less, pending and foreign pods", []runtime.Object{
			pod("unready", 0, "10.1.0.1", notReady),
			pod("terminating", 0, "10.1.0.2", terminating),
			pod("no-ip", 0, "", noIP),
			pod("pending", 0, "10.1.0.4", pending),
			pod("other-app", 0, "10.1.0.5", labelled("app", "other")),
			pod("young", time.Hour, "10.1.0.9"),
		}, "http://10.1.0.9:8080"},
		{"IPv6", []runtime.Object{pod("v6", 0, "fd00::7")}, "http://[fd00::7]:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, podCfg(), nil, append(tt.pods, deployment("web", "web"))...)
			waitURL(t, e.target, tt.want)
			e.waitAvailable(t, 1)
		})
	}
}

func TestPodModeSwitchesPausesAndResumes(t *testing.T) {
	ctx := context.Background()
	e := start(t, podCfg(), nil, deployment("web", "web"),
		pod("a", time.Minute, "10.1.0.1"), pod("b", 2*time.Minute, "10.1.0.2"))
	pods := e.client.CoreV1().Pods(ns)
	waitURL(t, e.target, "http://10.1.0.1:8080")
	e.waitWatch(t, "pods")

	// An older pod becoming ready does not take over: the target sticks.
	if _, err := pods.Create(ctx, pod("old", 0, "10.1.0.3"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, e.target, 3, 3)
	if u, err := e.target.URL(); err != nil || u != "http://10.1.0.1:8080" {
		t.Errorf("after an older pod appeared: URL() = %q, %v; want the current target http://10.1.0.1:8080", u, err)
	}

	// The target goes away: the oldest ready pod takes over.
	if err := pods.Delete(ctx, "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://10.1.0.3:8080")
	if got := e.logs.attrs(slog.LevelInfo, "target pod changed"); got["old"] != "a" || got["new"] != "old" {
		t.Errorf("target pod changed log attrs = %v, want old=a new=old", got)
	}

	// No ready pod left: dispatch pauses, once.
	if err := pods.Delete(ctx, "old", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://10.1.0.2:8080")
	b := pod("b", 2*time.Minute, "10.1.0.2", notReady)
	if _, err := pods.Update(ctx, b, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPaused(t, e.target, "deployment shop/web has no ready pods")
	e.waitAvailable(t, 0)
	// Another change while paused does not warn again.
	if _, err := pods.Create(ctx, pod("c", time.Hour, "10.1.0.4", notReady), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitCounts(t, e.target, 0, 2)
	if got := e.logs.count(slog.LevelWarn, "dispatch paused"); got != 1 {
		t.Errorf("%d \"dispatch paused\" warnings, want 1", got)
	}

	// It comes back: dispatch resumes.
	if _, err := pods.Update(ctx, pod("b", 2*time.Minute, "10.1.0.2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://10.1.0.2:8080")
	waitFor(t, "dispatch resumed log", func() (bool, string) {
		n := e.logs.count(slog.LevelInfo, "dispatch resumed")
		return n == 1, strings.Repeat("resumed ", n)
	})
	e.waitAvailable(t, 1)
}

func TestPodModePort(t *testing.T) {
	tests := []struct {
		name     string
		portName string
		pod      *corev1.Pod
		want     string // URL, or a substring of the error
		wantErr  bool
	}{
		{"by name in the first container", "http", pod("p", 0, "10.1.0.1"), "http://10.1.0.1:8080", false},
		{"by name in a sidecar", "admin", pod("p", 0, "10.1.0.1", ports(corev1.ContainerPort{Name: "admin", ContainerPort: 9901})), "http://10.1.0.1:9901", false},
		{"by number", "9090", pod("p", 0, "10.1.0.1"), "http://10.1.0.1:9090", false},
		{"missing", "grpc", pod("p", 0, "10.1.0.1"), `pod shop/p has no container port named "grpc"`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := podCfg()
			cfg.PortName = tt.portName
			e := start(t, cfg, nil, deployment("web", "web"), tt.pod)
			if tt.wantErr {
				waitPaused(t, e.target, tt.want)
				return
			}
			waitURL(t, e.target, tt.want)
		})
	}
}

func TestPodModeFollowsTheDeployment(t *testing.T) {
	ctx := context.Background()
	e := start(t, podCfg(), nil, pod("blue", 0, "10.1.0.1", labelled("app", "blue")), pod("green", time.Hour, "10.1.0.2", labelled("app", "green")))
	waitPaused(t, e.target, "deployment shop/web not found")
	if got := e.logs.count(slog.LevelWarn, "dispatch paused"); got != 1 {
		t.Errorf("%d \"dispatch paused\" warnings, want 1", got)
	}

	deps := e.client.AppsV1().Deployments(ns)
	if _, err := deps.Create(ctx, deployment("web", "blue"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://10.1.0.1:8080")

	// Recreated with another selector: its pods are watched instead.
	if err := deps.Delete(ctx, "web", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPaused(t, e.target, "deployment shop/web not found")
	if _, err := deps.Create(ctx, deployment("web", "green"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://10.1.0.2:8080")
	if got := targetPods(e.target); len(got) != 1 || got[0] != "green" {
		t.Errorf("target pods = %v, want [green]", got)
	}
}

func TestReadyPodsOrder(t *testing.T) {
	pods := []*corev1.Pod{
		pod("c", 2*time.Second, "10.0.0.3"),
		pod("b", time.Second, "10.0.0.2"),
		pod("a", time.Second, "10.0.0.1"),
		pod("z", 0, "10.0.0.4", notReady),
	}
	var got []string
	for _, p := range readyPods(pods) {
		got = append(got, p.Name)
	}
	if want := "a b c"; strings.Join(got, " ") != want {
		t.Errorf("readyPods order = %v, want %s", got, want)
	}
}
