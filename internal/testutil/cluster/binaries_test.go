package cluster

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBinaries builds (or finds cached) the three binaries and checks each
// runs and reports the pinned release. `make k8s-tools` runs this test to
// warm the cache.
func TestBinaries(t *testing.T) {
	p := Binaries(t)
	tests := []struct {
		name string
		bin  string
		args []string
		want string
	}{
		{"kube-apiserver", p.KubeAPIServer, []string{"--version"}, "Kubernetes " + Version},
		{"kubectl", p.Kubectl, []string{"version", "--client"}, "Client Version: " + Version},
		{"etcd", p.Etcd, []string{"--version"}, "etcd Version: 3.7."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(tt.bin, tt.args...).CombinedOutput()
			if err != nil {
				t.Fatalf("%s %v: %v\n%s", tt.bin, tt.args, err, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("%s %v printed %q, want it to contain %q", tt.name, tt.args, out, tt.want)
			}
		})
	}
}

// TestCacheKey checks the cache key follows the tools module's content and
// ignores files that do not affect the build.
func TestCacheKey(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module example.com/tools\n")
	write("go.sum", "a v1 h1:x\n")
	write("cmd/etcd/main.go", "package main\n")
	key := func() string {
		t.Helper()
		k, err := cacheKey(dir, "go1.26.8")
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	base := key()
	if len(base) != 16 {
		t.Fatalf("key %q has length %d, want 16", base, len(base))
	}
	steps := []struct {
		name    string
		change  func()
		changed bool
	}{
		{"unchanged", func() {}, false},
		{"README added", func() { write("README.md", "notes") }, false},
		{"go.sum changed", func() { write("go.sum", "a v2 h1:y\n") }, true},
		{"main.go changed", func() { write("cmd/etcd/main.go", "package main\n\n// x\n") }, true},
		{"new main package", func() { write("cmd/other/main.go", "package main\n") }, true},
	}
	prev := base
	for _, s := range steps {
		s.change()
		got := key()
		if (got != prev) != s.changed {
			t.Errorf("%s: key %s -> %s, want changed=%v", s.name, prev, got, s.changed)
		}
		prev = got
	}
	if k, err := cacheKey(dir, "go1.99.0"); err != nil || k == prev {
		t.Errorf("another Go version gave key %q (err %v), want one different from %q", k, err, prev)
	}
}

// TestAPIServiceBackendName checks the derived Service names are valid
// DNS-1035 labels.
func TestAPIServiceBackendName(t *testing.T) {
	tests := []struct {
		group, version, want string
	}{
		{"metrics.k8s.io", "v1beta1", "apisvc-metrics-k8s-io-v1beta1"},
		{"Smoke.Imager.Test", "v1", "apisvc-smoke-imager-test-v1"},
		{strings.Repeat("a", 60) + ".io", "v1", "apisvc-" + strings.Repeat("a", 56)},
		{strings.Repeat("a", 55) + ".b", "v1", "apisvc-" + strings.Repeat("a", 55)},
	}
	for _, tt := range tests {
		if got := apiServiceBackendName(tt.group, tt.version); got != tt.want {
			t.Errorf("apiServiceBackendName(%q, %q) = %q, want %q", tt.group, tt.version, got, tt.want)
		}
	}
}
