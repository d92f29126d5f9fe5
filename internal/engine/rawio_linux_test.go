//go:build linux

package engine

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// loopbackPair returns both ends of a TCP connection on loopback: the
// client end as a Client's dial tracks it, and the server end.
func loopbackPair(t *testing.T) (*trackedConn, net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	c := NewClient(ClientConfig{})
	conn, err := c.dial(ln.Addr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	srv, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	tc := conn.(*trackedConn)
	t.Cleanup(func() { _ = tc.Close(); _ = srv.Close() })
	if tc.raw == nil {
		t.Fatal("a TCP connection on Linux has no raw I/O")
	}
	return tc, srv
}

// TestRawIOMovesBytesBothWays writes more than a socket buffer holds, so
// that the writer must wait for the poller between partial writes, and
// reads it all back in small pieces.
func TestRawIOMovesBytesBothWays(t *testing.T) {
	tc, srv := loopbackPair(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	got := make(chan []byte, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(srv, int64(len(want))))
		got <- b
	}()
	n, err := tc.Write(want)
	if err != nil || n != len(want) {
		t.Fatalf("Write = %d, %v; want %d, nil", n, err, len(want))
	}
	if b := <-got; !bytes.Equal(b, want) {
		t.Fatalf("server read %d bytes, not the %d written", len(b), len(want))
	}

	go func() { _, _ = srv.Write(want[:100000]) }()
	buf := make([]byte, 1000)
	var back []byte
	for len(back) < 100000 {
		n, err := tc.Read(buf)
		if err != nil {
			t.Fatalf("Read after %d bytes: %v", len(back), err)
		}
		back = append(back, buf[:n]...)
	}
	if !bytes.Equal(back, want[:100000]) {
		t.Fatal("bytes read differ from the bytes the server wrote")
	}
}

// TestRawIODeadlineAndEOF: a read past its deadline fails as a timeout
// (fasthttp classifies timeouts by net.Error), and a read after the peer
// closed returns io.EOF.
func TestRawIODeadlineAndEOF(t *testing.T) {
	tc, srv := loopbackPair(t)
	if err := tc.SetReadDeadline(time.Now().Add(50 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err := tc.Read(make([]byte, 10))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past its deadline: %v; want a timeout", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Read returned %v after its 50ms deadline", d)
	}
	if err := tc.SetReadDeadline(time.Time{}); err != nil {
		t.Fatal(err)
	}
	_ = srv.Close()
	if n, err := tc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Fatalf("Read after the peer closed = %d, %v; want 0, EOF", n, err)
	}
}

// TestRawIOAfterCloseFails: I/O on a closed connection fails with
// net.ErrClosed rather than touching a reused descriptor.
func TestRawIOAfterCloseFails(t *testing.T) {
	tc, _ := loopbackPair(t)
	_ = tc.Close()
	if _, err := tc.Write([]byte("x")); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Write after Close: %v; want net.ErrClosed", err)
	}
	if _, err := tc.Read(make([]byte, 1)); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("Read after Close: %v; want net.ErrClosed", err)
	}
}

// TestRawIOAllocatesNothing: a write and a read of a warm connection
// allocate nothing.
func TestRawIOAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	tc, srv := loopbackPair(t)
	msg := []byte("ping")
	buf := make([]byte, 16)
	echo := make([]byte, 16)
	allocs := testing.AllocsPerRun(200, func() {
		if _, err := tc.Write(msg); err != nil {
			t.Fatal(err)
		}
		n, err := srv.Read(echo)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := srv.Write(echo[:n]); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(tc, buf[:n]); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per write and read; want 0", allocs)
	}
}
