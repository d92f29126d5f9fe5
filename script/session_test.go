package script

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// versionScenario requests /<name> at base plus the round index.
func versionScenario(name string, base int) string {
	return fmt.Sprintf(`thresholds = {"p99 < 1s"}
function request() return {path = "/%s"} end
function rps(round) return %d + round.index end
`, name, base)
}

// publish replaces the file at path with content in one rename, as a
// ConfigMap update does, so a reader never sees half a file.
func publish(t *testing.T, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// nextPath returns the path of src's next request.
func nextPath(t *testing.T, src *ReloadableSource) string {
	t.Helper()
	spec, err := src.Next()
	if err != nil {
		t.Fatal(err)
	}
	return spec.Path
}

// buildBoth builds a request source of vms VMs and a load calculator
// from s.
func buildBoth(t *testing.T, s *Session, vms int) (*ReloadableSource, *ReloadableCalculator) {
	t.Helper()
	src, err := s.RequestSource(VMConfig{}, vms)
	if err != nil {
		t.Fatal(err)
	}
	calc, err := s.LoadCalculator(VMConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return src, calc
}

// A session reads the file once: what it builds later comes from that
// read, even when the file has changed since.
func TestSessionLoadsOnce(t *testing.T) {
	v1 := versionScenario("v1", 10)
	path := filepath.Join(writeFiles(t, map[string]string{"scenario.lua": v1}), "scenario.lua")
	s := NewSession(path)
	defer s.Close()
	roles, err := s.Roles(VMConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if !roles.Request || !roles.RPS || len(roles.Thresholds) != 1 {
		t.Errorf("Roles = %+v, want request, rps and one threshold", roles)
	}
	if s.Used() {
		t.Error("Used before anything was built")
	}
	publish(t, path, versionScenario("v2", 20))
	src, calc := buildBoth(t, s, 2)
	if p := nextPath(t, src); p != "/v1" {
		t.Errorf("request path %s, want /v1: the source was built from a second read", p)
	}
	if rps := calc.Next(); rps != 10 {
		t.Errorf("rps %d, want 10: the calculator was built from a second read", rps)
	}
	sc, err := s.Scenario()
	if err != nil {
		t.Fatal(err)
	}
	if sc.SHA256() != sha256.Sum256([]byte(v1)) {
		t.Error("SHA256 is not the hash of the version loaded")
	}
	if !s.Used() {
		t.Error("Used is false after building")
	}
}

func TestSessionErrors(t *testing.T) {
	missing := NewSession(filepath.Join(t.TempDir(), "none.lua"))
	if _, err := missing.Roles(VMConfig{}); err == nil {
		t.Error("Roles of a missing file succeeded")
	}
	if _, err := missing.RequestSource(VMConfig{}, 1); err == nil {
		t.Error("RequestSource of a missing file succeeded")
	}
	path := filepath.Join(writeFiles(t, map[string]string{"scenario.lua": "function rps() return 1 end"}), "scenario.lua")
	s := NewSession(path)
	_, err := s.RequestSource(VMConfig{}, 1)
	wantErr(t, err, "has no request() function")
	if s.Used() {
		t.Error("Used after a failed build")
	}
	s.Close()
	if _, err := s.LoadCalculator(VMConfig{}); !errors.Is(err, errSessionClosed) {
		t.Errorf("LoadCalculator after Close = %v, want errSessionClosed", err)
	}
}

// reloadCount counts Watch's verdicts.
type reloadCount struct {
	mu                 sync.Mutex
	accepted, rejected int
}

func (c *reloadCount) ScenarioReloaded(ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		c.accepted++
	} else {
		c.rejected++
	}
}

func (c *reloadCount) get() (accepted, rejected int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.accepted, c.rejected
}

// waitCount waits until c holds the given counts, for at most 10s.
func waitCount(t *testing.T, c *reloadCount, accepted, rejected int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		a, r := c.get()
		if a == accepted && r == rejected {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("reloads accepted %d rejected %d, want %d and %d", a, r, accepted, rejected)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestWatchReloadsAtRoundBoundary(t *testing.T) {
	path := filepath.Join(writeFiles(t, map[string]string{"scenario.lua": versionScenario("v1", 10)}), "scenario.lua")
	s := NewSession(path)
	defer s.Close()
	src, calc := buildBoth(t, s, 1)
	log, logs := newLogger()
	count := &reloadCount{}
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	wc := WatchConfig{Interval: 5 * time.Millisecond, Logger: log, Observer: count}
	go func() { watched <- s.Watch(ctx, wc) }()
	defer func() {
		cancel()
		if err := <-watched; err != nil {
			t.Errorf("Watch = %v", err)
		}
	}()
	if rps := calc.Next(); rps != 10 {
		t.Fatalf("round 0 rps %d, want 10", rps)
	}

	publish(t, path, "function request( return end")
	waitCount(t, count, 0, 1)
	if !strings.Contains(logs.String(), "scenario update rejected") || !strings.Contains(logs.String(), "scenario.lua:1:") {
		t.Errorf("no rejection naming scenario.lua:1 in the log:\n%s", logs.String())
	}
	// round begins round index and checks what it runs.
	round := func(index int64, wantPath string, wantRPS int) {
		t.Helper()
		src.BeginRound(index)
		calc.BeginRound(index)
		if p := nextPath(t, src); p != wantPath {
			t.Errorf("round %d: path %s, want %s", index, p, wantPath)
		}
		if rps := calc.Next(); rps != wantRPS {
			t.Errorf("round %d: rps %d, want %d", index, rps, wantRPS)
		}
	}
	round(1, "/v1", 11) // the rejected update changed nothing

	publish(t, path, versionScenario("v2", 20))
	waitCount(t, count, 1, 1)
	if p := nextPath(t, src); p != "/v1" {
		t.Errorf("before the round boundary the path is %s, want /v1", p)
	}
	round(2, "/v2", 22) // the new calculator goes on from round 2
}
