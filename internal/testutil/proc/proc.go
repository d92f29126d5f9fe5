// Package proc runs imager's binaries for end-to-end tests: it builds the
// commands under cmd/ once per test binary, starts them as child processes
// tied to a test's lifetime, and collects the JSON log lines they write on
// stderr so a test can wait on them. It also holds the small helpers those
// tests share: a free loopback port, waiting for an HTTP endpoint, reading
// a Prometheus text endpoint and reading a numeric log field.
//
// It is an ordinary package so that several test packages can share it;
// nothing outside tests imports it.
package proc

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// DefaultTimeout bounds the life of a process started with a zero
// Options.Timeout.
const DefaultTimeout = 3 * time.Minute

// Options says how Start runs a process. The zero value kills the process
// when the test ends or after DefaultTimeout, whichever comes first.
type Options struct {
	// Timeout bounds the life of the process; zero means DefaultTimeout.
	Timeout time.Duration
	// TermGrace, when positive, stops the process at the end of its life
	// with SIGTERM and kills it only if it has not exited TermGrace later.
	// Zero kills it outright.
	TermGrace time.Duration
	// FailOnRace fails the test when the process's log holds a report of
	// the race detector (see BuildOptions.Race).
	FailOnRace bool
	// Stdout receives the process's standard output; nil discards it.
	Stdout io.Writer
}

// Proc is a running binary whose stderr lines are collected: all of them
// as raw text, and those that are JSON objects also decoded, for Logs and
// WaitFor.
type Proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid after done is closed

	mu    sync.Mutex
	lines []map[string]any
	raw   bytes.Buffer
	more  chan struct{} // closed and replaced on every new line
}

// Start runs the binary at path with args under the zero Options.
func Start(t testing.TB, path string, args ...string) *Proc {
	t.Helper()
	return Options{}.Start(t, path, args...)
}

// Start runs the binary at path with args. The process is stopped when the
// test ends (or when o.Timeout runs out), and its log is written to the
// test log if the test has failed by then.
func (o Options) Start(t testing.TB, path string, args ...string) *Proc {
	t.Helper()
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	name := filepath.Base(path)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, path, args...)
	if o.TermGrace > 0 {
		cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
		cmd.WaitDelay = o.TermGrace
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	cmd.Stdout = o.Stdout
	if cmd.Stdout == nil {
		cmd.Stdout = io.Discard
	}
	p := &Proc{name: name, cmd: cmd, done: make(chan struct{}), more: make(chan struct{})}
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
		log := p.RawLog()
		if o.FailOnRace && strings.Contains(log, "WARNING: DATA RACE") {
			t.Errorf("%s reported a data race", name)
		}
		if t.Failed() {
			t.Logf("--- %s %s log ---\n%s", name, strings.Join(args, " "), log)
		}
	})
	return p
}

// add records one stderr line.
func (p *Proc) add(line []byte) {
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

// RawLog returns everything the process has written on stderr so far.
func (p *Proc) RawLog() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.raw.String()
}

// Logs returns the JSON log lines whose msg is msg, oldest first.
func (p *Proc) Logs(msg string) []map[string]any {
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

// errExited and errTimedOut say why await gave up.
var (
	errExited   = errors.New("process exited")
	errTimedOut = errors.New("timed out")
)

// await waits until ok holds, checking it again at every new stderr line.
// It returns errExited if the process ends with ok still false, or
// errTimedOut if timeout passes first.
func (p *Proc) await(timeout time.Duration, ok func() bool) error {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		more := p.more
		p.mu.Unlock()
		if ok() {
			return nil
		}
		select {
		case <-more:
		case <-p.done:
			if ok() { // the last lines came in with the exit
				return nil
			}
			return errExited
		case <-deadline:
			return errTimedOut
		}
	}
}

// WaitFor waits until cond holds on the log lines with msg and returns
// them. It fails the test if the process exits first or timeout passes.
func (p *Proc) WaitFor(t testing.TB, msg string, timeout time.Duration, cond func([]map[string]any) bool) []map[string]any {
	t.Helper()
	var ls []map[string]any
	switch p.await(timeout, func() bool { ls = p.Logs(msg); return cond(ls) }) {
	case errExited:
		t.Fatalf("%s exited (%v) before logging the expected %q lines", p.name, p.err, msg)
	case errTimedOut:
		t.Fatalf("%s: timed out after %v waiting for %q log lines", p.name, timeout, msg)
	}
	return ls
}

// WaitRaw waits until the raw log holds text, failing the test if it does
// not within timeout.
func (p *Proc) WaitRaw(t testing.TB, text string, timeout time.Duration) {
	t.Helper()
	switch p.await(timeout, func() bool { return strings.Contains(p.RawLog(), text) }) {
	case errExited:
		t.Fatalf("%s never logged %q (exited: %v)", p.name, text, p.err)
	case errTimedOut:
		t.Fatalf("%s never logged %q", p.name, text)
	}
}

// exited waits up to timeout for the process to exit. It reports whether
// it did and, if so, its exit error.
func (p *Proc) exited(timeout time.Duration) (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	case <-time.After(timeout):
		return false, nil
	}
}

// Wait waits for the process to exit and returns its exit error, failing
// the test if it is still running after timeout.
func (p *Proc) Wait(t testing.TB, timeout time.Duration) error {
	t.Helper()
	ok, err := p.exited(timeout)
	if !ok {
		t.Fatalf("%s did not exit within %v", p.name, timeout)
	}
	return err
}

// Stop sends the process SIGTERM and waits for it to exit, failing the
// test if it is still running after timeout. It returns the exit error.
func (p *Proc) Stop(t testing.TB, timeout time.Duration) error {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	ok, err := p.exited(timeout)
	if !ok {
		t.Fatalf("%s did not stop within %v of SIGTERM", p.name, timeout)
	}
	return err
}

// Signal sends sig to the process without waiting for it.
func (p *Proc) Signal(sig os.Signal) error {
	return p.cmd.Process.Signal(sig)
}
