// Package browser runs Debian's headless Chromium for tests that look at
// pages as a person would: the DOM after rendering, and screenshots.
package browser

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Deadline bounds each run of the browser.
const Deadline = 60 * time.Second

// Find returns the path of Debian's Chromium. Without one the test is
// skipped, unless CI is "true": CI must run it (.ci/run installs it).
func Find(t testing.TB) string {
	t.Helper()
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium is not installed; CI must run the browser tests (.ci/run installs it)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); skipping the browser test")
	return ""
}

// Run runs headless Chromium at bin with a fresh profile and no
// background network traffic, and returns its standard output.
func Run(t testing.TB, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), Deadline)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// Chromium's helper processes may hold the pipes after a kill.
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("chromium did not finish within %v; stderr:\n%s", Deadline, stderr.String())
		}
		t.Fatalf("chromium %v: %v; stderr:\n%s", args, err, stderr.String())
	}
	return stdout.Bytes()
}
