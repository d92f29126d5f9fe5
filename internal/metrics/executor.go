package metrics

import (
	"runtime"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Executor holds an executor's collectors. It implements tally.Observer;
// all its methods are safe for concurrent use.
//
// The per-request metrics (imager_success, imager_failed,
// imager_executor_requests_total and the four request histograms) are
// recorded into per-core shards and summed when scraped (see
// requestStats), so that ObserveRequest, called for every request by
// every connection worker, writes no cache line that other cores write.
type Executor struct {
	jobsPickedUp prometheus.Counter
	jobRequests  prometheus.Counter

	// requests is the sharded state the request metrics below read.
	requests        *requestStats
	success         *shardCounter
	failed          *shardCounter
	duration        *shardHistogram
	successDuration *shardHistogram
	responseSize    *shardHistogram
	firstByte       *shardHistogram
	// byOutcome is indexed by tally.Outcome.
	byOutcome []*shardCounter

	inFlight  prometheus.Gauge
	connected prometheus.Gauge

	connsOpened  prometheus.Counter
	connFailures prometheus.Counter
}

var _ tally.Observer = (*Executor)(nil)

// NewExecutor creates an executor's collectors and registers them on reg.
// It returns an error, and leaves reg unchanged, when any of them cannot be
// registered, for instance because reg already holds them.
//
// The request metrics get a number of shards fixed now from
// runtime.GOMAXPROCS (see shardCount); a later change of GOMAXPROCS costs
// locality, never accuracy.
func NewExecutor(reg prometheus.Registerer) (*Executor, error) {
	return newExecutor(reg, shardCount(runtime.GOMAXPROCS(0)))
}

// newExecutor is NewExecutor with the given number of request shards.
func newExecutor(reg prometheus.Registerer, shards int) (*Executor, error) {
	e := &Executor{
		jobsPickedUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_jobs_picked_up_total",
			Help: "Jobs this executor received from the orchestrator.",
		}),
		jobRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_job_requests_total",
			Help: "Planned requests in the jobs this executor received.",
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imager_executor_inflight",
			Help: "Requests sent and not yet finished.",
		}),
		connected: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "imager_executor_connected",
			Help: "1 while the executor is connected to the orchestrator, 0 otherwise.",
		}),
		connsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_connections_opened_total",
			Help: "Connections to the target opened by finished jobs: a first connect or a reconnect.",
		}),
		connFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_connection_failures_total",
			Help: "Connection attempts to the target that failed, in finished jobs.",
		}),
	}
	byOutcome := e.initRequests(newRequestStats(shards, LatencyBuckets(), SizeBuckets()))
	err := registerAll(reg,
		e.jobsPickedUp, e.jobRequests,
		e.success, e.failed,
		e.duration, e.successDuration, e.responseSize, e.firstByte,
		byOutcome, e.inFlight, e.connected, e.connsOpened, e.connFailures,
	)
	if err != nil {
		return nil, err
	}
	return e, nil
}

// initRequests sets e's request metrics, which read st, and returns the
// collector of imager_executor_requests_total.
func (e *Executor) initRequests(st *requestStats) *counterFamily {
	e.requests = st
	// The cell past the outcomes counts out-of-range outcomes: failed, as
	// every outcome but Success is.
	success, failed := []int{}, []int{st.outcomes}
	for _, o := range tally.Outcomes() {
		if o.Failed() {
			failed = append(failed, int(o))
		} else {
			success = append(success, int(o))
		}
	}
	counter := func(name, help string, cells []int) *shardCounter {
		return &shardCounter{st: st, desc: prometheus.NewDesc(name, help, nil, nil), cells: cells}
	}
	e.success = counter("imager_success", "Requests that got a 2xx or 3xx response.", success)
	e.failed = counter("imager_failed", "Failed requests: every outcome but success (4xx, 5xx, timeouts, connection errors, dropped and lost requests), the numerator of error_rate.", failed)

	histogram := func(name, help string, layout histLayout) *shardHistogram {
		return &shardHistogram{st: st, desc: prometheus.NewDesc(name, help, nil, nil), layout: layout}
	}
	e.duration = histogram("imager_duration", "Latency of completed requests from their intended send time (or their actual send, when earlier), in seconds (corrected for coordinated omission).", st.duration)
	e.successDuration = histogram("imager_successDuration", "Latency of successful requests from their intended send time (or their actual send, when earlier), in seconds.", st.successDuration)
	e.responseSize = histogram("imager_responseSize", "Size of response bodies, in bytes.", st.size)
	e.firstByte = histogram("imager_firstByteDuration", "Time from sending a request to receiving its response headers, in seconds.", st.firstByte)

	family := &counterFamily{desc: prometheus.NewDesc("imager_executor_requests_total", "Finished requests, by outcome.", []string{"outcome"}, nil)}
	e.byOutcome = make([]*shardCounter, st.outcomes)
	for _, o := range tally.Outcomes() {
		e.byOutcome[o] = &shardCounter{st: st, desc: family.desc, cells: []int{int(o)}, labels: []string{o.String()}}
	}
	family.members = e.byOutcome
	return family
}

// JobPickedUp counts one job received from the orchestrator.
func (e *Executor) JobPickedUp() { e.jobsPickedUp.Inc() }

// JobRequests counts n planned requests in a received job.
func (e *Executor) JobRequests(n int) { e.jobRequests.Add(nonNegative(int64(n))) }

// JobConnections counts the connections a finished job opened to the
// target and the connection attempts that failed; negative counts add
// nothing.
func (e *Executor) JobConnections(opened, failed int64) {
	e.connsOpened.Add(nonNegative(opened))
	e.connFailures.Add(nonNegative(failed))
}

// SetInFlight records how many requests are in flight now.
func (e *Executor) SetInFlight(n int64) { e.inFlight.Set(float64(n)) }

// SetConnected records whether the executor is connected to the
// orchestrator.
func (e *Executor) SetConnected(ok bool) {
	if ok {
		e.connected.Set(1)
		return
	}
	e.connected.Set(0)
}

// ObserveRequest records one finished request. It neither allocates nor
// blocks, and may be called from many goroutines at once; it nearly
// always writes only the shard of the P it runs on (see requestStats).
//
// Every sample is counted as success or failed and under its outcome.
// Dropped and aborted requests carry no timings, so only requests that
// were sent and finished feed imager_duration; response size and time to
// first byte are observed only when a response arrived (Status != 0).
// A nil sample is ignored.
func (e *Executor) ObserveRequest(s *tally.Sample) {
	if s == nil {
		return
	}
	e.requests.observe(s)
}
