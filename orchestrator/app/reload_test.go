package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// configMapDir lays out a scenario the way Kubernetes mounts a ConfigMap:
// dir/scenario.lua -> ..data/scenario.lua, ..data -> a versioned folder.
// publish swaps the ..data symlink atomically to a new version.
type configMapDir struct {
	t       *testing.T
	dir     string
	version int
}

func newConfigMapDir(t *testing.T, content string) *configMapDir {
	c := &configMapDir{t: t, dir: t.TempDir()}
	c.publish(content)
	if err := os.Symlink(filepath.Join("..data", "scenario.lua"), filepath.Join(c.dir, "scenario.lua")); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *configMapDir) path() string { return filepath.Join(c.dir, "scenario.lua") }

func (c *configMapDir) publish(content string) {
	c.version++
	v := fmt.Sprintf("..v%d", c.version)
	if err := os.Mkdir(filepath.Join(c.dir, v), 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(c.dir, v, "scenario.lua"), []byte(content), 0o644); err != nil {
		c.t.Fatal(err)
	}
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(v, tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
}

// scenarioVersion requests /<name> at 10 rps plus the round index, so the
// rate shows that the round count continues across a reload.
func scenarioVersion(name string) string {
	return fmt.Sprintf(`function request() return {path = "/%s"} end
function rps(round) return 10 + round.index end
`, name)
}

// pathLog records the paths a target sees, in order.
type pathLog struct {
	mu    sync.Mutex
	paths []string
	seen  chan string
}

func (p *pathLog) ServeHTTP(_ http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.paths = append(p.paths, r.URL.Path)
	p.mu.Unlock()
	select {
	case p.seen <- r.URL.Path:
	default:
	}
}

func (p *pathLog) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.paths...)
}

// waitPath waits until the target has seen path.
func (p *pathLog) waitPath(t *testing.T, path string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		for _, q := range p.all() {
			if q == path {
				return
			}
		}
		select {
		case <-p.seen:
		case <-deadline:
			t.Fatalf("target never saw %s", path)
		}
	}
}

func TestScenarioReload(t *testing.T) {
	cm := newConfigMapDir(t, scenarioVersion("v1"))
	paths := &pathLog{seen: make(chan string, 1)}
	target := httptest.NewServer(paths)
	defer target.Close()
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=" + target.URL, "-scenario=" + cm.path(),
		"-scenario-reload-interval=20ms", "-round-interval=200ms", "-listen-port=0", "-grpc-port=0"})
	if err != nil {
		t.Fatal(err)
	}
	var logs proc.Buffer
	reg := prometheus.NewRegistry()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var mu sync.Mutex
	var rounds []manager.RoundResult
	done := make(chan error, 1)
	go func() {
		done <- app.Run(ctx, cfg, app.RunOptions{
			Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registry: reg, LocalExecutors: 1,
			OnRound: func(r *manager.RoundResult) { mu.Lock(); rounds = append(rounds, *r); mu.Unlock() },
		})
	}()
	paths.waitPath(t, "/v1")

	// A broken update is rejected and the running version carries on.
	cm.publish("function request( return end")
	waitFor(t, func() bool { return reloads(t, reg, "rejected") == 1 })
	if !strings.Contains(logs.String(), "scenario update rejected") || !strings.Contains(logs.String(), "scenario.lua:1:") {
		t.Errorf("no rejection line naming scenario.lua:1 in the log:\n%s", logs.String())
	}
	// A good update takes over at a round boundary.
	cm.publish(scenarioVersion("v2"))
	paths.waitPath(t, "/v2")
	waitFor(t, func() bool { return reloads(t, reg, "accepted") == 1 })
	cancel()
	if err := <-done; err != nil && err != context.Canceled {
		t.Fatalf("Run: %v", err)
	}

	seen := paths.all()
	first := -1
	for i, p := range seen {
		if p == "/v2" && first < 0 {
			first = i
		}
		if first >= 0 && p == "/v1" {
			t.Fatalf("a /v1 request arrived after the first /v2 one: a round mixed versions (%v)", seen[max(0, first-3):i+1])
		}
	}
	// The round count went on across the reload: every round's rate is
	// 10 plus its index, in both versions.
	mu.Lock()
	defer mu.Unlock()
	for _, r := range rounds {
		if want := 10 + int(r.Round); r.PlannedRPS != want {
			t.Errorf("round %d planned %d rps, want %d", r.Round, r.PlannedRPS, want)
		}
	}
}

// reloads returns the scenario reload counter for result.
func reloads(t *testing.T, reg *prometheus.Registry, result string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "imager_orchestrator_scenario_reloads_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "result" && l.GetValue() == result {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no imager_orchestrator_scenario_reloads_total{result=%q}", result)
	return 0
}

// waitFor polls cond until it holds, for at most 20 seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
