package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/version"
)

// env returns an environment with the given $POD_NAME and hostname, whose
// random id suffix is always "abc123".
func env(pod, host string) environment {
	return environment{
		getenv: func(k string) string {
			if k == "POD_NAME" {
				return pod
			}
			return ""
		},
		hostname: func() (string, error) {
			if host == "" {
				return "", errors.New("no hostname")
			}
			return host, nil
		},
		suffix: func() string { return "abc123" },
	}
}

func TestParseFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     environment
		want    options
		wantErr string // "" means success
	}{
		{
			name: "defaults use POD_NAME",
			env:  env("pod-7", "host-1"),
			want: options{orchestrator: "imager-orchestrator:8100", id: "pod-7", workers: 4, maxInFlight: 10000, metricsPort: 9100, logFormat: "text", logLevel: "info"},
		},
		{
			name: "hostname when no POD_NAME",
			env:  env("", "host-1"),
			want: options{orchestrator: "imager-orchestrator:8100", id: "host-1-abc123", workers: 4, maxInFlight: 10000, metricsPort: 9100, logFormat: "text", logLevel: "info"},
		},
		{
			name: "TLS flags",
			args: []string{"-tls-ca", "/ca.pem", "-tls-cert", "/c.pem", "-tls-key", "/k.pem", "-tls-server-name", "orch"},
			env:  env("p", ""),
			want: options{orchestrator: "imager-orchestrator:8100", id: "p", workers: 4, maxInFlight: 10000, metricsPort: 9100, logFormat: "text", logLevel: "info",
				tls: tlsOptions{ca: "/ca.pem", cert: "/c.pem", key: "/k.pem", serverName: "orch"}},
		},
		{
			name: "explicit flags",
			args: []string{"-orchestrator", "orch:1", "-id", "me", "-workers", "8", "-max-inflight", "50", "-connections", "12", "-metrics-port", "9200", "-auth-token-file", "/t", "-log-format", "json", "-log-level", "debug"},
			env:  env("pod-7", "host-1"),
			want: options{orchestrator: "orch:1", id: "me", workers: 8, maxInFlight: 50, connections: 12, metricsPort: 9200, authTokenFile: "/t", logFormat: "json", logLevel: "debug"},
		},
		{name: "no id anywhere", env: env("", ""), wantErr: "-id"},
		{name: "zero workers", args: []string{"-workers", "0"}, env: env("p", ""), wantErr: "-workers"},
		{name: "zero max in-flight", args: []string{"-max-inflight", "0"}, env: env("p", ""), wantErr: "-max-inflight"},
		{name: "negative connections", args: []string{"-connections", "-1"}, env: env("p", ""), wantErr: "-connections"},
		{name: "port out of range", args: []string{"-metrics-port", "70000"}, env: env("p", ""), wantErr: "-metrics-port"},
		{name: "bad log format", args: []string{"-log-format", "xml"}, env: env("p", ""), wantErr: "-log-format"},
		{name: "bad log level", args: []string{"-log-level", "loud"}, env: env("p", ""), wantErr: "-log-level"},
		{name: "empty orchestrator", args: []string{"-orchestrator", ""}, env: env("p", ""), wantErr: "-orchestrator"},
		{name: "unknown flag", args: []string{"-nope"}, env: env("p", ""), wantErr: "-nope"},
		{name: "stray argument", args: []string{"extra"}, env: env("p", ""), wantErr: "unexpected arguments"},
		{name: "client cert without key", args: []string{"-tls-cert", "/c.pem"}, env: env("p", ""), wantErr: "-tls-key"},
		{name: "client key without cert", args: []string{"-tls-key", "/k.pem"}, env: env("p", ""), wantErr: "-tls-cert"},
		{name: "server name without TLS", args: []string{"-tls-server-name", "orch"}, env: env("p", ""), wantErr: "-tls-server-name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFlags(tt.args, io.Discard, tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, errUsage) {
					t.Errorf("parseFlags(%q) error = %v, want a usage error mentioning %q", tt.args, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseFlags(%q) error = %v", tt.args, err)
			}
			if got != tt.want {
				t.Errorf("parseFlags(%q) = %+v, want %+v", tt.args, got, tt.want)
			}
		})
	}
}

func TestRunVersionAndHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-version"}, &out, &errOut, env("p", "")); err != nil {
		t.Fatalf("run(-version) = %v", err)
	}
	if got, want := out.String(), version.String()+"\n"; got != want {
		t.Errorf("run(-version) printed %q, want %q", got, want)
	}
	out.Reset()
	if err := run(context.Background(), []string{"-h"}, &out, &errOut, env("p", "")); err != nil {
		t.Fatalf("run(-h) = %v, want nil", err)
	}
	for _, flagName := range []string{"-orchestrator", "-id", "-workers", "-max-inflight", "-connections", "-metrics-port", "-auth-token-file", "-log-format", "-log-level",
		"-tls-ca", "-tls-cert", "-tls-key", "-tls-server-name", "-exit-when-done", "-version"} {
		if !strings.Contains(errOut.String(), flagName) {
			t.Errorf("usage lacks %s; usage:\n%s", flagName, errOut.String())
		}
	}
}

func TestRunRejectsMissingTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent")
	err := run(context.Background(), []string{"-auth-token-file", path}, io.Discard, io.Discard, env("p", ""))
	if err == nil || !strings.Contains(err.Error(), "-auth-token-file") {
		t.Errorf("run with a missing token file = %v, want an error naming -auth-token-file", err)
	}
}

// TestRunServesUntilCancelled starts the whole executor against an
// orchestrator that is not there: /healthz answers, /readyz reports not
// ready, and run returns nil once its context ends.
func TestRunServesUntilCancelled(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	_ = ln.Close()
	// A port nothing listens on stands in for an absent orchestrator.
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte("tok\n"), 0o600); err != nil {
		t.Fatalf("write token: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	args := []string{"-orchestrator", "127.0.0.1:1", "-metrics-port", strconv.Itoa(port), "-auth-token-file", tokenFile, "-log-format", "json"}
	go func() { done <- run(ctx, args, io.Discard, io.Discard, env("p", "")) }()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	client := &http.Client{Timeout: time.Second}
	waitHealthz(t, client, base, done)
	resp, err := client.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz: %v", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz without an orchestrator = %d, want 503", resp.StatusCode)
	}
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run() = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("run did not return within 5s of cancel")
	}
}

// TestWithFlagNamesTheFlag: a field executor.New refuses is reported with
// the flag that sets it.
func TestWithFlagNamesTheFlag(t *testing.T) {
	_, err := executor.New(executor.Config{Orchestrator: "127.0.0.1:1", ID: "e", Capacity: 0})
	if got := withFlag(err); got == nil || !strings.HasPrefix(got.Error(), "-workers: ") {
		t.Fatalf("withFlag(%v) = %v, want it to start with -workers", err, got)
	}
	_, err = executor.New(executor.Config{Orchestrator: "dns://a/b/c%zz", ID: "e", Capacity: 1})
	if got := withFlag(err); got == nil || !strings.HasPrefix(got.Error(), "-orchestrator: ") {
		t.Fatalf("withFlag(%v) = %v, want it to start with -orchestrator", err, got)
	}
	refused := &executor.RefusedError{ID: "e", Code: codes.AlreadyExists, Detail: "taken"}
	if got := withFlag(refused); got == nil || !strings.HasPrefix(got.Error(), "-id: ") || !errors.Is(got, refused) {
		t.Fatalf("withFlag(%v) = %v, want it to start with -id and wrap the refusal", refused, got)
	}
	refused = &executor.RefusedError{ID: "e", Code: codes.Unauthenticated, Detail: "bad token"}
	if got := withFlag(refused); got == nil || !strings.HasPrefix(got.Error(), "-auth-token-file: ") {
		t.Fatalf("withFlag(%v) = %v, want it to start with -auth-token-file", refused, got)
	}
	if got := withFlag(&executor.RefusedError{Code: codes.PermissionDenied}); strings.HasPrefix(got.Error(), "-") {
		t.Fatalf("withFlag named a flag for a repeat offender: %v", got)
	}
	plain := errors.New("other")
	if withFlag(plain) != plain {
		t.Fatal("withFlag changed an error that is not a ConfigError")
	}
}

// waitHealthz waits up to 5s for base's /healthz to answer 200, failing t
// if run (whose result done carries) returns first or the time runs out.
func waitHealthz(t *testing.T, client *http.Client, base string, done <-chan error) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := client.Get(base + "/healthz")
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /healthz = %d, want 200", resp.StatusCode)
			}
			return
		}
		select {
		case err := <-done:
			t.Fatalf("run returned early: %v", err)
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("metrics server not up within 5s: %v", err)
		}
	}
}
