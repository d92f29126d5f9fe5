package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"
)

// Environment variables that steer Binaries.
const (
	// EnvCache names the root of the binary cache. Each build recipe gets
	// its own subdirectory, named by the recipe's hash. The default root
	// is $(os.UserCacheDir())/imager-k8s.
	EnvCache = "IMAGER_K8S_CACHE"
	// EnvToolsDir overrides where the tools module (test/k8s/tools) is.
	// By default it is found relative to the main module's go.mod.
	EnvToolsDir = "IMAGER_K8S_TOOLS"
	// EnvHelmToolDir overrides where the helm tools module
	// (test/k8s/helmtool) is.
	EnvHelmToolDir = "IMAGER_HELM_TOOLS"
	// EnvCI, when "true", turns a failed build into a test failure
	// instead of a skip, so CI can never pass by skipping these tests.
	EnvCI = "CI"
)

// Version is the Kubernetes release the tools module pins; it is stamped
// into the built binaries so `kubectl version` and /version report it.
const Version = "v1.37.2"

// HelmVersion is the Helm release test/k8s/helmtool pins; it is stamped
// into the built helm so `helm version` reports it.
const HelmVersion = "v3.22.0"

// recipe is everything about the build that is not in the tools module's
// files. Changing it changes the cache key.
const recipe = "recipe=3 CGO_ENABLED=0 -trimpath -mod=readonly"

// buildTimeout bounds one build of the three binaries. A cold build on a
// 2-core machine takes several minutes; this leaves a wide margin.
const buildTimeout = 60 * time.Minute

// staleAfter is how long a cache entry for another build recipe may go
// unused before a new build removes it.
const staleAfter = 14 * 24 * time.Hour

// target is one binary and the package it is built from, relative to the
// tools module.
type target struct{ name, pkg string }

// targets lists the binaries Binaries builds.
func targets() []target {
	return []target{
		{"etcd", "./cmd/etcd"},
		{"kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"},
		{"kubectl", "k8s.io/kubernetes/cmd/kubectl"},
	}
}

// toolModule is a tools module and the binaries built from it.
type toolModule struct {
	what    string // for messages
	envDir  string // environment variable overriding the module's directory
	rel     string // the module's directory relative to the main module
	targets []target
	ldflags string
}

// k8sModule is test/k8s/tools: etcd, kube-apiserver and kubectl.
func k8sModule() toolModule {
	return toolModule{what: "etcd, kube-apiserver and kubectl " + Version, envDir: EnvToolsDir,
		rel: filepath.Join("test", "k8s", "tools"), targets: targets(), ldflags: ldflags()}
}

// helmModule is test/k8s/helmtool: helm, in a module of its own because
// its k8s.io versions differ from test/k8s/tools'.
func helmModule() toolModule {
	const v = "helm.sh/helm/v3/internal/version"
	// The Kubernetes version helm assumes for `helm template` and lint:
	// its client-go's (v0.37 is Kubernetes 1.37), as helm's Makefile sets.
	var b strings.Builder
	fmt.Fprintf(&b, "-s -w -X %s.version=%s -X %s.gitTreeState=clean", v, HelmVersion, v)
	for _, pkg := range []string{"helm.sh/helm/v3/pkg/lint/rules", "helm.sh/helm/v3/pkg/chartutil"} {
		fmt.Fprintf(&b, " -X %s.k8sVersionMajor=1 -X %s.k8sVersionMinor=37", pkg, pkg)
	}
	return toolModule{what: "helm " + HelmVersion, envDir: EnvHelmToolDir,
		rel: filepath.Join("test", "k8s", "helmtool"), targets: []target{{"helm", "helm.sh/helm/v3/cmd/helm"}}, ldflags: b.String()}
}

// Paths holds the absolute paths of the built binaries.
type Paths struct {
	Etcd          string
	KubeAPIServer string
	Kubectl       string
	// Dir is the cache directory that holds all three.
	Dir string
}

// Binaries returns the paths of kube-apiserver, etcd and kubectl built
// from the tools module, building them first if the cache lacks them.
// Concurrent callers (several test packages at once) share one build
// through a file lock. When the build is impossible the test is skipped
// with the reason logged, except under CI=true, where it fails.
func Binaries(t testing.TB) Paths {
	t.Helper()
	dir, err := ensureBuilt(t, k8sModule())
	if err != nil {
		if os.Getenv(EnvCI) == "true" {
			t.Fatalf("k8s test binaries: %v", err)
		}
		t.Logf("SKIP REASON: the kube-apiserver/etcd/kubectl test binaries are unavailable: %v", err)
		t.Skipf("skipping: cannot build the Kubernetes test binaries (set %s=true to make this a failure)", EnvCI)
	}
	return Paths{
		Etcd:          filepath.Join(dir, "etcd"),
		KubeAPIServer: filepath.Join(dir, "kube-apiserver"),
		Kubectl:       filepath.Join(dir, "kubectl"),
		Dir:           dir,
	}
}

// Helm returns the path of helm built from test/k8s/helmtool, building it
// first if the cache lacks it, and cached like Binaries. When the build is
// impossible the test is skipped with the reason logged, except under
// CI=true, where it fails.
func Helm(t testing.TB) string {
	t.Helper()
	dir, err := ensureBuilt(t, helmModule())
	if err != nil {
		if os.Getenv(EnvCI) == "true" {
			t.Fatalf("helm: %v", err)
		}
		t.Logf("SKIP REASON: the helm test binary is unavailable: %v", err)
		t.Skipf("skipping: cannot build helm (set %s=true to make this a failure)", EnvCI)
	}
	return filepath.Join(dir, "helm")
}

// ensureBuilt finds or builds m's binaries, returns the cache directory
// that holds them and reports why it could not.
func ensureBuilt(t testing.TB, m toolModule) (string, error) {
	t.Helper()
	toolsDir, err := findModuleDir(m.envDir, m.rel)
	if err != nil {
		return "", err
	}
	goVersion, err := goEnv(toolsDir, "GOVERSION")
	if err != nil {
		return "", err
	}
	key, err := cacheKeyWith(toolsDir, goVersion, m.ldflags)
	if err != nil {
		return "", err
	}
	root, err := cacheRoot()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(root, key)
	done := filepath.Join(dir, "complete")
	if _, err := os.Stat(done); err == nil {
		touch(done)
		return dir, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("create cache dir: %w", err)
	}
	unlock, err := lockFile(filepath.Join(dir, "lock"), func() {
		t.Logf("k8s binaries: another process is building into %s; waiting for it", dir)
	})
	if err != nil {
		return "", fmt.Errorf("lock cache dir: %w", err)
	}
	defer unlock()
	if _, err := os.Stat(done); err == nil {
		return dir, nil // built by whoever held the lock
	}
	if err := build(t, m, toolsDir, dir); err != nil {
		return "", err
	}
	if err := os.WriteFile(done, []byte(goVersion+"\n"+recipe+"\n"), 0o644); err != nil {
		return "", fmt.Errorf("mark cache complete: %w", err)
	}
	pruneStale(t, root, key)
	return dir, nil
}

// touch marks a cache entry as used now, for pruneStale.
func touch(path string) {
	now := time.Now()
	_ = os.Chtimes(path, now, now)
}

// pruneStale removes cache entries other than keep that have not been used
// for staleAfter (older tools module versions), so the cache does not grow
// by some 200 MB with every dependency bump. Failures are only logged.
func pruneStale(t testing.TB, root, keep string) {
	t.Helper()
	entries, err := os.ReadDir(root)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == keep {
			continue
		}
		info, err := os.Stat(filepath.Join(root, e.Name(), "complete"))
		if err != nil || time.Since(info.ModTime()) < staleAfter {
			continue // unfinished (maybe building now) or recently used
		}
		if err := os.RemoveAll(filepath.Join(root, e.Name())); err != nil {
			t.Logf("k8s binaries: prune stale cache entry: %v", err)
		} else {
			t.Logf("k8s binaries: removed cache entry %s, unused since %s", e.Name(), info.ModTime().Format(time.DateOnly))
		}
	}
}

// build compiles m's binaries into a scratch directory inside dir and
// then moves them into place.
func build(t testing.TB, m toolModule, toolsDir, dir string) error {
	t.Helper()
	// Holding the lock, any scratch directory left here is from a build
	// that was killed; remove it.
	old, _ := filepath.Glob(filepath.Join(dir, "build-*"))
	for _, o := range old {
		_ = os.RemoveAll(o)
	}
	scratch, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return fmt.Errorf("create build dir: %w", err)
	}
	defer os.RemoveAll(scratch)

	args := []string{"build", "-trimpath", "-ldflags", m.ldflags, "-o", scratch + string(filepath.Separator)}
	for _, b := range m.targets {
		args = append(args, b.pkg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = toolsDir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off", "CGO_ENABLED=0")
	setDeathSignal(cmd)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out

	start := time.Now()
	t.Logf("k8s binaries: building %s from %s into %s "+
		"(the first build takes several minutes; later runs reuse the cache)", m.what, toolsDir, dir)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start go build: %w", err)
	}
	waitErr := waitLogging(t, cmd, start)
	if waitErr != nil {
		return fmt.Errorf("go %s (in %s) failed after %s: %w\n%s",
			strings.Join(args, " "), toolsDir, time.Since(start).Round(time.Second), waitErr, out.Bytes())
	}
	for _, b := range m.targets {
		if err := os.Rename(filepath.Join(scratch, b.name), filepath.Join(dir, b.name)); err != nil {
			return fmt.Errorf("install %s: %w", b.name, err)
		}
	}
	t.Logf("k8s binaries: built in %s", time.Since(start).Round(time.Second))
	return nil
}

// waitLogging waits for cmd, logging a heartbeat so a long build is
// visibly alive in verbose test output.
func waitLogging(t testing.TB, cmd *exec.Cmd, start time.Time) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	tick := time.NewTicker(30 * time.Second)
	defer tick.Stop()
	for {
		select {
		case err := <-done:
			return err
		case <-tick.C:
			t.Logf("k8s binaries: still building (%s elapsed)", time.Since(start).Round(time.Second))
		}
	}
}

// ldflags strips debug information and stamps the release version.
func ldflags() string {
	major, minor := "1", strings.Split(strings.TrimPrefix(Version, "v1."), ".")[0]
	var b strings.Builder
	b.WriteString("-s -w")
	for _, pkg := range []string{"k8s.io/component-base/version", "k8s.io/client-go/pkg/version"} {
		fmt.Fprintf(&b, " -X %s.gitVersion=%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean",
			pkg, Version, pkg, major, pkg, minor, pkg)
	}
	return b.String()
}

// findModuleDir locates a tools module: $envDir, or rel (such as
// test/k8s/tools) under the main module that contains the working directory.
func findModuleDir(envDir, rel string) (string, error) {
	if d := os.Getenv(envDir); d != "" {
		return checkToolsDir(d)
	}
	gomod, err := goEnv("", "GOMOD")
	if err != nil {
		return "", err
	}
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("the working directory is not inside the imager module; set %s", envDir)
	}
	return checkToolsDir(filepath.Join(filepath.Dir(gomod), rel))
}

// checkToolsDir verifies that dir holds the tools module.
func checkToolsDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("tools dir %q: %w", dir, err)
	}
	if _, err := os.Stat(filepath.Join(abs, "go.mod")); err != nil {
		return "", fmt.Errorf("tools module not found: %w", err)
	}
	return abs, nil
}

// goEnv runs `go env name` in dir and returns its value.
func goEnv(dir, name string) (string, error) {
	cmd := exec.Command("go", "env", name)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go env %s: %w: %s", name, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// cacheKey hashes what determines the binaries: the tools module's go.mod,
// go.sum and Go files, the build recipe, the Go version and the platform.
func cacheKey(toolsDir, goVersion string) (string, error) {
	return cacheKeyWith(toolsDir, goVersion, ldflags())
}

// cacheKeyWith is cacheKey for a module built with the given ldflags.
func cacheKeyWith(toolsDir, goVersion, ldflags string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "%s\n%s\n%s/%s\n%s\n", recipe, ldflags, runtime.GOOS, runtime.GOARCH, goVersion)
	var files []string
	err := filepath.WalkDir(toolsDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() && path != toolsDir && (strings.HasPrefix(name, ".") || name == "testdata") {
			return filepath.SkipDir
		}
		if !d.IsDir() && (name == "go.mod" || name == "go.sum" || strings.HasSuffix(name, ".go")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("list tools module files: %w", err)
	}
	sort.Strings(files)
	for _, f := range files {
		if err := hashFile(h, toolsDir, f); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil))[:16], nil
}

// hashFile writes f's path relative to root and its content into w.
func hashFile(w io.Writer, root, f string) error {
	rel, err := filepath.Rel(root, f)
	if err != nil {
		return fmt.Errorf("hash %s: %w", f, err)
	}
	data, err := os.ReadFile(f)
	if err != nil {
		return fmt.Errorf("hash %s: %w", f, err)
	}
	fmt.Fprintf(w, "%s %d\n", filepath.ToSlash(rel), len(data))
	_, err = w.Write(data)
	return err
}

// cacheRoot is $IMAGER_K8S_CACHE or the user cache dir's imager-k8s.
func cacheRoot() (string, error) {
	if d := os.Getenv(EnvCache); d != "" {
		return filepath.Abs(d)
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return "", errors.Join(fmt.Errorf("no cache dir; set %s", EnvCache), err)
	}
	return filepath.Join(d, "imager-k8s"), nil
}
