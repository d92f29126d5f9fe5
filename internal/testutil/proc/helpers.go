package proc

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// cmdPackage is the import path under which BuildBinaries finds commands.
const cmdPackage = "github.com/PeladoCollado/imager/cmd/"

// BuildOptions says how BuildBinaries builds.
type BuildOptions struct {
	// Race builds the binaries with the race detector; set it from
	// RaceEnabled to match the test binary.
	Race bool
	// Flags are more go build flags, e.g. "-ldflags=-X pkg.name=value".
	Flags []string
	// Dir, when set, is the existing directory the binaries are built
	// into (a test's t.TempDir(), say), which cleanup leaves alone; empty
	// means a fresh temporary directory that cleanup removes.
	Dir string
}

// BuildBinaries builds the named commands of cmd/ into a directory (see
// BuildOptions.Dir) and returns their paths by name, with a cleanup that
// removes the directory if BuildBinaries made it (and does nothing with
// Dir). It is meant for TestMain and for tests of the build itself; the go
// tool's messages go to stderr. On error nothing is left behind and
// cleanup is nil.
func BuildBinaries(opts BuildOptions, names ...string) (bins map[string]string, cleanup func(), err error) {
	dir, cleanup := opts.Dir, func() {}
	if dir == "" {
		if dir, err = os.MkdirTemp("", "imager-bin-"); err != nil {
			return nil, nil, fmt.Errorf("binaries directory: %w", err)
		}
		cleanup = func() { os.RemoveAll(dir) }
	}
	args := []string{"build"}
	if opts.Race {
		args = append(args, "-race")
	}
	args = append(args, opts.Flags...)
	bins = map[string]string{}
	for _, name := range names {
		out := filepath.Join(dir, name)
		cmd := exec.Command("go", append(args, "-o", out, cmdPackage+name)...)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			for _, path := range bins {
				os.Remove(path)
			}
			cleanup()
			return nil, nil, fmt.Errorf("build %s: %w", name, err)
		}
		bins[name] = out
	}
	return bins, cleanup, nil
}

// RaceEnabled reports whether the running binary was built with -race.
func RaceEnabled() bool {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range info.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// handedOut records every port FreePort has returned in this process, so
// that two calls never return the same port: the kernel may give a port
// that was just closed to the next listener that asks for port 0, and a
// test that asks for three ports in a row would then start two servers on
// one. It is the one piece of shared state in this package; the mutex
// guards it across parallel tests.
var handedOut = struct {
	sync.Mutex
	ports map[int]bool
}{ports: map[int]bool{}}

// FreePort returns a loopback port that was free a moment ago and that no
// earlier call in this process returned. It is safe for concurrent use.
func FreePort(t testing.TB) int {
	t.Helper()
	handedOut.Lock()
	defer handedOut.Unlock()
	for range 1000 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if !handedOut.ports[port] {
			handedOut.ports[port] = true
			return port
		}
	}
	t.Fatal("FreePort: the kernel returned only ports already handed out")
	return 0
}

// WaitHTTP waits until a GET of url answers 200, failing the test if it
// does not within timeout.
func WaitHTTP(t testing.TB, url string, timeout time.Duration) {
	t.Helper()
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(timeout)
	for {
		resp, err := client.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v (last error %v)", url, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Scrape reads a Prometheus text endpoint into series -> value, where a
// series is the metric name with its labels as printed, e.g.
// imager_orchestrator_target_pod_cpu_millicores{namespace="imager",pod="web-a"}.
// Comments and lines without a value that parses are skipped.
func Scrape(t testing.TB, url string) map[string]float64 {
	t.Helper()
	client := &http.Client{Timeout: 10 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		t.Fatalf("scrape %s: %v", url, err)
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// Num reads the numeric field key of a JSON log line, given either as a
// JSON number or as a string holding one; anything else fails the test.
func Num(t testing.TB, l map[string]any, key string) float64 {
	t.Helper()
	switch v := l[key].(type) {
	case float64:
		return v
	case string:
		f, err := strconv.ParseFloat(v, 64)
		if err != nil {
			t.Fatalf("log field %s=%q is not a number", key, v)
		}
		return f
	default:
		t.Fatalf("log line has no numeric %q: %v", key, l)
		return 0
	}
}
