// Package e2e runs imager's binaries against a real kube-apiserver and etcd
// on loopback (test/k8s/cluster): it applies the kustomize trees in deploy/,
// checks the orchestrator's RBAC by impersonation, and runs the orchestrator
// out of cluster in pod and service modes against pods whose status points
// at sumservice processes on 127.0.0.x, with pod CPU and memory served
// through an aggregated metrics.k8s.io API.
//
// TestMain builds cmd/orchestrator, cmd/executor and cmd/sumservice once;
// when the test binary has the race detector, so do they, and a data race
// they report fails the test. The cluster binaries come from
// cluster.Binaries, which skips (or under CI=true fails) when they cannot
// be built.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bin holds the paths of the binaries TestMain builds, by command name.
var bin = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imager-k8s-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		args := []string{"build"}
		if raceEnabled() {
			args = append(args, "-race")
		}
		for _, name := range []string{"orchestrator", "executor", "sumservice"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", append(args, "-o", out, "github.com/PeladoCollado/imager/cmd/"+name)...)
			cmd.Stderr = os.Stderr
			if err := cmd.Run(); err != nil {
				fmt.Fprintf(os.Stderr, "build %s: %v\n", name, err)
				return 1
			}
			bin[name] = out
		}
		return m.Run()
	}()
	os.Exit(code)
}

// raceEnabled reports whether this test binary was built with -race.
func raceEnabled() bool {
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

// procTimeout bounds the life of every process a test starts.
const procTimeout = 4 * time.Minute

// proc is a running binary whose JSON log lines (on stderr) are collected.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid after done

	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	more  chan struct{} // closed and replaced on every new line
}

// start runs a binary built by TestMain; it is stopped when the test ends.
// A data race reported by a race-enabled binary fails the test.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), procTimeout)
	cmd := exec.CommandContext(ctx, bin[name], args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 10 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), more: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.add(sc.Bytes())
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.done
		log := p.rawLog()
		if strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("--- %s %s log ---\n%s", name, strings.Join(args, " "), log)
		}
	})
	return p
}

// stop ends the process with SIGTERM and waits for it.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not stop within 30s of SIGTERM", p.name)
	}
}

func (p *proc) add(line []byte) {
	var m map[string]any
	_ = json.Unmarshal(line, &m) // non-JSON lines are kept raw only
	p.mu.Lock()
	defer p.mu.Unlock()
	p.raw.Write(line)
	p.raw.WriteByte('\n')
	if m != nil {
		p.lines = append(p.lines, m)
	}
	close(p.more)
	p.more = make(chan struct{})
}

func (p *proc) rawLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// logs returns the JSON log lines whose msg is msg.
func (p *proc) logs(msg string) []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []map[string]any
	for _, l := range p.lines {
		if l["msg"] == msg {
			out = append(out, l)
		}
	}
	return out
}

// waitFor waits until cond holds on the log lines with msg, or fails.
func (p *proc) waitFor(t *testing.T, msg string, timeout time.Duration, cond func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		more := p.more
		p.mu.Unlock()
		if ls := p.logs(msg); cond(ls) {
			return ls
		}
		select {
		case <-more:
		case <-p.done:
			if ls := p.logs(msg); cond(ls) {
				return ls
			}
			t.Fatalf("%s exited (%v) before logging the expected %q lines", p.name, p.err, msg)
		case <-deadline:
			t.Fatalf("%s: timed out after %v waiting for %q log lines", p.name, timeout, msg)
		}
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// sharedPort returns a port that was free a moment ago on every one of
// hosts (loopback addresses such as 127.0.0.2), so one container port can
// stand for several pods.
func sharedPort(t *testing.T, hosts ...string) int {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			t.Fatalf("listen on %s: %v", hosts[0], err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		ls := []net.Listener{first}
		ok := true
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", hosts)
	return 0
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, timeout time.Duration) {
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

// scrape reads a Prometheus text endpoint into series -> value, where a
// series is the metric name with its labels as printed, e.g.
// imager_orchestrator_target_pod_cpu_millicores{namespace="imager",pod="web-a"}.
func scrape(t *testing.T, url string) map[string]float64 {
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
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		out[line[:i]] = v
	}
	return out
}

// num reads a numeric JSON log field.
func num(t *testing.T, l map[string]any, key string) float64 {
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

// repoRoot is the module root, three levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}
