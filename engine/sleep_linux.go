//go:build linux

package engine

import (
	"syscall"
	"time"
)

// sleepPrecise blocks the calling thread in nanosleep(2) for d. The Go
// runtime's timers wake up to a millisecond late on Linux (its poller
// sleeps in whole milliseconds), which would show up as latency from the
// intended send time; nanosleep wakes within the kernel's timer slack
// (about 50µs). It is only used for the last stretch before a due time.
func sleepPrecise(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	for {
		var rem syscall.Timespec
		if err := syscall.Nanosleep(&ts, &rem); err != syscall.EINTR {
			return
		}
		ts = rem
	}
}
