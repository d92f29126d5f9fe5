//go:build linux

package engine

import (
	"testing"
	"time"
)

// TestPreciseTimerFiredBeforeWait: a sleeping goroutine that is held up
// (descheduled on a loaded machine) past its wake-up time, after arming
// the timer and before waiting on it, still wakes. An earlier version
// skipped the first read and waited for a readiness change that had
// already happened, hanging the worker for good.
func TestPreciseTimerFiredBeforeWait(t *testing.T) {
	pt := newPreciseTimer()
	if pt == nil {
		t.Skip("no timerfd")
	}
	defer pt.close()
	pt.afterArm = func() { time.Sleep(5 * time.Millisecond) }
	for _, d := range []time.Duration{time.Microsecond, 50 * time.Microsecond, time.Millisecond} {
		done := make(chan struct{})
		go func() {
			pt.sleep(d)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("sleep(%v) did not return although its timer fired before the wait began", d)
		}
	}
}

// TestPreciseTimerSleeps: an undisturbed sleep lasts at least its
// duration and wakes.
func TestPreciseTimerSleeps(t *testing.T) {
	pt := newPreciseTimer()
	if pt == nil {
		t.Skip("no timerfd")
	}
	defer pt.close()
	for range 50 {
		start := time.Now()
		pt.sleep(200 * time.Microsecond)
		if got := time.Since(start); got < 200*time.Microsecond {
			t.Fatalf("slept %v, want at least 200µs", got)
		}
	}
}
