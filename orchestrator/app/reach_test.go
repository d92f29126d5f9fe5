package app_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/orchestrator/app"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Who can reach the control plane, and with what.

// reachable reports whether a TCP connection to host:port is accepted.
func reachable(t *testing.T, host string, port int) bool {
	t.Helper()
	conn, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), 5*time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

func TestControlPlaneReach(t *testing.T) {
	target, _ := countingTarget(t)
	tokenFile := writeToken(t, "s3cret")
	tests := []struct {
		name string
		args []string
		// allInterfaces: reachable on 127.0.0.2 too; token: what a Hello
		// must present.
		allInterfaces bool
		token         string
		wantLog       []string
	}{
		{name: "no token: loopback only", wantLog: []string{"control plane listening", "addr=127.0.0.1:", "loopback only"}},
		{name: "token: all interfaces", args: []string{"-auth-token-file=" + tokenFile}, allInterfaces: true, token: "s3cret",
			wantLog: []string{"level=WARN", "auth token crosses the network in plaintext", "-tls-cert"}},
		{name: "insecure: all interfaces", args: []string{"-insecure-control-plane"}, allInterfaces: true,
			wantLog: []string{"level=WARN", "without authentication (-insecure-control-plane)"}},
		{name: "explicit loopback bind with a token", args: []string{"-auth-token-file=" + tokenFile, "-grpc-bind=127.0.0.1"}, token: "s3cret",
			wantLog: []string{"control plane listening", "addr=127.0.0.1:", "auth_token=true"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := startApp(t, target, tt.args...)
			a.awaitLog(t, tt.wantLog...)
			if !reachable(t, "127.0.0.1", a.port) {
				t.Fatalf("control plane not reachable on 127.0.0.1:%d", a.port)
			}
			if got := reachable(t, "127.0.0.2", a.port); got != tt.allInterfaces {
				t.Errorf("reachable on 127.0.0.2: %v, want %v", got, tt.allInterfaces)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			client := dialControl(t, a.addr(), nil)
			if tt.token != "" {
				_, err := sayHello(ctx, client, &imagerv1.Hello{ExecutorId: "x", Capacity: 1, AuthToken: "wrong"})
				if status.Code(err) != codes.Unauthenticated {
					t.Errorf("Hello with a wrong token = %v, want Unauthenticated", err)
				}
			}
			if _, err := sayHello(ctx, client, &imagerv1.Hello{ExecutorId: "x", Capacity: 1, AuthToken: tt.token}); err != nil {
				t.Errorf("Hello with token %q = %v, want a Welcome", tt.token, err)
			}
		})
	}
}

func TestHTTPBind(t *testing.T) {
	target, _ := countingTarget(t)
	port := proc.FreePort(t)
	a := startApp(t, target, "-http-bind=127.0.0.1", "-listen-port="+strconv.Itoa(port))
	a.awaitLog(t, "serving metrics and health", "addr=127.0.0.1:")
	resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	_ = resp.Body.Close()
	if reachable(t, "127.0.0.2", port) {
		t.Errorf("HTTP server reachable on 127.0.0.2 with -http-bind=127.0.0.1")
	}
}

func TestControlPlaneTLS(t *testing.T) {
	target, _ := countingTarget(t)
	dir := t.TempDir()
	ca := tlstest.NewAuthority(t, "imager control CA")
	certFile, keyFile := ca.Server(t).Write(t, dir, "server")
	caFile := tlstest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	tokenFile := writeToken(t, "s3cret")
	verified := func(certs ...tls.Certificate) credentials.TransportCredentials {
		return credentials.NewTLS(&tls.Config{RootCAs: ca.Pool(), Certificates: certs, MinVersion: tls.VersionTLS12})
	}
	hello := &imagerv1.Hello{ExecutorId: "x", Capacity: 1, AuthToken: "s3cret"}

	t.Run("server certificate", func(t *testing.T) {
		a := startApp(t, target, "-auth-token-file="+tokenFile, "-tls-cert="+certFile, "-tls-key="+keyFile)
		a.awaitLog(t, "control plane listening", "tls=true")
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if _, err := sayHello(ctx, dialControl(t, a.addr(), verified()), hello); err != nil {
			t.Errorf("Hello over TLS = %v, want a Welcome", err)
		}
		// A plaintext client never gets as far as sending its token.
		if _, err := sayHello(ctx, dialControl(t, a.addr(), nil), hello); status.Code(err) != codes.Unavailable {
			t.Errorf("plaintext Hello = %v, want Unavailable", err)
		}
		if strings.Contains(a.logs.String(), "plaintext") {
			t.Errorf("plaintext warning with TLS on:\n%s", a.logs.String())
		}
	})
	t.Run("client certificates", func(t *testing.T) {
		a := startApp(t, target, "-tls-cert="+certFile, "-tls-key="+keyFile, "-tls-client-ca="+caFile)
		a.awaitLog(t, "control plane listening", "client_certificates=true")
		// Client certificates authenticate executors: all interfaces.
		if !reachable(t, "127.0.0.2", a.port) {
			t.Errorf("not reachable on 127.0.0.2 with client certificates required")
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		noToken := &imagerv1.Hello{ExecutorId: "x", Capacity: 1}
		if _, err := sayHello(ctx, dialControl(t, a.addr(), verified()), noToken); err == nil {
			t.Errorf("Hello without a client certificate welcomed")
		}
		other := tlstest.NewAuthority(t, "another CA").Client(t, "stranger")
		if _, err := sayHello(ctx, dialControl(t, a.addr(), verified(other.Certificate(t))), noToken); err == nil {
			t.Errorf("Hello with a certificate of another CA welcomed")
		}
		mine := ca.Client(t, "executor")
		if _, err := sayHello(ctx, dialControl(t, a.addr(), verified(mine.Certificate(t))), noToken); err != nil {
			t.Errorf("Hello with a client certificate = %v, want a Welcome", err)
		}
	})
	t.Run("bad files", func(t *testing.T) {
		cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=" + target, "-grpc-port=0", "-listen-port=0",
			"-tls-cert=" + caFile, "-tls-key=" + keyFile})
		if err != nil {
			t.Fatal(err)
		}
		err = app.Run(context.Background(), cfg, app.RunOptions{LocalExecutors: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err == nil || !strings.Contains(err.Error(), "-tls-cert "+caFile) {
			t.Errorf("Run with a key that does not match the certificate = %v, want an error naming -tls-cert", err)
		}
	})
}

// A standalone orchestrator (no executors of its own) needs -grpc-port.
func TestGRPCPortZeroRefused(t *testing.T) {
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=http://127.0.0.1:1", "-grpc-port=0", "-listen-port=0"})
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(context.Background(), cfg, app.RunOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	var usage *app.UsageError
	if !errors.As(err, &usage) || !strings.Contains(err.Error(), "-grpc-port=0") {
		t.Errorf("Run = %v, want a UsageError naming -grpc-port=0", err)
	}
}
