//go:build !linux

package engine

import "time"

// sleepPrecise sleeps for d; outside Linux it is the runtime's sleep.
func sleepPrecise(d time.Duration) { time.Sleep(d) }
