//go:build linux

package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/race"
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
	if race.Enabled {
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
	go echoEach(srv, len(msg), 0)
	allocs = testing.AllocsPerRun(200, func() {
		if n, werr, rerr := tc.writeRead(msg, buf); werr != nil || rerr != nil || n != len(msg) {
			t.Fatalf("writeRead = %d, %v, %v", n, werr, rerr)
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per writeRead; want 0", allocs)
	}
}

// echoEach reads messages of size n from c and writes each back after
// delay, until c fails.
func echoEach(c net.Conn, n int, delay time.Duration) {
	b := make([]byte, n)
	for {
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		time.Sleep(delay)
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}

// TestWriteReadWaitsWithoutAFailedRead: writeRead gets each answer
// without the read attempt that finds nothing yet, which write and read
// make whenever the answer takes a moment (here 2 ms).
func TestWriteReadWaitsWithoutAFailedRead(t *testing.T) {
	tc, srv := loopbackPair(t)
	go echoEach(srv, 4, 2*time.Millisecond)
	buf := make([]byte, 16)
	const rounds = 20
	waits := tc.raw.readWaits
	for i := range rounds {
		msg := []byte(fmt.Sprintf("%04d", i))
		n, werr, rerr := tc.writeRead(msg, buf)
		if werr != nil || rerr != nil || !bytes.Equal(buf[:n], msg) {
			t.Fatalf("writeRead %d = %q, %v, %v; want %q", i, buf[:n], werr, rerr, msg)
		}
	}
	// A readiness report left over from an earlier answer could cost an
	// attempt now and then; without the fused wait every round costs one.
	if w := tc.raw.readWaits - waits; w > 2 {
		t.Fatalf("%d failed read attempts in %d writeRead calls; want at most 2", w, rounds)
	}
	waits = tc.raw.readWaits
	for i := range 5 {
		msg := []byte(fmt.Sprintf("%04d", i))
		if _, err := tc.Write(msg); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(tc, buf[:4]); err != nil || !bytes.Equal(buf[:4], msg) {
			t.Fatalf("Read %d = %q, %v; want %q", i, buf[:4], err, msg)
		}
	}
	if w := tc.raw.readWaits - waits; w < 5 {
		t.Fatalf("write and read of 5 late answers made %d failed read attempts; want 5 (the count is broken)", w)
	}
}

// TestWriteReadLargeWrite: a write larger than the socket buffers would
// block, so writeRead finishes it with write and then reads the answer.
func TestWriteReadLargeWrite(t *testing.T) {
	tc, srv := loopbackPair(t)
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<19) // 8 MiB
	go func() {
		if _, err := io.ReadFull(srv, make([]byte, len(want))); err == nil {
			_, _ = srv.Write([]byte("done"))
		}
	}()
	buf := make([]byte, 16)
	n, werr, rerr := tc.writeRead(want, buf)
	if werr != nil || rerr != nil || string(buf[:n]) != "done" {
		t.Fatalf("writeRead of 8 MiB = %q, %v, %v; want done", buf[:n], werr, rerr)
	}
}

// TestWriteReadFailures: past its deadline writeRead writes nothing and
// says so as a write failure; after the peer reset the connection the
// write fails; both are werr, never rerr.
func TestWriteReadFailures(t *testing.T) {
	tc, srv := loopbackPair(t)
	if err := tc.SetDeadline(time.Now().Add(-time.Second)); err != nil {
		t.Fatal(err)
	}
	_, werr, rerr := tc.writeRead([]byte("ping"), make([]byte, 4))
	if !errors.Is(werr, os.ErrDeadlineExceeded) || rerr != nil {
		t.Fatalf("writeRead past its deadline: %v, %v; want a write timeout", werr, rerr)
	}
	if err := srv.SetReadDeadline(time.Now().Add(20 * time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	if n, _ := srv.Read(make([]byte, 4)); n != 0 {
		t.Fatalf("the server read %d bytes of a request written past its deadline", n)
	}

	tc, srv = loopbackPair(t)
	if err := srv.(*net.TCPConn).SetLinger(0); err != nil {
		t.Fatal(err)
	}
	_ = srv.Close() // resets the connection before Close returns, on loopback
	_, werr, rerr = tc.writeRead([]byte("ping"), make([]byte, 4))
	if !errors.Is(werr, syscall.ECONNRESET) && !errors.Is(werr, syscall.EPIPE) || rerr != nil {
		t.Fatalf("writeRead after a reset: %v, %v; want ECONNRESET or EPIPE from the write, no read", werr, rerr)
	}
}
