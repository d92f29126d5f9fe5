package main

import (
	"bytes"
	"io"
	"log/slog"
	"testing"

	"github.com/PeladoCollado/imager/internal/version"
)

// -version prints the bare version and returns without serving.
func TestVersion(t *testing.T) {
	var out, logs bytes.Buffer
	if err := run([]string{"-version"}, &out, slog.New(slog.NewTextHandler(&logs, nil))); err != nil {
		t.Fatalf("run(-version) = %v", err)
	}
	if got, want := out.String(), version.String()+"\n"; got != want {
		t.Errorf("run(-version) printed %q, want %q", got, want)
	}
	if logs.Len() > 0 {
		t.Errorf("run(-version) logged %q, want nothing", logs.String())
	}
}

func TestBadArguments(t *testing.T) {
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, args := range [][]string{{"-no-such-flag"}, {"extra"}} {
		if err := run(args, io.Discard, logger); err == nil {
			t.Errorf("run(%q) = nil, want an error", args)
		}
	}
}
