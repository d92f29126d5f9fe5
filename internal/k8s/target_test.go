package k8s

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"
)

func TestNewValidates(t *testing.T) {
	ok := Config{Mode: ModePod, Namespace: ns, Deployment: "web", PortName: "http", MetricsPollInterval: time.Second}
	tests := []struct {
		name    string
		change  func(*Config)
		wantErr string // "" = valid
	}{
		{"pod mode", func(*Config) {}, ""},
		{"service mode", func(c *Config) { c.Mode, c.Deployment, c.Service = ModeService, "", "web" }, ""},
		{"numeric port", func(c *Config) { c.PortName = "8080" }, ""},
		{"url mode", func(c *Config) { c.Mode = "url" }, `Mode is "url": want pod or service`},
		{"no deployment", func(c *Config) { c.Deployment = "" }, "Deployment is empty"},
		{"no service", func(c *Config) { c.Mode = ModeService }, "Service is empty"},
		{"no namespace", func(c *Config) { c.Namespace = "" }, "Namespace is empty"},
		{"no port", func(c *Config) { c.PortName = "" }, "PortName is empty"},
		{"port out of range", func(c *Config) { c.PortName = "70000" }, "PortName is port 70000: want 1 to 65535"},
		{"no poll interval", func(c *Config) { c.MetricsPollInterval = 0 }, "MetricsPollInterval is 0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := New(fake.NewClientset(), nil, cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New() = %v, want no error", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New() = %v, want an error containing %q", err, tt.wantErr)
			case tt.wantErr != "" && !errors.As(err, new(*ConfigError)):
				t.Errorf("New() = %v, want a *ConfigError", err)
			}
		})
	}
	if _, err := New(nil, nil, ok); err == nil {
		t.Error("New(nil client) succeeded, want an error")
	}
}

// TestRunStopsEverything runs a Target in a synctest bubble: the bubble
// only ends when every goroutine Run started has exited.
func TestRunStopsEverything(t *testing.T) {
	for _, mode := range []string{ModePod, ModeService} {
		t.Run(mode, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := Config{Mode: mode, Namespace: ns, Deployment: "web", Service: "web", PortName: "http",
					MetricsPollInterval: time.Second, Logger: slog.New(slog.DiscardHandler)}
				client := fake.NewClientset(deployment("web", "web"), pod("a", 0, "10.1.0.1"), webService(),
					slice("web-1", "web", endpoint{pod: "a", ready: ptr(true)}))
				tg, err := New(client, metricsfake.NewSimpleClientset(), cfg)
				if err != nil {
					t.Fatal(err)
				}
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan error, 1)
				go func() { done <- tg.Run(ctx) }()
				if err := tg.WaitSynced(ctx); err != nil {
					t.Fatalf("WaitSynced: %v", err)
				}
				time.Sleep(3 * time.Second) // a few polls, in the bubble's fake time
				synctest.Wait()
				if _, err := tg.URL(); err != nil {
					t.Errorf("URL() = %v, want a target", err)
				}
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run() = %v, want nil after cancel", err)
				}
				if left := leftovers(); len(left) > 0 {
					t.Errorf("%d goroutines left running after Run returned:\n%s", len(left), strings.Join(left, "\n\n"))
				}
				if err := tg.Run(context.Background()); err == nil {
					t.Error("second Run() succeeded, want an error")
				}
			})
		})
	}
}

func TestWaitSyncedExplainsWhy(t *testing.T) {
	client := fake.NewClientset()
	client.PrependReactor("list", "deployments", func(k8stesting.Action) (bool, k8sruntime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Group: "apps", Resource: "deployments"}, "", errors.New("RBAC says no"))
	})
	tg, err := New(client, nil, podCfg().withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- tg.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
	}()
	// Wait for the first list error before giving up on the sync.
	waitFor(t, "a list error", func() (bool, string) { return tg.errs.lastErr() != nil, "none" })
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer wcancel()
	err = tg.WaitSynced(wctx)
	for _, want := range []string{"deployment shop/web", "caches not synced", "RBAC says no"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("WaitSynced() = %v, want an error containing %q", err, want)
		}
	}
	if _, err := tg.URL(); err == nil {
		t.Error("URL() before sync succeeded, want an error")
	}
}

func TestWaitSyncedAfterRunEnded(t *testing.T) {
	tg, err := New(fake.NewClientset(), nil, podCfg().withDefaults())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tg.Run(ctx); err != nil {
		t.Fatalf("Run(canceled) = %v, want nil", err)
	}
	if err := tg.WaitSynced(context.Background()); err == nil || !strings.Contains(err.Error(), "stopped") {
		t.Errorf("WaitSynced after Run ended = %v, want a 'stopped' error", err)
	}
}

func TestNoMetricsClient(t *testing.T) {
	cfg := podCfg().withDefaults()
	cfg.MetricsPollInterval = time.Millisecond
	tg, err := New(fake.NewClientset(deployment("web", "web"), pod("a", 0, "10.1.0.1")), nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	run(t, tg)
	waitURL(t, tg, "http://10.1.0.1:8080")
	if got := tg.Usage(); len(got) != 0 {
		t.Errorf("Usage() without a metrics client = %v, want empty", got)
	}
}

// leftovers returns the stacks of goroutines started by a Target or by
// client-go.
func leftovers() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "k8s.io/client-go/") || strings.Contains(g, "orchestrator/k8s.(*") {
			out = append(out, g)
		}
	}
	return out
}

// withDefaults fills the port name and poll interval.
func (c Config) withDefaults() Config {
	c.PortName, c.MetricsPollInterval = "http", time.Hour
	c.Logger = slog.New(slog.DiscardHandler)
	return c
}
