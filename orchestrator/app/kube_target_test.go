package app

import (
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestTargetForModes(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("KUBECONFIG", filepath.Join(t.TempDir(), "missing"))
	log := slog.New(slog.DiscardHandler)
	tests := []struct {
		name    string
		args    []string
		wantErr string // "" = success
	}{
		{"url mode ignores Kubernetes settings", []string{"-target-mode=url", "-target-url=http://127.0.0.1:1", "-in-cluster=true", "-kubeconfig=/nonexistent"}, ""},
		{"pod mode outside a cluster", []string{"-target-mode=pod", "-target-namespace=ns", "-target-deployment=web"}, "-in-cluster"},
		{"service mode with a missing kubeconfig", []string{"-target-mode=service", "-target-namespace=ns", "-target-service=web", "-kubeconfig=/nonexistent"}, "-kubeconfig /nonexistent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := parse("test", tt.args, nil)
			if err != nil {
				t.Fatalf("parse(%q): %v", tt.args, err)
			}
			target, kube, err := targetFor(cfg, log, nil)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("targetFor() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || kube != nil {
				t.Fatalf("targetFor() = kube %v, error %v; want no Kubernetes target and no error", kube, err)
			}
			if u, err := target(); err != nil || u != "http://127.0.0.1:1" {
				t.Errorf("target() = %q, %v; want http://127.0.0.1:1", u, err)
			}
		})
	}
}
