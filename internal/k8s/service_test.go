package k8s

import (
	"context"
	"log/slog"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func svcCfg() Config { return Config{Mode: ModeService, Namespace: ns, Service: "web"} }

// webService has ports http=80 (target 8080) and admin=9000.
func webService() *corev1.Service {
	return service("web",
		corev1.ServicePort{Name: "http", Port: 80},
		corev1.ServicePort{Name: "admin", Port: 9000})
}

func TestServiceModeURL(t *testing.T) {
	tests := []struct {
		name, host, port, want string
	}{
		{"cluster DNS name", "", "http", "http://web.shop.svc:80"},
		{"ServiceHost", "127.0.0.1", "http", "http://127.0.0.1:80"},
		{"IPv6 ServiceHost", "::1", "admin", "http://[::1]:9000"},
		{"port by number", "", "8443", "http://web.shop.svc:8443"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := svcCfg()
			cfg.ServiceHost, cfg.PortName = tt.host, tt.port
			e := start(t, cfg, nil, webService(), slice("web-1", "web", endpoint{pod: "p1", ready: ptr(true)}))
			waitURL(t, e.target, tt.want)
		})
	}
}

func TestServiceModeBackingPods(t *testing.T) {
	e := start(t, svcCfg(), nil, webService(),
		slice("web-1", "web",
			endpoint{pod: "p2", ready: ptr(true)},
			endpoint{pod: "p1"}, // readiness unknown counts as ready
			endpoint{pod: "p3", ready: ptr(false)},
		),
		slice("web-2", "web",
			endpoint{pod: "p4", ready: ptr(true)},
			endpoint{ready: ptr(true)}, // not a pod
		),
		slice("other-1", "other", endpoint{pod: "o1", ready: ptr(true)}),
	)
	waitURL(t, e.target, "http://web.shop.svc:80")
	waitCounts(t, e.target, 4, 5)
	if got, want := targetPods(e.target), []string{"p1", "p2", "p4"}; !slices.Equal(got, want) {
		t.Errorf("backing pods = %v, want %v", got, want)
	}
	if got, want := state(e.target).metricsSelector, "app=web"; got != want {
		t.Errorf("metrics selector = %q, want %q", got, want)
	}
}

func TestServiceModePauses(t *testing.T) {
	ctx := context.Background()
	e := start(t, svcCfg(), nil, slice("web-1", "web", endpoint{pod: "p1", ready: ptr(false)}))
	waitPaused(t, e.target, "service shop/web not found")

	svcs := e.client.CoreV1().Services(ns)
	if _, err := svcs.Create(ctx, webService(), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPaused(t, e.target, "service shop/web has no ready endpoints")
	e.waitAvailable(t, 0)

	eps := e.client.DiscoveryV1().EndpointSlices(ns)
	ready := slice("web-1", "web", endpoint{pod: "p1", ready: ptr(true)})
	if _, err := eps.Update(ctx, ready, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitURL(t, e.target, "http://web.shop.svc:80")
	e.waitAvailable(t, 1)
	if got := e.logs.count(slog.LevelInfo, "dispatch resumed"); got != 1 {
		t.Errorf("%d \"dispatch resumed\" logs, want 1", got)
	}

	if err := eps.Delete(ctx, "web-1", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitPaused(t, e.target, "service shop/web has no ready endpoints")
	if got := targetPods(e.target); len(got) != 0 {
		t.Errorf("backing pods with no endpoints = %v, want none", got)
	}
	if got := e.logs.count(slog.LevelWarn, "dispatch paused"); got != 2 {
		t.Errorf("%d \"dispatch paused\" warnings, want 2 (start, and after the endpoints went)", got)
	}
}

func TestServiceModeMissingPort(t *testing.T) {
	cfg := svcCfg()
	cfg.PortName = "grpc"
	e := start(t, cfg, nil, webService(), slice("web-1", "web", endpoint{pod: "p1", ready: ptr(true)}))
	waitPaused(t, e.target, `service shop/web has no port named "grpc"; its ports: "http"=80, "admin"=9000`)
}

func TestBackingPods(t *testing.T) {
	tests := []struct {
		name      string
		slices    []*discoveryv1.EndpointSlice
		wantPods  []string
		wantReady int
		wantTotal int
	}{
		{"none", nil, nil, 0, 0},
		{"duplicates across slices", []*discoveryv1.EndpointSlice{
			slice("a", "web", endpoint{pod: "p1", ready: ptr(true)}),
			slice("b", "web", endpoint{pod: "p1", ready: ptr(true)}, endpoint{pod: "p0"}),
		}, []string{"p0", "p1"}, 3, 3},
		{"other namespace ignored", []*discoveryv1.EndpointSlice{func() *discoveryv1.EndpointSlice {
			s := slice("a", "web", endpoint{pod: "p1", ready: ptr(true)})
			s.Endpoints[0].TargetRef.Namespace = "elsewhere"
			return s
		}()}, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pods, ready, total := backingPods(tt.slices, ns)
			if !slices.Equal(pods, tt.wantPods) || ready != tt.wantReady || total != tt.wantTotal {
				t.Errorf("backingPods = %v, %d ready, %d total; want %v, %d, %d", pods, ready, total, tt.wantPods, tt.wantReady, tt.wantTotal)
			}
		})
	}
}
