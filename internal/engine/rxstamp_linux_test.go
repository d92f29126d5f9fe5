//go:build linux

package engine

import (
	"testing"
	"time"
)

// A response's arrival time is when the kernel received it, not when the
// reader got to it: a read made 50 ms after the answer arrived still
// reports an arrival between the send and the server's write of the
// answer. Only the first read after clearArrival sets it. The kernel turns
// receive timestamps on in a deferred work item when the first socket asks
// for them, so the first answers may carry none; the test asks again until
// one does.
func TestArrivalIsTheKernelsNotTheReaders(t *testing.T) {
	tc, srv := loopbackPair(t)
	if !tc.raw.stamp.on {
		t.Fatal("receive timestamps are off on a loopback TCP socket")
	}
	const late = 50 * time.Millisecond
	answered := make(chan time.Time)
	go func() {
		defer close(answered)
		buf := make([]byte, 16)
		for {
			if _, err := srv.Read(buf); err != nil {
				return
			}
			if _, err := srv.Write([]byte("answer")); err != nil {
				return
			}
			answered <- time.Now()
		}
	}()
	buf := make([]byte, 16)
	var start, written time.Time
	var got, read time.Duration
	for deadline := time.Now().Add(10 * time.Second); ; {
		tc.raw.clearArrival()
		start = time.Now()
		if _, err := tc.Write([]byte("ask")); err != nil {
			t.Fatal(err)
		}
		var ok bool
		if written, ok = <-answered; !ok {
			t.Fatal("the server failed")
		}
		time.Sleep(late)
		if n, err := tc.Read(buf); err != nil || string(buf[:n]) != "answer" {
			t.Fatalf("Read = %q, %v", buf[:n], err)
		}
		read = time.Since(start)
		if got, ok = tc.raw.answeredAfter(start); ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no arrival time on any answer in 10 s")
		}
	}
	// The wall clock may be slewed against the monotonic one.
	const slack = time.Millisecond
	if got < -slack || got > written.Sub(start)+slack {
		t.Fatalf("arrival %v after the send, want between 0 and the server's write at %v", got, written.Sub(start))
	}
	if read-got < late {
		t.Fatalf("arrival %v and read %v after the send: the read's lateness of %v does not show", got, read, late)
	}

	// A later read keeps the first arrival; clearArrival forgets it.
	if _, err := tc.Write([]byte("ask")); err != nil {
		t.Fatal(err)
	}
	<-answered
	if _, err := tc.Read(buf); err != nil {
		t.Fatal(err)
	}
	if again, _ := tc.raw.answeredAfter(start); again != got {
		t.Fatalf("a second read moved the arrival from %v to %v", got, again)
	}
	tc.raw.clearArrival()
	if _, ok := tc.raw.answeredAfter(start); ok {
		t.Fatal("an arrival time after clearArrival")
	}
}
