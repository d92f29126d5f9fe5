package metrics

import (
	"math"
	"sync"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
)

// runLatencyName is the whole-run latency histogram's metric name.
const runLatencyName = "imager_orchestrator_latency_seconds"

// runLatency is imager_orchestrator_latency_seconds: a classic Prometheus
// histogram (LatencyBuckets) of the latency of every request that ended
// in the run's finished rounds. It is a collector rather than a
// prometheus.Histogram because the rounds arrive as merged HdrHistograms
// holding millions of values: each round's HdrHistogram is folded into
// the bucket counts once, in time proportional to its recorded range,
// and a scrape only copies the counts.
//
// Bucketing is additive, so the counts equal those of the run's cumulative
// HdrHistogram bucketed the same way; keeping only the counts avoids a
// second whole-run HdrHistogram and makes scrapes cheap. Its methods are
// safe for concurrent use.
type runLatency struct {
	desc *prometheus.Desc
	// boundsMicros are the upper bounds of LatencyBuckets in microseconds,
	// the unit of imager's HdrHistograms; bounds are the same in seconds.
	boundsMicros []int64
	bounds       []float64

	mu sync.Mutex
	// counts[i] is how many values fell in (bounds[i-1], bounds[i]];
	// counts[len(bounds)] is the +Inf bucket. Not cumulative.
	counts []uint64
	count  uint64
	// sumMicros is the sum of the values, each taken as the median of its
	// HdrHistogram bucket (as HdrHistogram's Mean does).
	sumMicros float64
}

// newRunLatency returns an empty whole-run latency histogram.
func newRunLatency() *runLatency {
	bounds := LatencyBuckets()
	r := &runLatency{
		desc: prometheus.NewDesc(runLatencyName,
			"Latency of every request that ended (success, 4xx, 5xx, timeout or connection error; not dropped or lost) in the run's finished rounds so far, from each request's intended send time (or its actual send, when earlier), in seconds. Values come from microsecond HdrHistograms: a value is counted by the midpoint of its HdrHistogram bucket (three significant figures).",
			nil, nil),
		bounds:       bounds,
		boundsMicros: make([]int64, len(bounds)),
		counts:       make([]uint64, len(bounds)+1),
	}
	for i, b := range bounds {
		r.boundsMicros[i] = int64(math.Round(b * 1e6))
	}
	return r
}

// add folds h, a histogram of microseconds, into the run's counts. A nil
// or empty h adds nothing.
func (r *runLatency) add(h *hdrhistogram.Histogram) {
	if h == nil || h.TotalCount() == 0 {
		return
	}
	// Bucket outside the lock: a round's distribution is walked once.
	counts := make([]uint64, len(r.counts))
	var n uint64
	var sum float64
	for _, bar := range h.Distribution() {
		if bar.Count <= 0 {
			continue
		}
		// The median of the values equivalent to bar, in microseconds
		// (To is the highest equivalent value, inclusive).
		mid := bar.From + (bar.To-bar.From+1)/2
		i := bucketOf(r.boundsMicros, mid)
		counts[i] += uint64(bar.Count)
		n += uint64(bar.Count)
		sum += float64(bar.Count) * float64(mid)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, c := range counts {
		r.counts[i] += c
	}
	r.count += n
	r.sumMicros += sum
}

// bucketOf returns the index of the first bound at or above v, or
// len(bounds) (+Inf) when v is above them all.
func bucketOf(bounds []int64, v int64) int {
	lo, hi := 0, len(bounds)
	for lo < hi {
		m := (lo + hi) / 2
		if bounds[m] >= v {
			hi = m
		} else {
			lo = m + 1
		}
	}
	return lo
}

// Describe implements prometheus.Collector.
func (r *runLatency) Describe(ch chan<- *prometheus.Desc) { ch <- r.desc }

// Collect implements prometheus.Collector: one histogram with cumulative
// bucket counts.
func (r *runLatency) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	buckets := make(map[float64]uint64, len(r.bounds))
	var cum uint64
	for i, b := range r.bounds {
		cum += r.counts[i]
		buckets[b] = cum
	}
	count, sum := r.count, r.sumMicros/1e6
	r.mu.Unlock()
	ch <- prometheus.MustNewConstHistogram(r.desc, count, sum, buckets)
}
