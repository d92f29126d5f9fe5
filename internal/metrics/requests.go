package metrics

import (
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/tally"
)

// padWords is 128 bytes in 8-byte cells: two 64-byte cache lines, the pair
// that adjacent-line prefetchers pull in together. Shards are kept at
// least this far apart so that no two share a line or a line pair.
const padWords = 16

// shardsPerProc is how many shards requestStats keeps per P, at least.
const shardsPerProc = 4

// shardCount returns the number of shards for procs Ps: the least power
// of two that is at least shardsPerProc*procs.
func shardCount(procs int) int {
	n := 1
	for n < shardsPerProc*procs {
		n <<= 1
	}
	return n
}

// histLayout places one histogram in a shard: a cell per bucket (the last
// one is +Inf, for values above every bound), then a cell for the sum.
type histLayout struct {
	// bounds are the finite upper bounds, ascending.
	bounds []float64
	// off is the index of the first bucket's cell within a shard.
	off int
	// intSum is set when the sum cell holds an int64 (response sizes in
	// bytes) rather than the bits of a float64. Latency sums stay
	// float64, as in client_golang: a sum of nanoseconds grows by about
	// the number of requests in flight every second, and would wrap an
	// int64 in about ten days at ten thousand in flight.
	intSum bool
}

// cells returns the number of cells the histogram takes in a shard.
func (h histLayout) cells() int { return len(h.bounds) + 2 }

// sumCell returns the index of the sum's cell within a shard.
func (h histLayout) sumCell() int { return h.off + len(h.bounds) + 1 }

// bucket returns the index of the bucket v falls in: the first whose bound
// is at least v, or the +Inf bucket. The bounds are few (at most 18), so
// a linear scan beats a binary search, as in client_golang; NaN falls in
// +Inf, as there.
func (h histLayout) bucket(v float64) int {
	for i, b := range h.bounds {
		if v <= b {
			return i
		}
	}
	return len(h.bounds)
}

// observe counts v in its bucket and adds it to the float64 sum.
func (h histLayout) observe(c []atomic.Uint64, v float64) {
	c[h.off+h.bucket(v)].Add(1)
	addFloat(&c[h.sumCell()], v)
}

// observeInt counts n in its bucket and adds it to the int64 sum.
func (h histLayout) observeInt(c []atomic.Uint64, n int64) {
	c[h.off+h.bucket(float64(n))].Add(1)
	c[h.sumCell()].Add(uint64(n)) // two's complement: a negative n subtracts
}

// addFloat adds v to the float64 whose bits cell holds. The cell belongs
// to the caller's shard, so the swap nearly always succeeds at once; it
// loops only when another goroutine updates the same shard meanwhile.
func addFloat(cell *atomic.Uint64, v float64) {
	for {
		old := cell.Load()
		if cell.CompareAndSwap(old, math.Float64bits(math.Float64frombits(old)+v)) {
			return
		}
	}
}

// shard is one shard's cells, a window on requestStats.cells.
type shard struct {
	cells []atomic.Uint64
}

// requestStats holds the per-request state behind an Executor's request
// metrics (imager_success, imager_failed, imager_executor_requests_total
// and the four histograms), spread over shards so that concurrent
// observers do not write the same cache lines.
//
// Concurrency contract: observe may be called from any number of
// goroutines at once; it takes no lock and does not allocate, and every
// update is an atomic operation on a cell of one shard, so no update is
// lost even when two goroutines use the same shard. The readers (see
// shardCounter and shardHistogram) may run at the same time as observe
// and as each other; they load each cell atomically but not all cells at
// one instant, so a scrape taken during observations may count a request
// in one metric and not yet in another, or in a bucket and not yet in the
// sum. Once observers are quiet, every metric is exact. Nothing is ever
// reset. The shards and the layout are fixed at construction.
//
// An observer takes a shard from pick, a sync.Pool used only for its
// per-P cache: Get and Put on the pool's fast path touch only the current
// P's private slot, so a goroutine records into the shard last used on
// the P it runs on, and each core keeps writing its own cache lines
// whichever goroutines it runs. (A key derived from the goroutine, such
// as the address of an engine worker's reused Sample, would follow the
// worker from core to core as the network poller wakes it on different
// Ps, and would put unrelated workers on one shard once workers outnumber
// shards.) When the pool is empty, after a garbage collection or while a
// goroutine holding the P's shard is preempted, pick hands out the next
// shard round-robin; the shared counter that takes is touched only then,
// and with several shards per P the Ps rarely end up on the same one.
// Which shard a goroutine uses only affects speed, never the counts.
type requestStats struct {
	cells   []atomic.Uint64
	shards  []shard
	pick    sync.Pool
	next    atomic.Uint64
	created time.Time
	// outcomes is the number of engine outcomes: cells 0..outcomes-1
	// count them, cell outcomes counts samples with any other Outcome.
	outcomes                                   int
	duration, successDuration, firstByte, size histLayout
}

// newRequestStats returns requestStats with n shards whose latency
// histograms have the bounds latency, in seconds, and whose size histogram
// has the bounds size, in bytes.
func newRequestStats(n int, latency, size []float64) *requestStats {
	st := &requestStats{created: time.Now(), outcomes: len(tally.Outcomes())}
	st.duration = histLayout{bounds: latency}
	st.successDuration = histLayout{bounds: latency}
	st.firstByte = histLayout{bounds: latency}
	st.size = histLayout{bounds: size, intSum: true}
	words := st.outcomes + 1
	for _, h := range []*histLayout{&st.duration, &st.successDuration, &st.firstByte, &st.size} {
		h.off = words
		words += h.cells()
	}
	// Each shard starts padWords after the previous one ends, and the
	// first one padWords into cells, so that no shard shares a line pair
	// with another or with whatever the allocator puts beside cells.
	stride := (words+padWords-1)/padWords*padWords + padWords
	st.cells = make([]atomic.Uint64, padWords+n*stride)
	st.shards = make([]shard, n)
	for i := range st.shards {
		base := padWords + i*stride
		st.shards[i].cells = st.cells[base : base+words : base+words]
	}
	st.pick.New = func() any {
		return &st.shards[(st.next.Add(1)-1)%uint64(n)]
	}
	return st
}

// outcomeCell returns the cell that counts outcome o.
func (st *requestStats) outcomeCell(o tally.Outcome) int {
	if int(o) < st.outcomes {
		return int(o)
	}
	return st.outcomes
}

// observe records one finished request s, which must not be nil. See
// Executor.ObserveRequest for what each kind of sample feeds.
func (st *requestStats) observe(s *tally.Sample) {
	sh := st.pick.Get().(*shard)
	c := sh.cells
	c[st.outcomeCell(s.Outcome)].Add(1)
	if s.Outcome != tally.Dropped && s.Outcome != tally.Lost {
		latency := s.Latency.Seconds()
		st.duration.observe(c, latency)
		if s.Outcome == tally.Success {
			st.successDuration.observe(c, latency)
		}
		if s.Status != 0 {
			st.firstByte.observe(c, s.FirstByte.Seconds())
			st.size.observeInt(c, int64(s.Bytes))
		}
	}
	st.pick.Put(sh)
}

// sumCells returns the sum over every shard of the cells at the indices
// idx.
func (st *requestStats) sumCells(idx []int) uint64 {
	var n uint64
	for i := range st.shards {
		c := st.shards[i].cells
		for _, k := range idx {
			n += c[k].Load()
		}
	}
	return n
}

// histogramTotals returns h's per-bucket counts (the last one +Inf) and its sum,
// over every shard.
func (st *requestStats) histogramTotals(h histLayout) (counts []uint64, sum float64) {
	counts = make([]uint64, len(h.bounds)+1)
	var intSum int64
	for i := range st.shards {
		c := st.shards[i].cells
		for k := range counts {
			counts[k] += c[h.off+k].Load()
		}
		if h.intSum {
			intSum += int64(c[h.sumCell()].Load())
		} else {
			sum += math.Float64frombits(c[h.sumCell()].Load())
		}
	}
	if h.intSum {
		sum = float64(intSum)
	}
	return counts, sum
}

// shardCounter is a prometheus.Collector of one counter whose value is
// the sum, over every shard of its requestStats, of some outcome cells.
type shardCounter struct {
	st     *requestStats
	desc   *prometheus.Desc
	cells  []int
	labels []string // values of desc's variable labels
}

// Describe sends the counter's descriptor.
func (c *shardCounter) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect sends the counter's current value.
func (c *shardCounter) Collect(ch chan<- prometheus.Metric) {
	v := float64(c.st.sumCells(c.cells))
	ch <- prometheus.MustNewConstMetricWithCreatedTimestamp(c.desc, prometheus.CounterValue, v, c.st.created, c.labels...)
}

// counterFamily is the collector of a labelled family of shardCounters
// that share one descriptor.
type counterFamily struct {
	desc    *prometheus.Desc
	members []*shardCounter
}

// Describe sends the family's descriptor.
func (f *counterFamily) Describe(ch chan<- *prometheus.Desc) { ch <- f.desc }

// Collect sends every member's current value.
func (f *counterFamily) Collect(ch chan<- prometheus.Metric) {
	for _, c := range f.members {
		c.Collect(ch)
	}
}

// shardHistogram is a prometheus.Collector of one histogram, summed over
// every shard of its requestStats.
type shardHistogram struct {
	st     *requestStats
	desc   *prometheus.Desc
	layout histLayout
}

// Describe sends the histogram's descriptor.
func (h *shardHistogram) Describe(ch chan<- *prometheus.Desc) { ch <- h.desc }

// Collect sends the histogram's current counts and sum. Its count is the
// total of its buckets, so the +Inf bucket always equals it.
func (h *shardHistogram) Collect(ch chan<- prometheus.Metric) {
	counts, sum := h.st.histogramTotals(h.layout)
	cumulative := make(map[float64]uint64, len(h.layout.bounds))
	var total uint64
	for i, n := range counts {
		total += n
		if i < len(h.layout.bounds) {
			cumulative[h.layout.bounds[i]] = total
		}
	}
	ch <- prometheus.MustNewConstHistogramWithCreatedTimestamp(h.desc, total, sum, cumulative, h.st.created)
}
