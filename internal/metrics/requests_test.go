package metrics

import (
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/PeladoCollado/imager/internal/tally"
)

// tick is 1/512 s: multiples of it convert to exact float64 seconds, so
// sums of them do not depend on the order they are added in.
const tick = time.Second / 512

// referenceExecutor is the request metrics as client_golang's own types
// kept them before they were sharded: the names, help texts, label sets
// and buckets that dashboards rely on.
type referenceExecutor struct {
	success, failed                            prometheus.Counter
	duration, successDur, responseSize, firstB prometheus.Histogram
	byOutcome                                  *prometheus.CounterVec
}

func newReferenceExecutor(reg *prometheus.Registry) *referenceExecutor {
	hist := func(name, help string, buckets []float64) prometheus.Histogram {
		return prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	}
	r := &referenceExecutor{
		success:      prometheus.NewCounter(prometheus.CounterOpts{Name: "imager_success", Help: "Requests that got a 2xx or 3xx response."}),
		failed:       prometheus.NewCounter(prometheus.CounterOpts{Name: "imager_failed", Help: "Failed requests: every outcome but success (4xx, 5xx, timeouts, connection errors, dropped and lost requests), the numerator of error_rate."}),
		duration:     hist("imager_duration", "Latency of completed requests from their intended send time (or their actual send, when earlier), in seconds (corrected for coordinated omission).", LatencyBuckets()),
		successDur:   hist("imager_successDuration", "Latency of successful requests from their intended send time (or their actual send, when earlier), in seconds.", LatencyBuckets()),
		responseSize: hist("imager_responseSize", "Size of response bodies, in bytes.", SizeBuckets()),
		firstB:       hist("imager_firstByteDuration", "Time from sending a request to receiving its response headers, in seconds.", LatencyBuckets()),
		byOutcome:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "imager_executor_requests_total", Help: "Finished requests, by outcome."}, []string{"outcome"}),
	}
	for _, o := range tally.Outcomes() {
		r.byOutcome.WithLabelValues(o.String())
	}
	reg.MustRegister(r.success, r.failed, r.duration, r.successDur, r.responseSize, r.firstB, r.byOutcome)
	return r
}

// observe is ObserveRequest as it was before sharding.
func (r *referenceExecutor) observe(s *tally.Sample) {
	if s == nil {
		return
	}
	if s.Outcome.Failed() {
		r.failed.Inc()
	} else {
		r.success.Inc()
	}
	if int(s.Outcome) < len(tally.Outcomes()) {
		r.byOutcome.WithLabelValues(s.Outcome.String()).Inc()
	}
	if s.Outcome == tally.Dropped || s.Outcome == tally.Lost {
		return
	}
	r.duration.Observe(s.Latency.Seconds())
	if s.Outcome == tally.Success {
		r.successDur.Observe(s.Latency.Seconds())
	}
	if s.Status != 0 {
		r.firstB.Observe(s.FirstByte.Seconds())
		r.responseSize.Observe(float64(s.Bytes))
	}
}

// testSamples covers every outcome, values on bucket bounds, values past
// the last bound and an out-of-range outcome.
func testSamples() []tally.Sample {
	return []tally.Sample{
		{Outcome: tally.Success, Status: 200, Latency: 0, FirstByte: 0, Bytes: 0},
		{Outcome: tally.Success, Status: 200, Latency: tick, FirstByte: tick, Bytes: 64},
		{Outcome: tally.Success, Status: 204, Latency: 128 * tick, FirstByte: 3 * tick, Bytes: 65},
		{Outcome: tally.Success, Status: 301, Latency: 512 * tick, FirstByte: 512 * tick, Bytes: 16 << 20},
		{Outcome: tally.Success, Status: 200, Latency: 61 * 512 * tick, FirstByte: 60 * 512 * tick, Bytes: 16<<20 + 1},
		{Outcome: tally.ClientError, Status: 404, Latency: 20 * tick, FirstByte: 19 * tick, Bytes: 300},
		{Outcome: tally.ServerError, Status: 500, Latency: 100 * tick, FirstByte: 99 * tick, Bytes: 5000},
		{Outcome: tally.Timeout, Status: 503, Latency: 2560 * tick, FirstByte: tick, Bytes: 1},
		{Outcome: tally.Timeout, Latency: 30 * 512 * tick},
		{Outcome: tally.ConnError, Latency: 7 * tick},
		{Outcome: tally.Dropped},
		{Outcome: tally.Lost, Latency: tick},
		{Outcome: tally.Outcome(200), Status: 200, Latency: 9 * tick, FirstByte: tick, Bytes: 70000},
	}
}

func TestObserveRequestMatchesClientGolang(t *testing.T) {
	const goroutines, reps = 16, 300
	for _, shards := range []int{1, 4, shardCount(runtime.GOMAXPROCS(0))} {
		t.Run(fmt.Sprintf("shards=%d", shards), func(t *testing.T) {
			refReg := prometheus.NewRegistry()
			ref := newReferenceExecutor(refReg)
			samples := testSamples()
			for range goroutines * reps {
				for i := range samples {
					ref.observe(&samples[i])
				}
			}
			reg := prometheus.NewRegistry()
			e, err := newExecutor(reg, shards)
			if err != nil {
				t.Fatalf("newExecutor: %v", err)
			}
			start := make(chan struct{})
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					own := testSamples() // reused, as an engine worker reuses its Sample
					<-start
					for i := range reps * len(own) {
						e.ObserveRequest(&own[(g+i)%len(own)])
					}
					e.ObserveRequest(nil)
				})
			}
			close(start)
			wg.Wait()

			got, want := gather(t, reg), gather(t, refReg)
			for _, name := range keys(want) { // every metric ObserveRequest feeds
				compareFamily(t, got[name], want[name])
			}
			total := float64(goroutines * reps * len(samples))
			if s, f := counterValue(got["imager_success"]), counterValue(got["imager_failed"]); s+f != total {
				t.Errorf("success + failed = %v + %v, want %v", s, f, total)
			}
		})
	}
}

// counterValue returns the value of the single counter in mf.
func counterValue(mf *dto.MetricFamily) float64 {
	return mf.GetMetric()[0].GetCounter().GetValue()
}

// compareFamily reports every difference between got and want that a
// scraper could see.
func compareFamily(t *testing.T, got, want *dto.MetricFamily) {
	t.Helper()
	if got == nil || want == nil {
		t.Fatalf("family missing: got %v, want %v", got, want)
	}
	name := want.GetName()
	if got.GetHelp() != want.GetHelp() || got.GetType() != want.GetType() {
		t.Errorf("%s: help, type = %q, %v; want %q, %v", name, got.GetHelp(), got.GetType(), want.GetHelp(), want.GetType())
	}
	if len(got.GetMetric()) != len(want.GetMetric()) {
		t.Fatalf("%s: %d series, want %d", name, len(got.GetMetric()), len(want.GetMetric()))
	}
	for i, w := range want.GetMetric() {
		g := got.GetMetric()[i]
		if gl, wl := fmt.Sprint(g.GetLabel()), fmt.Sprint(w.GetLabel()); gl != wl {
			t.Errorf("%s: series %d labels %s, want %s", name, i, gl, wl)
		}
		if gv, wv := g.GetCounter().GetValue(), w.GetCounter().GetValue(); gv != wv {
			t.Errorf("%s%s = %v, want %v", name, w.GetLabel(), gv, wv)
		}
		if (g.GetCounter().GetCreatedTimestamp() == nil) != (w.GetCounter().GetCreatedTimestamp() == nil) {
			t.Errorf("%s%s: created timestamp present = %v, want %v", name, w.GetLabel(), g.GetCounter().GetCreatedTimestamp() != nil, w.GetCounter().GetCreatedTimestamp() != nil)
		}
		compareHistogram(t, name, g.GetHistogram(), w.GetHistogram())
	}
}

// compareHistogram reports every difference between got and want in
// count, sum, buckets and the presence of a created timestamp.
func compareHistogram(t *testing.T, name string, got, want *dto.Histogram) {
	t.Helper()
	if got.GetSampleCount() != want.GetSampleCount() || got.GetSampleSum() != want.GetSampleSum() {
		t.Errorf("%s: count, sum = %d, %v; want %d, %v", name, got.GetSampleCount(), got.GetSampleSum(), want.GetSampleCount(), want.GetSampleSum())
	}
	if (got.GetCreatedTimestamp() == nil) != (want.GetCreatedTimestamp() == nil) {
		t.Errorf("%s: created timestamp present = %v, want %v", name, got.GetCreatedTimestamp() != nil, want.GetCreatedTimestamp() != nil)
	}
	if len(got.GetBucket()) != len(want.GetBucket()) {
		t.Fatalf("%s: %d buckets, want %d", name, len(got.GetBucket()), len(want.GetBucket()))
	}
	for i, w := range want.GetBucket() {
		g := got.GetBucket()[i]
		if g.GetUpperBound() != w.GetUpperBound() || g.GetCumulativeCount() != w.GetCumulativeCount() {
			t.Errorf("%s: bucket %d le=%v count %d, want le=%v count %d", name, i, g.GetUpperBound(), g.GetCumulativeCount(), w.GetUpperBound(), w.GetCumulativeCount())
		}
	}
}

func TestNewExecutorFailureLeavesRegistry(t *testing.T) {
	_, scratch := newTestExecutor(t)
	families := gather(t, scratch)
	for _, name := range keys(families) {
		t.Run(name, func(t *testing.T) {
			// The squatter has the name, help and labels of one of the
			// executor's collectors, so registering that one fails while
			// the others succeed; and freeing the name lets a later
			// NewExecutor succeed (the registry keeps a name's help and
			// labels after Unregister).
			var labels, values []string
			for _, lp := range families[name].GetMetric()[0].GetLabel() {
				labels, values = append(labels, lp.GetName()), append(values, lp.GetValue())
			}
			squatter := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: families[name].GetHelp()}, labels)
			squatter.WithLabelValues(values...).Set(42)
			reg := prometheus.NewRegistry()
			reg.MustRegister(squatter)
			e, err := NewExecutor(reg)
			if err == nil || e != nil {
				t.Fatalf("NewExecutor with %s taken = %v, %v; want nil and an error", name, e, err)
			}
			if got := keys(gather(t, reg)); len(got) != 1 || got[0] != name {
				t.Errorf("families after the failure = %v, want only %s", got, name)
			}
			reg.Unregister(squatter)
			if _, err := NewExecutor(reg); err != nil {
				t.Fatalf("NewExecutor once %s is free: %v (the failed call left something registered)", name, err)
			}
			checkFamilies(t, reg, keys(families))
		})
	}
}

func TestShardCount(t *testing.T) {
	for _, tt := range []struct{ procs, want int }{{1, 4}, {2, 8}, {3, 16}, {4, 16}, {5, 32}, {64, 256}} {
		if got := shardCount(tt.procs); got != tt.want {
			t.Errorf("shardCount(%d) = %d, want %d", tt.procs, got, tt.want)
		}
	}
}

func TestShardLayout(t *testing.T) {
	st := newRequestStats(8, LatencyBuckets(), SizeBuckets())
	start := uintptr(unsafe.Pointer(&st.cells[0]))
	cell := func(i, k int) int {
		return int((uintptr(unsafe.Pointer(&st.shards[i].cells[k])) - start) / unsafe.Sizeof(st.cells[0]))
	}
	words := len(st.shards[0].cells)
	if want := st.size.sumCell() + 1; words != want {
		t.Errorf("shard has %d cells, want %d", words, want)
	}
	prevEnd := 0
	for i := range st.shards {
		first, last := cell(i, 0), cell(i, words-1)
		if first-prevEnd < padWords {
			t.Errorf("shard %d starts %d cells after the previous one ends, want at least %d", i, first-prevEnd, padWords)
		}
		prevEnd = last + 1
	}
	if tail := len(st.cells) - prevEnd; tail < padWords {
		t.Errorf("last shard ends %d cells before the end, want at least %d", tail, padWords)
	}
	// A pool miss hands out a shard without allocating.
	if got := testing.AllocsPerRun(100, func() { _ = st.pick.New() }); got != 0 {
		t.Errorf("pick.New allocs/op = %v, want 0", got)
	}
}

// BenchmarkObserveRequestParallel observes requests from GOMAXPROCS
// goroutines at once, each reusing its own samples as the engine's
// connection workers do.
func BenchmarkObserveRequestParallel(b *testing.B) { benchObserveParallel(b, 1) }

// BenchmarkObserveRequestManyWorkers is BenchmarkObserveRequestParallel
// with 64 goroutines per P, as when a job's connection workers outnumber
// the cores.
func BenchmarkObserveRequestManyWorkers(b *testing.B) { benchObserveParallel(b, 64) }

// benchObserveParallel runs parallelism*GOMAXPROCS goroutines that each
// observe its own four samples in turn.
func benchObserveParallel(b *testing.B, parallelism int) {
	e, _ := newTestExecutor(b)
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.RunParallel(func(pb *testing.PB) {
		samples := []tally.Sample{
			{Outcome: tally.Success, Status: 200, Latency: 2 * time.Millisecond, FirstByte: time.Millisecond, Bytes: 512},
			{Outcome: tally.Success, Status: 200, Latency: 7 * time.Millisecond, FirstByte: 5 * time.Millisecond, Bytes: 9000},
			{Outcome: tally.ServerError, Status: 500, Latency: 40 * time.Millisecond, FirstByte: 30 * time.Millisecond, Bytes: 64},
			{Outcome: tally.Dropped},
		}
		i := 0
		for pb.Next() {
			e.ObserveRequest(&samples[i&3])
			i++
		}
	})
}

// BenchmarkGatherExecutor is the cost of a scrape of an executor's
// registry, which sums every shard.
func BenchmarkGatherExecutor(b *testing.B) {
	_, reg := newTestExecutor(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := reg.Gather(); err != nil {
			b.Fatal(err)
		}
	}
}
