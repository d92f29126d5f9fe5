//go:build !linux

package engine

import "time"

// preciseTimer is the Linux timerfd sleeper; elsewhere there is none and
// workers sleep on runtime timers only.
type preciseTimer struct{}

func newPreciseTimer() *preciseTimer          { return nil }
func (t *preciseTimer) sleep(d time.Duration) { time.Sleep(d) }
func (t *preciseTimer) close()                {}
