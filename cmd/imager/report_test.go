package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/types"
)

// writeResults writes a small results file (a run line, two rounds and a
// summary) to dir and returns its path.
func writeResults(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "results.ndjson")
	w, err := results.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := []any{&results.Run{
		Type: results.TypeRun, SchemaVersion: results.SchemaVersion, Version: "test", Command: "imager run",
		Start: time.Unix(1700000000, 0).UTC(), Target: "http://127.0.0.1:1",
	}}
	var sum manager.Summary
	for i := range 2 {
		r := &manager.RoundResult{RoundStats: types.RoundStats{Round: int64(i), PlannedRPS: 10, AchievedRPS: 10},
			Start: time.Unix(1700000000+int64(i), 0), Interval: time.Second, Latency: tally.NewHistogram(), Service: tally.NewHistogram()}
		r.Counts.Planned, r.Counts.Sent, r.Counts.Success = 10, 10, 10
		r.AddStatus(200, 10)
		for v := int64(1000); v < 11000; v += 1000 {
			_ = r.Latency.RecordValue(v)
			_ = r.Service.RecordValue(v / 2)
		}
		r.Summarize()
		line, err := results.FromRound(r)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, line)
		sum.Add(r)
		sum.Elapsed += time.Second
	}
	s, err := results.FromSummary(&sum)
	if err != nil {
		t.Fatal(err)
	}
	s.Stopped = "completed"
	for _, l := range append(lines, s) {
		if err := w.Write(l); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportCmdWritesPage(t *testing.T) {
	dir := t.TempDir()
	in := writeResults(t, dir)
	var stdout, stderr bytes.Buffer
	if code := reportCmd([]string{in}, &stdout, &stderr); code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr.String())
	}
	want := filepath.Join(dir, "results.html")
	if got := strings.TrimSpace(stdout.String()); got != "wrote "+want {
		t.Errorf("stdout %q, want %q", got, "wrote "+want)
	}
	page, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"<!DOCTYPE html>", `data-chart="rate"`, `data-chart="distribution"`, "PASSED"} {
		if !bytes.Contains(page, []byte(s)) {
			t.Errorf("page lacks %q", s)
		}
	}

	// -o names the output, through the top-level dispatcher too.
	custom := filepath.Join(dir, "custom.html")
	stdout.Reset()
	if code := run(t.Context(), []string{"report", "-o", custom, in}, &stdout, &stderr); code != exitOK {
		t.Fatalf("imager report -o: exit %d, stderr:\n%s", code, stderr.String())
	}
	if fi, err := os.Stat(custom); err != nil || fi.Size() == 0 {
		t.Errorf("-o %s: not written (%v)", custom, err)
	}
}

func TestReportCmdErrors(t *testing.T) {
	dir := t.TempDir()
	good := writeResults(t, dir)
	bad := filepath.Join(dir, "bad.ndjson")
	goodText, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	// A corrupt second line followed by more lines.
	first, rest, _ := strings.Cut(string(goodText), "\n")
	if err := os.WriteFile(bad, []byte(first+"\n{not json\n"+rest), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.ndjson")
	for _, tc := range []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"no argument", nil, exitUsage, "missing the results file"},
		{"extra argument", []string{good, "more"}, exitUsage, `unexpected argument "more"`},
		{"unknown flag", []string{"-x", good}, exitUsage, "-x"},
		{"missing file", []string{missing}, exitFailed, missing},
		{"corrupt line", []string{bad}, exitFailed, bad + ":2:"},
		{"unwritable output", []string{"-o", filepath.Join(dir, "no", "such", "dir.html"), good}, exitFailed, "no such file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := reportCmd(tc.args, &stdout, &stderr); code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tc.stderr)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.html")); !os.IsNotExist(err) {
		t.Errorf("a page was written for a missing file (%v)", err)
	}
}

func TestHTMLPath(t *testing.T) {
	for in, want := range map[string]string{
		"results.ndjson":   "results.html",
		"dir/run.v1.jsonl": "dir/run.v1.html",
		"noext":            "noext.html",
		"page.html":        "page.html.html",
	} {
		if got := htmlPath(in); got != want {
			t.Errorf("htmlPath(%q) = %q, want %q", in, got, want)
		}
	}
}
