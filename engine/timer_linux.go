//go:build linux

package engine

import (
	"os"
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
	fd int
}

// newPreciseTimer returns a timer, or nil when the system has none.
func newPreciseTimer() *preciseTimer {
	fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_NONBLOCK|unix.TFD_CLOEXEC)
	if err != nil {
		return nil
	}
	return &preciseTimer{f: os.NewFile(uintptr(fd), "timerfd"), fd: fd}
}

// sleep blocks the goroutine for d.
func (t *preciseTimer) sleep(d time.Duration) {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(int64(d))}
	if err := unix.TimerfdSettime(t.fd, 0, &spec, nil); err != nil {
		time.Sleep(d)
		return
	}
	var buf [8]byte
	if _, err := t.f.Read(buf[:]); err != nil {
		time.Sleep(d)
	}
}

// close releases the timer's file descriptor.
func (t *preciseTimer) close() { _ = t.f.Close() }
