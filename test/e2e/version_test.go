package e2e

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/version"
)

// versionVar is the variable -ldflags -X stamps the version into; the
// Makefile and the Dockerfiles name it too.
const versionVar = "github.com/PeladoCollado/imager/internal/version.version"

// stampedVersion is the version the stamped test builds carry.
const stampedVersion = "v9.8.7-test"

// commands are the binaries of cmd/, each of which prints the version.
var commands = []string{"orchestrator", "executor", "sumservice", "imager"}

// versionArgs are the ways to ask the command name for its version:
// -version, and for imager also `imager version` and -version on each of
// its commands.
func versionArgs(name string) [][]string {
	if name != "imager" {
		return [][]string{{"-version"}}
	}
	out := [][]string{{"version"}, {"-version"}}
	for _, cmd := range []string{"run", "dry-run", "demo", "report", "compare"} {
		out = append(out, []string{cmd, "-version"})
	}
	return out
}

// versionLine runs path with args, which must exit 0 within 30 seconds,
// and returns the first line of its standard output.
func versionLine(t *testing.T, path string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", filepath.Base(path), strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	line, _, _ := strings.Cut(stdout.String(), "\n")
	return line
}

// versionsOf asks every binary of bins for its version in every way and
// returns the first lines printed, by invocation ("imager run -version").
func versionsOf(t *testing.T, bins map[string]string) map[string]string {
	t.Helper()
	got := map[string]string{}
	for _, name := range commands {
		for _, args := range versionArgs(name) {
			got[name+" "+strings.Join(args, " ")] = versionLine(t, bins[name], args...)
		}
	}
	return got
}

// checkVersions fails unless every invocation printed want.
func checkVersions(t *testing.T, got map[string]string, want string) {
	t.Helper()
	for call, line := range got {
		if line != want {
			t.Errorf("%s printed %q first, want %q", call, line, want)
		}
	}
}

// A version stamped with -ldflags -X is what every binary prints first,
// for every way of asking.
func TestVersionStamped(t *testing.T) {
	opts := proc.BuildOptions{Dir: t.TempDir(), Flags: []string{"-ldflags=-X " + versionVar + "=" + stampedVersion}}
	bins, _, err := proc.BuildBinaries(opts, commands...)
	if err != nil {
		t.Fatal(err)
	}
	checkVersions(t, versionsOf(t, bins), stampedVersion)
}

// An unstamped build without VCS information (TestMain's binaries; also
// the images when VERSION is not given, as .git is not in their build
// context) prints the one fallback string everywhere.
func TestVersionUnstamped(t *testing.T) {
	checkVersions(t, versionsOf(t, bin), version.Fallback)
}

// `make build` and `make images` pass VERSION to the go build and the
// docker builds.
func TestMakefileStampsVersion(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on PATH")
	}
	root := repoRoot(t)
	makeN := func(target string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "make", "-n", "--no-print-directory", target, "VERSION="+stampedVersion)
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("make -n %s: %v\n%s", target, err, out)
		}
		return string(out)
	}
	if out, want := makeN("build"), `-ldflags "-X `+versionVar+"="+stampedVersion+`"`; !strings.Contains(out, want) {
		t.Errorf("make build does not pass %s:\n%s", want, out)
	}
	out := makeN("images")
	for _, im := range images {
		want := "--build-arg VERSION=" + stampedVersion + " -t imager/" + im.name + ":local -f Dockerfile." + im.name
		if !strings.Contains(out, want) {
			t.Errorf("make images lacks %q:\n%s", want, out)
		}
	}
}
