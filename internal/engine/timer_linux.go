//go:build linux

package engine

import (
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// preciseTimer wakes a goroutine at a given time with the kernel's timer
// precision (tens of microseconds) instead of the runtime's, whose timers
// fire up to a millisecond late when the process is idle (its poller waits
// in whole milliseconds). It is a non-blocking timerfd read through the
// runtime's poller, so the sleeping goroutine parks like one waiting on a
// socket and holds no thread or P, unlike nanosleep(2). A preciseTimer is
// used by one goroutine at a time.
type preciseTimer struct {
	f  *os.File
	rc syscall.RawConn
	fd int
	// armedAt and wait are when sleep armed the timer and for how long.
	// While less than wait has passed since armedAt, the timer cannot
	// have fired, so a read attempt waits for the poller instead of
	// making a system call that would fail. Once wait has passed the
	// attempt reads: the timer may have fired before the poller was told
	// to watch for it, and then no new readiness would ever arrive.
	armedAt time.Time
	wait    time.Duration
	buf     [8]byte
	read    func(fd uintptr) bool
	// afterArm, when set (by tests), runs between arming and waiting.
	afterArm func()
}

// newPreciseTimer returns a timer, or nil when the system has none.
func newPreciseTimer() *preciseTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	f := os.NewFile(uintptr(fd), "timerfd")
	rc, err := f.SyscallConn()
	if err != nil {
		_ = f.Close()
		return nil
	}
	t := &preciseTimer{f: f, rc: rc, fd: fd}
	t.read = t.tryRead
	return t
}

// tryRead is one attempt to read the timer's expirations; false asks the
// poller to wait until the timer fires. The poller only reports a change
// of readiness that happens after the wait began (RawConn.Read forgets an
// earlier one), so the attempt reads whenever the timer may already have
// fired.
func (t *preciseTimer) tryRead(fd uintptr) bool {
	if time.Since(t.armedAt) < t.wait {
		return false
	}
	_, _, ok := rawCall(syscall.SYS_READ, fd, t.buf[:])
	return ok
}

// sleep blocks the goroutine for d.
func (t *preciseTimer) sleep(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	// armedAt is taken before arming: the timer expires no earlier than
	// armedAt+d.
	t.armedAt, t.wait = time.Now(), d
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	if t.afterArm != nil {
		t.afterArm()
	}
	if err := t.rc.Read(t.read); err != nil {
		time.Sleep(d)
	}
}

// close releases the timer's file descriptor.
func (t *preciseTimer) close() { _ = t.f.Close() }
