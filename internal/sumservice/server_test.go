package sumservice

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitTimeout bounds every wait in these tests.
const waitTimeout = 10 * time.Second

func TestServerRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()

	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- New("127.0.0.1:0").Run(ctx, func(a net.Addr) { addrs <- a })
	}()

	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("Run returned %v before calling ready", err)
	case <-time.After(waitTimeout):
		t.Fatalf("ready not called within %v", waitTimeout)
	}

	client := &http.Client{Timeout: waitTimeout}
	res, err := client.Get("http://" + addr.String() + "/sum?a=7&b=9")
	if err != nil {
		t.Fatalf("GET /sum: %v", err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	if res.StatusCode != http.StatusOK || string(body) != "16\n" {
		t.Errorf("GET /sum?a=7&b=9 = %d %q, want 200 %q", res.StatusCode, body, "16\n")
	}
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel returned %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run did not return within %v of cancel", waitTimeout)
	}

	// The listener is closed once Run has returned.
	conn, err := net.DialTimeout("tcp", addr.String(), waitTimeout)
	if err == nil {
		conn.Close()
		t.Errorf("dial %s after Run returned: connected, want refused", addr)
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Logf("dial after shutdown failed with %v (not ECONNREFUSED)", err)
	}
}

func TestServerRunListenError(t *testing.T) {
	// Hold a port so that Run cannot bind it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer ln.Close()

	called := false
	err = New(ln.Addr().String()).Run(t.Context(), func(net.Addr) { called = true })
	if err == nil {
		t.Fatal("Run on a busy port: got nil, want error")
	}
	if !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Run on a busy port: error %q, want it to mention listen", err)
	}
	if called {
		t.Error("Run on a busy port called ready")
	}
}

func TestServerRunCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	done := make(chan error, 1)
	go func() { done <- New("127.0.0.1:0").Run(ctx, nil) }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run with a cancelled context returned %v, want nil", err)
		}
	case <-time.After(waitTimeout):
		t.Fatalf("Run with a cancelled context did not return within %v", waitTimeout)
	}
}
