package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// runUntilHealthy runs the executor with args (plus a free -metrics-port
// and an orchestrator nobody listens on) until its /healthz answers, stops
// it, and returns what it logged.
func runUntilHealthy(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	args = append([]string{"-orchestrator", "127.0.0.1:1", "-metrics-port", strconv.Itoa(port)}, args...)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, io.Discard, &logs, env("p", "")) }()

	client := &http.Client{Timeout: time.Second}
	defer client.CloseIdleConnections()
	waitHealthz(t, client, "http://127.0.0.1:"+strconv.Itoa(port), done)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run() = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("run did not return within 5s of cancel")
	}
	return logs.String()
}

// TestLogLevel: the default level logs the executor's info lines (its
// start, its metrics server, its stop); -log-level=warn suppresses them.
func TestLogLevel(t *testing.T) {
	info := runUntilHealthy(t)
	for _, want := range []string{"level=INFO msg=\"executor starting\"", "level=INFO msg=\"executor stopped\""} {
		if !strings.Contains(info, want) {
			t.Errorf("at the default level the log lacks %q:\n%s", want, info)
		}
	}
	warn := runUntilHealthy(t, "-log-level=warn")
	if strings.Contains(warn, "level=INFO") {
		t.Errorf("-log-level=warn logged info lines:\n%s", warn)
	}
}

// TestBadLogLevelRefused: a -log-level that is not a level is a usage
// error naming the flag, and nothing runs.
func TestBadLogLevelRefused(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-log-level=loud"}, &stdout, &stderr, env("p", ""))
	if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "-log-level") || !strings.Contains(err.Error(), "loud") {
		t.Fatalf("run(-log-level=loud) = %v, want a usage error naming -log-level and the value", err)
	}
	if stdout.Len() != 0 || stderr.Len() != 0 {
		t.Errorf("a refused command line wrote stdout %q, stderr %q", stdout.String(), stderr.String())
	}
}
