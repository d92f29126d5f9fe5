package httpserve

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestHardenFillsOnlyZeroTimeouts(t *testing.T) {
	srv := &http.Server{IdleTimeout: time.Second}
	Harden(srv)
	if srv.IdleTimeout != time.Second {
		t.Errorf("IdleTimeout = %v, want the 1s that was set", srv.IdleTimeout)
	}
	for name, got := range map[string][2]time.Duration{
		"ReadHeaderTimeout": {srv.ReadHeaderTimeout, ReadHeaderTimeout},
		"ReadTimeout":       {srv.ReadTimeout, ReadTimeout},
		"WriteTimeout":      {srv.WriteTimeout, WriteTimeout},
	} {
		if got[0] != got[1] || got[0] <= 0 {
			t.Errorf("%s = %v, want %v", name, got[0], got[1])
		}
	}
}

// serveShort serves "ok" on loopback with srv until the test ends and
// returns the address.
func serveShort(t *testing.T, srv *http.Server) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv.Handler = http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, lis, srv) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(waitLimit):
			t.Errorf("Serve did not return within %v of cancel", waitLimit)
		}
	})
	return lis.Addr().String()
}

// awaitClosed reads from conn until the server closes it, failing the
// test if that takes longer than waitLimit; it returns how long it took.
func awaitClosed(t *testing.T, conn net.Conn, r io.Reader) time.Duration {
	t.Helper()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(waitLimit))
	if _, err := io.Copy(io.Discard, r); err != nil {
		t.Fatalf("connection not closed by the server within %v: %v", waitLimit, err)
	}
	return time.Since(start)
}

func TestIdleKeepAliveConnectionClosed(t *testing.T) {
	const idle = 200 * time.Millisecond
	addr := serveShort(t, &http.Server{IdleTimeout: idle})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, "GET / HTTP/1.1\r\nHost: test\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.Close {
		t.Fatalf("server asked to close after the response; want a keep-alive connection")
	}
	if took := awaitClosed(t, conn, br); took < idle/2 {
		t.Errorf("idle connection closed after %v, before the idle timeout %v", took, idle)
	}
}

func TestSilentConnectionClosed(t *testing.T) {
	addr := serveShort(t, &http.Server{ReadHeaderTimeout: 200 * time.Millisecond})
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Half a request line, then nothing.
	if _, err := io.WriteString(conn, "GET / HT"); err != nil {
		t.Fatal(err)
	}
	awaitClosed(t, conn, conn)
}
