// Package e2e runs imager's binaries together on loopback, as a user would:
// a sumservice target, an orchestrator, executors, and the imager CLI.
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
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// bin holds the paths of the binaries TestMain builds.
var bin = map[string]string{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "imager-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		for _, name := range []string{"orchestrator", "executor", "sumservice", "imager"} {
			out := filepath.Join(dir, name)
			cmd := exec.Command("go", "build", "-o", out, "github.com/PeladoCollado/imager/cmd/"+name)
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

// proc is a running binary whose JSON log lines are collected.
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

// start runs a binary with args; it is killed when the test ends.
func start(t *testing.T, name string, args ...string) *proc {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	cmd := exec.CommandContext(ctx, bin[name], args...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), more: make(chan struct{})}
	if err := cmd.Start(); err != nil {
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
		if t.Failed() {
			t.Logf("--- %s log ---\n%s", name, p.rawLog())
		}
	})
	return p
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

// logs returns the JSON log lines with the given msg.
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

// wait waits for the process to exit and returns its error.
func (p *proc) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("%s did not exit within %v", p.name, timeout)
		return nil
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready after %v (last error %v)", url, timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// scrape reads a Prometheus text endpoint into series -> value, where a
// series is the metric name with its labels as printed.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
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
