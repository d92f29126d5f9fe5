package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A dry run shows each sample request's checks, the flags' included.
func TestDryRunShowsExpect(t *testing.T) {
	code, out, errOut := imager(t, "dry-run", "-target-url=http://127.0.0.1:8080/health", "-rate=5", "-rounds=1", "-samples=1",
		"-expect-status=200-299", "-expect-header=Content-Type: application/json")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	want := `--- expect: {"status":["200-299"],"header":{"Content-Type":"application/json"}}` + "\n"
	if !strings.Contains(out, "GET /health HTTP/1.1") || !strings.Contains(out, want) {
		t.Errorf("dry run output lacks the request or %q:\n%s", want, out)
	}
	code, out, _ = imager(t, "dry-run", "-target-url=http://127.0.0.1:8080/health", "-rate=5", "-samples=1", "-format=json", "-expect-status=204")
	if code != exitOK || !strings.Contains(out, `"expect": {`) || !strings.Contains(out, `"status": [`) {
		t.Errorf("exit %d, JSON output lacks the expect object:\n%s", code, out)
	}
}

// A bad -expect-* flag is a usage error naming the flag.
func TestRunRefusesBadExpectFlags(t *testing.T) {
	code, _, errOut := imager(t, "run", "-target-url=http://127.0.0.1:1/health", "-duration=1s", "-expect-body-regex=(", "-expect-status=600")
	if code != exitUsage {
		t.Errorf("exit %d, want %d; stderr %q", code, exitUsage, errOut)
	}
	for _, want := range []string{`-expect-body-regex "(": missing closing )`, `-expect-status: "600": status codes run from 100 to 599`} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr %q lacks %q", errOut, want)
		}
	}
}

// A scenario whose request() returns a bad expect table fails the run at
// its first request, naming the scenario's position, before anything is
// sent.
func TestRunRefusesBadLuaExpect(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	scenario := filepath.Join(t.TempDir(), "scenario.lua")
	src := "function request()\n  return {path = '/', expect = {status = '299-200'}}\nend\n"
	if err := os.WriteFile(scenario, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := imager(t, "run", "-target-url="+srv.URL, "-rate=5", "-duration=2s", "-scenario="+scenario)
	if code == exitOK {
		t.Fatalf("exit 0\nstdout:\n%s\nstderr:\n%s", out, errOut)
	}
	want := `scenario.lua:1: request() returned expect.status: "299-200": the range starts above its end`
	if !strings.Contains(errOut+out, want) {
		t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", want, out, errOut)
	}
	if n := len(rec.arrivals()); n != 0 {
		t.Errorf("the target received %d requests", n)
	}
}
