package k8s

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const kubeconfigYAML = `apiVersion: v1
kind: Config
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
contexts:
- name: local
  context:
    cluster: local
    user: me
current-context: local
users:
- name: me
  user:
    token: secret
`

func TestNewClients(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(good, []byte(kubeconfigYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(dir, "garbage")
	if err := os.WriteFile(bad, []byte("clusters: [:"), 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing")
	tests := []struct {
		name       string
		inCluster  bool
		kubeconfig string
		env        string // KUBECONFIG
		wantErr    string // "" = success
		wantSource string // ClientConfigError.Source
	}{
		{"kubeconfig", false, good, "", "", ""},
		{"kubeconfig wins over in-cluster", true, good, "", "", ""},
		{"missing kubeconfig", false, missing, "", "kubeconfig " + missing, SourceKubeconfig},
		{"broken kubeconfig", true, bad, "", "kubeconfig " + bad, SourceKubeconfig},
		{"in-cluster outside a pod", true, "", "", "in-cluster configuration: not running in a Kubernetes pod", SourceInCluster},
		{"KUBECONFIG", false, "", good, "", ""},
		{"nothing", false, "", missing, "no usable kubeconfig from KUBECONFIG or ~/.kube/config", SourceDefault},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBERNETES_SERVICE_HOST", "")
			t.Setenv("KUBERNETES_SERVICE_PORT", "")
			t.Setenv("KUBECONFIG", tt.env)
			t.Setenv("HOME", dir)
			kc, mc, err := NewClients(tt.inCluster, tt.kubeconfig)
			if tt.wantErr != "" {
				var ce *ClientConfigError
				if !errors.As(err, &ce) || ce.Source != tt.wantSource || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("NewClients(%v, %q) = %v, want a *ClientConfigError from %s containing %q", tt.inCluster, tt.kubeconfig, err, tt.wantSource, tt.wantErr)
				}
				if strings.Contains(err.Error(), "-kubeconfig") || strings.Contains(err.Error(), "-in-cluster") {
					t.Errorf("NewClients' error %q names a flag", err)
				}
				return
			}
			if err != nil || kc == nil || mc == nil {
				t.Fatalf("NewClients(%v, %q) = %v, %v, %v; want two clients", tt.inCluster, tt.kubeconfig, kc, mc, err)
			}
		})
	}
}
