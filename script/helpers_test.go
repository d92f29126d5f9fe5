package script

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// writeFiles writes files (slash-separated path -> content) into a fresh
// folder and returns it.
func writeFiles(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// loadSource writes src as scenario.lua, beside extra files, and loads it.
func loadSource(t *testing.T, src string, extra map[string]string) *Scenario {
	t.Helper()
	files := map[string]string{"scenario.lua": src}
	for k, v := range extra {
		files[k] = v
	}
	s, err := Load(filepath.Join(writeFiles(t, files), "scenario.lua"))
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return s
}

// newVM loads src and makes a VM that is closed when the test ends.
func newVM(t *testing.T, src string, cfg VMConfig) *VM {
	t.Helper()
	vm, err := loadSource(t, src, nil).NewVM(cfg)
	if err != nil {
		t.Fatalf("NewVM: %v", err)
	}
	t.Cleanup(vm.Close)
	return vm
}

// wantErr fails unless err is non-nil and contains every fragment.
func wantErr(t *testing.T, err error, fragments ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("error = nil, want one containing %q", fragments)
	}
	for _, f := range fragments {
		if !strings.Contains(err.Error(), f) {
			t.Fatalf("error = %q, want it to contain %q", err, f)
		}
	}
}

// newLogger returns a logger writing text records into a proc.Buffer.
func newLogger() (*slog.Logger, *proc.Buffer) {
	b := &proc.Buffer{}
	return slog.New(slog.NewTextHandler(b, nil)), b
}
