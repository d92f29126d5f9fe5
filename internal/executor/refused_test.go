package executor

import (
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// An orchestrator that refuses the executor for good (duplicate id, wrong
// token, repeat offender) ends Run with a *RefusedError after one try,
// and the executor logs an error naming its id. A repeat offender is
// disconnected mid-session, after its Welcome.
func TestRefusalEndsRun(t *testing.T) {
	tests := []struct {
		name      string
		code      codes.Code
		welcomed  bool
		wantInLog string
	}{
		{"duplicate id", codes.AlreadyExists, false, "another live executor has it"},
		{"wrong token", codes.Unauthenticated, false, "check that it matches the orchestrator's"},
		{"repeat offender", codes.PermissionDenied, true, "repeat offender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, func(_ int, st serverStream) error {
				if tt.welcomed {
					if err := welcome(st, time.Hour); err != nil {
						return err
					}
				}
				return status.Error(tt.code, "refused by the test for exec-1")
			})
			logs := &proc.Buffer{}
			cfg := testConfig(f.addr, logs)
			ret := runUntilReturn(t, newExecutor(t, cfg))
			var err error
			select {
			case err = <-ret:
			case <-time.After(waitLimit):
				t.Fatalf("Run did not return within %v of a %v refusal; log:\n%s", waitLimit, tt.code, logs)
			}
			var r *RefusedError
			if !errors.As(err, &r) || r.Code != tt.code || r.ID != "exec-1" {
				t.Fatalf("Run() = %v, want a *RefusedError with code %v for exec-1", err, tt.code)
			}
			if !strings.Contains(err.Error(), `"exec-1"`) || !strings.Contains(err.Error(), "refused by the test") {
				t.Errorf("error %q lacks the id or the orchestrator's message", err)
			}
			if n := f.conns.Load(); n != 1 {
				t.Errorf("%d connections, want 1: a refusal is not retried", n)
			}
			out := logs.String()
			for _, want := range []string{"level=ERROR", tt.wantInLog, "id=exec-1"} {
				if !strings.Contains(out, want) {
					t.Errorf("log lacks %q; log:\n%s", want, out)
				}
			}
		})
	}
}

// isHandshakeFailure tells a failed TLS handshake from other connection
// failures.
func TestIsHandshakeFailure(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{status.Error(codes.Unavailable, `connection error: desc = "transport: authentication handshake failed: tls: failed to verify certificate: x509: certificate signed by unknown authority"`), true},
		{status.Error(codes.Unavailable, "connection refused"), false},
		{status.Error(codes.Internal, "authentication handshake failed"), false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := isHandshakeFailure(tt.err); got != tt.want {
			t.Errorf("isHandshakeFailure(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}
