package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/version"
)

// The start log shows the target without its password, and a standalone
// orchestrator that no executor could reach is refused as bad usage.
func TestStartRedactsAndRefusesGRPCPortZero(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run([]string{"-target-mode=url", "-target-url=http://user:hunter2@127.0.0.1:1/x", "-rate=1",
		"-listen-port=0", "-grpc-port=0"}, &stdout, &stderr)
	if code != 2 {
		t.Errorf("exit code %d, want 2; stderr:\n%s", code, stderr.String())
	}
	log := stderr.String()
	if !strings.Contains(log, "orchestrator starting") || !strings.Contains(log, "target_url=http://user:xxxxx@127.0.0.1:1/x") {
		t.Errorf("no start line with the redacted target; stderr:\n%s", log)
	}
	if strings.Contains(log+stdout.String(), "hunter2") {
		t.Errorf("the password was printed; stderr:\n%s", log)
	}
	if !strings.Contains(log, "-grpc-port=0") {
		t.Errorf("the refusal does not name -grpc-port=0; stderr:\n%s", log)
	}
}

// -version prints the bare version and exits 0 without validating the
// other flags; a bad flag still fails.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"-version"}, {"-target-mode=url", "-version"}} {
		var stdout, stderr bytes.Buffer
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Errorf("run(%q) = %d, want 0; stderr:\n%s", args, code, stderr.String())
		}
		if got, want := stdout.String(), version.String()+"\n"; got != want {
			t.Errorf("run(%q) printed %q, want %q", args, got, want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-version", "-no-such-flag"}, &stdout, &stderr); code != 2 {
		t.Errorf("run(-version -no-such-flag) = %d, want 2", code)
	}
}
