// Package metrics holds imager's Prometheus collectors: one set for the
// orchestrator and one for each executor. Every collector is registered on a
// prometheus.Registerer handed in by the caller, never on the global default
// registry, so tests and embedding programs stay isolated.
//
// Some metric names (imager_success, imager_duration, the
// imager_orchestrator_* job counters, ...) are a compatibility contract with
// existing dashboards and must not be renamed.
package metrics

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// LatencyBuckets returns the upper bounds, in seconds, of the latency
// histograms (imager_duration, imager_successDuration,
// imager_firstByteDuration). They follow a 1-2.5-5 progression from 100µs to
// 60s, so both a sub-millisecond in-cluster service and a request stuck
// until a minute-long timeout land in a meaningful bucket:
//
//	100µs 250µs 500µs  1ms 2.5ms 5ms  10ms 25ms 50ms
//	100ms 250ms 500ms  1s  2.5s  5s   10s  30s  60s
//
// Slower requests fall in the implicit +Inf bucket. Each call returns a new
// slice.
func LatencyBuckets() []float64 {
	return []float64{
		0.0001, 0.00025, 0.0005,
		0.001, 0.0025, 0.005,
		0.01, 0.025, 0.05,
		0.1, 0.25, 0.5,
		1, 2.5, 5,
		10, 30, 60,
	}
}

// SizeBuckets returns the upper bounds, in bytes, of the response size
// histogram: powers of four from 64B to 16MiB (64, 256, 1Ki, 4Ki, 16Ki,
// 64Ki, 256Ki, 1Mi, 4Mi, 16Mi). Larger bodies fall in +Inf. Each call
// returns a new slice.
func SizeBuckets() []float64 {
	return prometheus.ExponentialBuckets(64, 4, 10)
}

// registerAll registers every collector on reg. If one fails, the ones
// already registered are unregistered again, so a failed constructor leaves
// reg as it found it and may be retried.
func registerAll(reg prometheus.Registerer, cs ...prometheus.Collector) error {
	if reg == nil {
		return errors.New("register metrics: nil registerer")
	}
	for i, c := range cs {
		if err := reg.Register(c); err != nil {
			for _, done := range cs[:i] {
				reg.Unregister(done)
			}
			return fmt.Errorf("register metrics: %w", err)
		}
	}
	return nil
}

// nonNegative clamps n at zero: a Prometheus counter panics when asked to
// go down, and a caller's bad count must not crash the process.
func nonNegative(n int64) float64 {
	if n < 0 {
		return 0
	}
	return float64(n)
}
