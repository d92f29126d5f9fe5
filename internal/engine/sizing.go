package engine

import (
	"math"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Automatic connection sizing: a job without a configured connection count
// gets its rate × AssumedLatency connections, or fewer when its target has
// shown that it answers faster: rate × min(2 × L + batchWindow,
// AssumedLatency), rounded up, at least MinAutoConnections and at most
// MaxAutoConnections (and never more than the Runner's budget or
// MaxInFlight); batchWindow, because a send window's requests go out
// together. L is the highest sizing latency of the last latencyMemory jobs
// the Runner finished to the same address: for an http target that the
// job kept up with, the mean target time of the job's requests
// (targetTimes: how long after a send its answer reached this host), so
// that by Little's law 2 × L × rate is twice the requests the target holds
// at a time; otherwise the p99 latency from the intended send time. A job
// kept up when at most 1% of its requests went out more than batchWindow
// after their due time: a job that fell behind needs its connections for
// its own backlog too, and near the generator's capacity at 55,000-58,000/s
// a lean count held the rate in 4 runs of 10, the full 256 in 7. An https
// target's answers are read by fasthttp, without arrival times. The
// count grows back at once with a slower target and shrinks only when the
// slow jobs are latencyMemory jobs old. A target slower than AssumedLatency
// makes requests queue for a connection, which latency reports honestly;
// -connections (RunnerConfig.Connections) fixes the count.
//
// The target time leaves out the generator's own delays. A latency that
// counted them would size a busy generator's jobs by its own queue: with
// every connection busy, a request's service time is the connections ÷
// the throughput whatever the target, so the count could never shrink
// (at 60,000/s on loopback, 256 connections measured a median service
// time of 5 ms and a target time of 26 µs).
//
// Fewer connections are cheaper: each serves requests more often and less
// socket state is touched, on both sides (at 5,000/s on loopback, 8
// connections cost 15% less CPU than 100; at 60,000/s, 64 about 10% less
// than 256, and nginx's CPU per request fell as much). More than rate ×
// AssumedLatency are not given even to a slow target: the responses of a
// stall then arrive together and their handling delays the last ones
// (p99.9 under a 100 ms stall at 1,000/s was 4-5% high with 184
// connections, 2% with 20). A job's connection count never grows while it
// runs.
const (
	AssumedLatency     = 20 * time.Millisecond
	MinAutoConnections = 4
	MaxAutoConnections = 256
	// autoHeadroom is how many times the in-flight requests the latency
	// implies a job gets connections for.
	autoHeadroom = 2
	// latencyMemory is how many finished jobs per address the sizing
	// remembers.
	latencyMemory = 8
)

// autoConnections returns the connections for count requests over d at
// latency lat: count ÷ d × min(autoHeadroom × lat + batchWindow,
// AssumedLatency), rounded up, within [MinAutoConnections,
// MaxAutoConnections].
func autoConnections(count int, d, lat time.Duration) int {
	if d <= 0 {
		return MaxAutoConnections
	}
	busy := min(autoHeadroom*lat+batchWindow, AssumedLatency)
	need := math.Ceil(float64(count) * float64(busy) / float64(d))
	return int(min(max(need, MinAutoConnections), MaxAutoConnections))
}

// targetTimes sums the target times of a worker's requests to an http
// target that got an answer: how long after the request was sent the
// first bytes of its answer reached this host, by the kernel's receive
// timestamp (rxstamp_linux.go), or its time to the response head where
// there is none (another system, a failed request). A targetTimes belongs
// to one worker; a job's are merged once its workers returned.
type targetTimes struct {
	sum time.Duration
	n   int64
	// late counts the requests sent more than batchWindow after their due
	// time, to any target.
	late int64
}

// add counts one request's target time; a negative one (the wall clock
// stepped back) counts as zero.
func (t *targetTimes) add(d time.Duration) {
	t.sum += max(d, 0)
	t.n++
}

// merge adds o's requests to t.
func (t *targetTimes) merge(o targetTimes) {
	t.sum += o.sum
	t.n += o.n
	t.late += o.late
}

// keptUp reports whether at most 1% of the sent requests went out late.
func (t targetTimes) keptUp(sent int64) bool { return t.late*100 <= sent }

// mean returns the mean target time; ok is false when no request counted.
func (t targetTimes) mean() (d time.Duration, ok bool) {
	if t.n == 0 {
		return 0, false
	}
	return t.sum / time.Duration(t.n), true
}

// latencyMemo remembers, per target address, the sizing latency of the
// last latencyMemory jobs the Runner finished. It is safe for concurrent
// use.
type latencyMemo struct {
	mu   sync.Mutex
	byTo map[string]*latencyRing
}

// latencyRing is the sizing latencies of one address's last jobs.
type latencyRing struct {
	lat  [latencyMemory]time.Duration
	next int
}

// note records the sizing latency of a job to addr with report rep and
// target times tt: tt's mean when it counted any request and the job kept
// up, else rep's p99 latency. A job that completed no request records
// nothing, nor does one with connection errors in a tenth or more of its
// requests: a target that refuses connections fails fast, and its latency
// would size the next job too small for the target once it is back.
func (m *latencyMemo) note(addr string, rep *tally.Report, tt targetTimes) {
	if rep.Latency == nil || rep.Latency.TotalCount() == 0 || (rep.ConnErrors > 0 && rep.ConnErrors*10 >= rep.Sent) {
		return
	}
	lat, ok := tt.mean()
	if !ok || !tt.keptUp(rep.Sent) {
		lat = tally.Percentile(rep.Latency, 99)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.byTo == nil {
		m.byTo = make(map[string]*latencyRing)
	}
	ring := m.byTo[addr]
	if ring == nil {
		ring = &latencyRing{}
		m.byTo[addr] = ring
	}
	ring.lat[ring.next%latencyMemory] = lat
	ring.next++
}

// sizing returns the latency to size a job to addr by: the highest
// remembered one, or AssumedLatency when none is remembered.
func (m *latencyMemo) sizing(addr string) time.Duration {
	m.mu.Lock()
	defer m.mu.Unlock()
	ring := m.byTo[addr]
	if ring == nil {
		return AssumedLatency
	}
	var hi time.Duration
	for _, d := range ring.lat[:min(ring.next, latencyMemory)] {
		hi = max(hi, d)
	}
	return hi
}
