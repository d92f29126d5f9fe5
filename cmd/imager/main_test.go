package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/version"
)

// `imager version` and -version on every command print the bare version
// and exit 0, without running anything or checking other arguments.
func TestVersion(t *testing.T) {
	for _, args := range [][]string{
		{"version"}, {"-version"}, {"--version"},
		{"run", "-version"}, {"run", "-rate=5", "-version"},
		{"dry-run", "-version"}, {"demo", "-version"},
		{"report", "-version"}, {"report", "-version", "results.ndjson"},
		{"compare", "-version"}, {"compare", "a.ndjson", "-version", "b.ndjson"},
	} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitOK {
			t.Errorf("imager %s: exit code %d, want 0; stderr:\n%s", strings.Join(args, " "), code, stderr.String())
		}
		if got, want := stdout.String(), version.String()+"\n"; got != want {
			t.Errorf("imager %s printed %q, want %q", strings.Join(args, " "), got, want)
		}
	}
}

// A bad flag next to -version is still a usage error.
func TestVersionBadFlag(t *testing.T) {
	for _, cmd := range []string{"run", "dry-run", "demo", "report", "compare"} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), []string{cmd, "-version", "-no-such-flag"}, &stdout, &stderr); code != exitUsage {
			t.Errorf("imager %s -version -no-such-flag: exit code %d, want %d", cmd, code, exitUsage)
		}
	}
}

func TestUsage(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), nil, &stdout, &stderr); code != exitUsage {
		t.Errorf("imager: exit code %d, want %d", code, exitUsage)
	}
	if !strings.Contains(stderr.String(), "version") {
		t.Errorf("usage does not list the version command:\n%s", stderr.String())
	}
}
