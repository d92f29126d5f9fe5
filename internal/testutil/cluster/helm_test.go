package cluster

import (
	"os/exec"
	"strings"
	"testing"
)

// TestHelm builds (or finds cached) helm from test/k8s/helmtool and checks
// it runs and reports the pinned release. `make k8s-tools` runs this test
// to warm the cache.
func TestHelm(t *testing.T) {
	helm := Helm(t)
	out, err := exec.Command(helm, "version", "--template", "{{.Version}}").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", helm, err, out)
	}
	if got := strings.TrimSpace(string(out)); got != HelmVersion {
		t.Errorf("helm version printed %q, want %q", got, HelmVersion)
	}
}

// TestHelmModuleKey checks the helm module has a cache entry of its own:
// its key differs from the Kubernetes tools' for the same directory, since
// the ldflags differ.
func TestHelmModuleKey(t *testing.T) {
	dir := t.TempDir()
	k8s, err := cacheKeyWith(dir, "go1.26.8", k8sModule().ldflags)
	if err != nil {
		t.Fatal(err)
	}
	helm, err := cacheKeyWith(dir, "go1.26.8", helmModule().ldflags)
	if err != nil {
		t.Fatal(err)
	}
	if old, _ := cacheKey(dir, "go1.26.8"); old != k8s || helm == k8s {
		t.Errorf("keys: cacheKey %q, k8s module %q, helm module %q; want the first two equal and helm's different", old, k8s, helm)
	}
}
