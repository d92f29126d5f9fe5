package engine

import (
	"math"
	"slices"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Automatic connection sizing: a job without a configured connection count
// starts with rate × min(2 × L + batchWindow, AssumedLatency) connections,
// rounded up, at least MinAutoConnections and at most MaxAutoConnections
// (and never more than the Runner's budget, MaxInFlight or its requests);
// batchWindow, because a send window's requests go out together. L is
// what the Runner knows of the job's target when the job starts
// (Runner.sizingLatency): the median sizing latency of the last
// latencyMemory jobs it finished to the same address; before any
// finished, the mean live target time of the jobs to it running now
// (rounds overlap, so the second round is sized by the first); before
// that, AssumedLatency. A job's sizing latency is, to an http target, the
// mean target time of its requests sent on time (targetTimes: how long
// after a send its answer reached this host), so that by Little's law
// 2 × L × rate is twice the requests the target holds at a time; to an
// https target, whose answers fasthttp reads without arrival times, its
// p99 latency. A job to an http target that falls behind because the
// target slowed grows while it runs, up to rate × AssumedLatency (see
// Growth below), and the median keeps such a job from sizing the next
// ones unless the target stays slow. A target slower than AssumedLatency
// makes requests queue for a connection, which latency reports honestly;
// -connections (RunnerConfig.Connections) fixes the count.
//
// The target time leaves out the generator's own delays. A latency that
// counted them would size a busy generator's jobs by its own queue: with
// every connection busy, a request's service time is the connections ÷
// the throughput whatever the target, so the count could never shrink
// (at 60,000/s on loopback, 256 connections measured a median service
// time of 5 ms and a target time of 26 µs). Requests sent late are left
// out too: a generator behind its schedule sends its backlog at once, and
// the target's queue for that burst measures the generator's connections,
// not the target's need (4-10 ms with 256 connections on loopback, against
// 0.2-0.5 ms for the requests sent on time).
//
// Fewer connections are cheaper: each serves requests more often and less
// socket state is touched, on both sides (at 5,000/s on loopback, 8
// connections cost 15% less CPU than 100; at 50,000/s, 64-128 cost 10-25%
// less than 256). More than rate × AssumedLatency are not given even to a
// slow target: the responses of a stall then arrive together and their
// handling delays the last ones (p99.9 under a 100 ms stall at 1,000/s was
// 4-5% high with 184 connections, 2% with 20).
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
// there is none (another system, a failed request). The requests sent on
// time (within batchWindow of their due time) are summed apart from the
// late ones: a generator that fell behind sends its backlog at once, as
// many requests as it has connections, and the target's queue for that
// burst says how many connections the generator had, not how many the
// target needs. A targetTimes belongs to one worker; a job's are merged
// once its workers returned.
type targetTimes struct {
	onTime, late timeSum
}

// timeSum is a sum of target times and how many were summed.
type timeSum struct {
	sum time.Duration
	n   int64
}

// add counts one request's target time, sent late or not; a negative one
// (the wall clock stepped back) counts as zero.
func (t *targetTimes) add(d time.Duration, late bool) {
	s := &t.onTime
	if late {
		s = &t.late
	}
	s.sum += max(d, 0)
	s.n++
}

// merge adds o's requests to t.
func (t *targetTimes) merge(o targetTimes) {
	t.onTime.sum += o.onTime.sum
	t.onTime.n += o.onTime.n
	t.late.sum += o.late.sum
	t.late.n += o.late.n
}

// mean returns the mean target time of the requests sent on time, or of
// all when none was; ok is false when no request counted.
func (t targetTimes) mean() (d time.Duration, ok bool) {
	s := t.onTime
	if s.n == 0 {
		s = t.late
	}
	if s.n == 0 {
		return 0, false
	}
	return s.sum / time.Duration(s.n), true
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
// target times tt: tt's mean (targetTimes.mean) when it counted any
// request, else rep's p99 latency. A job that completed no request records
// nothing, nor does one with connection errors in a tenth or more of its
// requests: a target that refuses connections fails fast, and its latency
// would size the next job too small for the target once it is back.
func (m *latencyMemo) note(addr string, rep *tally.Report, tt targetTimes) {
	if rep.Latency == nil || rep.Latency.TotalCount() == 0 || (rep.ConnErrors > 0 && rep.ConnErrors*10 >= rep.Sent) {
		return
	}
	lat, ok := tt.mean()
	if !ok {
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

// sizing returns the latency to size a job to addr by: the median of the
// remembered ones (the higher middle one of an even count); ok is false
// when none is remembered.
func (m *latencyMemo) sizing(addr string) (d time.Duration, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ring := m.byTo[addr]
	if ring == nil {
		return 0, false
	}
	var lat [latencyMemory]time.Duration
	n := copy(lat[:], ring.lat[:min(ring.next, latencyMemory)])
	slices.Sort(lat[:n])
	return lat[n/2], true
}

// Live sizing: the first jobs to a target are sized before any job to it
// has finished. A job that is running to the same address publishes the
// target times of the requests it sent on time, livePublish at a time per
// worker; once it published liveMin of them, their mean sizes such a job
// rather than AssumedLatency.
const (
	livePublish = 32
	liveMin     = 256
)

// sizingLatency returns the latency to size a job to addr by: the
// remembered one (latencyMemo.sizing); without one, the highest mean live
// target time of the jobs to addr running now that published liveMin
// requests; without those, AssumedLatency.
func (r *Runner) sizingLatency(addr string) time.Duration {
	if d, ok := r.latency.sizing(addr); ok {
		return d
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	d, found := time.Duration(0), false
	for j := range r.active {
		if n := j.liveN.Load(); j.addr == addr && n >= liveMin {
			d, found = max(d, time.Duration(j.liveSum.Load()/n)), true
		}
	}
	if !found {
		return AssumedLatency
	}
	return d
}

// Growth: a job whose connection count is automatic starts with the count
// its target's measured latency asks for (staff), which keeps the
// generator's CPU per request low: at 50,000/s on loopback 64-128
// connections cost 10-25% less per request than 256. That count has no
// room for the target slowing down while the job runs (a busy target's
// queue, a slow phase of its host), when every connection waits on it and
// requests fall behind. So a worker that takes a request more than
// growLag after its due time, while the target holds at least half the
// job's connections (targetBound), adds a quarter more workers, at least
// one, at most once per growEvery, up to rate × AssumedLatency (within
// MaxAutoConnections): the count a job gets before anything is known of
// its target. A configured count (-connections) never grows, nor does a
// job to an https target: without arrival times, a worker's times to the
// response head would count the generator's own delays and each new
// connection's TLS handshake as the target's. Where the kernel gives no
// receive timestamps (other systems), an http job's target times are its
// times to the response head, with the same weakness.
const (
	growLag   = 2 * batchWindow
	growEvery = time.Millisecond
	// recentWeight is the weight of a worker's average target time
	// against the next one's (worker.recent).
	recentWeight = 8
)

// grow adds workers to j, which runs behind at now, unless it added some
// less than growEvery ago, has the most it may, stopped, or has no
// requests left to take. It is called by j's workers, so j.wg counts a
// goroutine while it adds to it.
func (j *jobRun) grow(now time.Time) {
	last := j.lastGrow.Load()
	if now.UnixNano()-last < int64(growEvery) || !j.lastGrow.CompareAndSwap(last, now.UnixNano()) {
		return
	}
	if j.stopped.Load() || j.next.Load() >= int64(j.n) {
		return
	}
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if j.stopped.Load() { // stop takes wmu after it sets stopped
		return
	}
	n := len(j.workers)
	add := min(max(n/4, 1), j.most-n)
	for range add {
		w := j.newWorker()
		j.workers = append(j.workers, w)
		j.wg.Go(w.run)
	}
	j.count.Store(int32(n + add))
}

// canGrow reports whether j has fewer workers than the most it may have.
func (j *jobRun) canGrow() bool { return int(j.count.Load()) < j.most }

// targetBound reports whether the target holds at least half of w's job's
// connections, by Little's law from w's recent target times and the
// job's rate: only then can more connections help a job that runs
// behind. A generator short of CPU also runs behind, its connections
// waiting on itself with the answers already in; more connections only
// cost it more (at 50,000/s on loopback, 256 connections in that state
// cost about twice the CPU per request of 64).
func (w *worker) targetBound() bool {
	return 2*float64(w.recent) >= float64(w.j.count.Load())*w.j.step
}
