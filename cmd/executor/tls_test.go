package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
)

func TestTLSConfig(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewAuthority(t, "test CA")
	caFile := tlstest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	certFile, keyFile := ca.Client(t, "exec").Write(t, dir, "client")
	otherCert, _ := ca.Client(t, "other").Write(t, dir, "other")
	junk := tlstest.WriteFile(t, dir, "junk.pem", []byte("not a certificate\n"))
	absent := filepath.Join(dir, "absent.pem")

	tests := []struct {
		name    string
		opts    tlsOptions
		wantErr []string // nil means success
	}{
		{name: "CA only", opts: tlsOptions{ca: caFile, serverName: "orch"}},
		{name: "client certificate only", opts: tlsOptions{cert: certFile, key: keyFile}},
		{name: "CA and client certificate", opts: tlsOptions{ca: caFile, cert: certFile, key: keyFile}},
		{name: "CA file missing", opts: tlsOptions{ca: absent}, wantErr: []string{"-tls-ca", absent}},
		{name: "CA file not PEM", opts: tlsOptions{ca: junk}, wantErr: []string{"-tls-ca", junk, "no PEM certificate"}},
		{name: "key file missing", opts: tlsOptions{cert: certFile, key: absent}, wantErr: []string{"-tls-cert", "-tls-key", absent}},
		{name: "key of another certificate", opts: tlsOptions{cert: otherCert, key: keyFile}, wantErr: []string{"-tls-cert", "-tls-key", otherCert}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.opts.config()
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("config() = nil error, want one naming %q", tt.wantErr)
				}
				for _, want := range tt.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("config() error %q lacks %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("config() error = %v", err)
			}
			if (c.RootCAs != nil) != (tt.opts.ca != "") || (len(c.Certificates) == 1) != (tt.opts.cert != "") || c.ServerName != tt.opts.serverName {
				t.Errorf("config() = roots %v, %d certificates, server name %q; want roots only with -tls-ca, one certificate with -tls-cert, name %q",
					c.RootCAs != nil, len(c.Certificates), c.ServerName, tt.opts.serverName)
			}
		})
	}
	if c, err := (tlsOptions{}).config(); c != nil || err != nil {
		t.Errorf("config() without TLS flags = %v, %v; want nil, nil", c, err)
	}
}

func TestIsLoopbackTarget(t *testing.T) {
	tests := map[string]bool{
		"127.0.0.1:8100": true, "127.0.0.2:8100": true, "[::1]:8100": true, "localhost:8100": true,
		"dns:///localhost:8100": true, "passthrough:///127.0.0.1:8100": true, "unix:///run/imager.sock": true,
		"imager-orchestrator:8100": false, "10.0.0.7:8100": false, "dns://8.8.8.8/orch:8100": false, "[::2]:8100": false,
	}
	for addr, want := range tests {
		if got := isLoopbackTarget(addr); got != want {
			t.Errorf("isLoopbackTarget(%q) = %v, want %v", addr, got, want)
		}
	}
}

// logLines runs the executor with args under an ended context (so that it
// never dials the orchestrator) and returns its JSON log lines.
func logLines(t *testing.T, args ...string) []map[string]any {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var logs bytes.Buffer
	args = append(args, "-log-format=json", "-metrics-port="+strconv.Itoa(proc.FreePort(t)))
	if err := run(ctx, args, io.Discard, &logs, env("", "box")); err != nil {
		t.Fatalf("run(%q) = %v", args, err)
	}
	var lines []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		lines = append(lines, m)
	}
	return lines
}

// The first log line carries the effective id; a token sent in plaintext
// to a remote orchestrator draws a warning, and a password in the
// orchestrator address is never printed.
func TestRunStartLog(t *testing.T) {
	dir := t.TempDir()
	token := tlstest.WriteFile(t, dir, "token", []byte("s3cret-token\n"))
	ca := tlstest.WriteFile(t, dir, "ca.pem", tlstest.NewAuthority(t, "CA").CertPEM)
	const warning = "the auth token is sent to the orchestrator in plaintext"
	tests := []struct {
		name     string
		args     []string
		wantWarn bool
	}{
		{"remote with token", []string{"-orchestrator=dns://u:pa55word@orch.example:8100", "-auth-token-file=" + token}, true},
		{"loopback with token", []string{"-orchestrator=127.0.0.1:8100", "-auth-token-file=" + token}, false},
		{"remote with token over TLS", []string{"-orchestrator=orch.example:8100", "-auth-token-file=" + token, "-tls-ca=" + ca}, false},
		{"remote without token", []string{"-orchestrator=orch.example:8100"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines := logLines(t, tt.args...)
			if id := lines[0]["id"]; id != "box-abc123" || lines[0]["msg"] != "executor starting" {
				t.Errorf("first log line = %v, want \"executor starting\" with id=box-abc123", lines[0])
			}
			warned := false
			for _, l := range lines {
				if l["level"] == "WARN" && strings.Contains(l["msg"].(string), warning) {
					warned = true
				}
				if b, _ := json.Marshal(l); strings.Contains(string(b), "pa55word") {
					t.Errorf("log line shows the password: %s", b)
				}
			}
			if warned != tt.wantWarn {
				t.Errorf("plaintext token warning logged: %v, want %v; log: %v", warned, tt.wantWarn, lines)
			}
		})
	}
}
