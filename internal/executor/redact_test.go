package executor

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

func TestRedactAddress(t *testing.T) {
	tests := []struct{ in, want string }{
		{"127.0.0.1:8100", "127.0.0.1:8100"},
		{"imager-orchestrator:8100", "imager-orchestrator:8100"},
		{"user:pa55@host:8100", "user:xxxxx@host:8100"},
		{"dns://user:pa55@host:8100", "dns://user:xxxxx@host:8100"},
		{"http://user:pa55@host/x?y=1", "http://user:xxxxx@host/x?y=1"},
		{"http://user@host/", "http://user@host/"},
		{"dns:///host:8100", "dns:///host:8100"},
	}
	for _, tt := range tests {
		if got := RedactAddress(tt.in); got != tt.want {
			t.Errorf("RedactAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// Every log line of an executor whose address carries a password hides
// it, in messages, attributes and errors alike.
func TestLogsHideAddressPassword(t *testing.T) {
	const addr = "dns://admin:hunter2x@127.0.0.1:1"
	buf := &proc.Buffer{}
	logger := withRedaction(slog.New(slog.NewTextHandler(buf, nil)), addr)
	logger = logger.With("orchestrator", addr)
	logger.WithGroup("g").Info("dial "+addr+" failed",
		"err", errors.New("lookup "+addr+": no such host"), "group", slog.GroupValue(slog.String("a", addr)))
	out := buf.String()
	if strings.Contains(out, "hunter2x") {
		t.Errorf("log shows the password:\n%s", out)
	}
	if n := strings.Count(out, "admin:xxxxx@"); n != 4 {
		t.Errorf("log shows the redacted address %d times, want 4:\n%s", n, out)
	}
	if l := withRedaction(slog.Default(), "127.0.0.1:1"); l != slog.Default() {
		t.Errorf("withRedaction wrapped a logger for an address without a password")
	}
}
