package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/engine"
)

// Executor holds an executor's collectors. It implements engine.Observer;
// all its methods are safe for concurrent use.
type Executor struct {
	jobsPickedUp prometheus.Counter
	jobRequests  prometheus.Counter

	success         prometheus.Counter
	failed          prometheus.Counter
	duration        prometheus.Histogram
	successDuration prometheus.Histogram
	responseSize    prometheus.Histogram
	firstByte       prometheus.Histogram
	// byOutcome is indexed by engine.Outcome and resolved at construction,
	// so ObserveRequest needs no label lookup.
	byOutcome []prometheus.Counter

	inFlight  prometheus.Gauge
	connected prometheus.Gauge

	connsOpened  prometheus.Counter
	connFailures prometheus.Counter
}

var _ engine.Observer = (*Executor)(nil)

// NewExecutor creates an executor's collectors and registers them on reg.
// It returns an error, and leaves reg unchanged, when any of them cannot be
// registered, for instance because reg already holds them.
func NewExecutor(reg prometheus.Registerer) (*Executor, error) {
	e := &Executor{
		jobsPickedUp: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_jobs_picked_up_total",
			Help: "Jobs this executor received from the orchestrator.",
		}),
		jobRequests: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_executor_job_requests_total",
			Help: "Planned requests in the jobs this executor received.",
		}),
		success: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_success",
			Help: "Requests that got a 2xx or 3xx response.",
		}),
		failed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "imager_failed",
			Help: "Failed requests: every outcome but success (4xx, 5xx, timeouts, connection errors, dropped and lost requests), the numerator of error_rate.",
		}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imager_duration",
			Help:    "Latency of completed requests from their intended send time, in seconds (corrected for coordinated omission).",
			Buckets: LatencyBuckets(),
		}),
		successDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imager_successDuration",
			Help:    "Latency of successful requests from their intended send time, in seconds.",
			Buckets: LatencyBuckets(),
		}),
		responseSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imager_responseSize",
			Help:    "Size of response bodies, in bytes.",
			Buckets: SizeBuckets(),
		}),
		firstByte: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "imager_firstByteDuration",
			Help:    "Time from sending a request to receiving its response headers, in seconds.",
			Buckets: LatencyBuckets(),
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
	byOutcome := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imager_executor_requests_total",
		Help: "Finished requests, by outcome.",
	}, []string{"outcome"})
	outcomes := engine.Outcomes()
	e.byOutcome = make([]prometheus.Counter, len(outcomes))
	for _, o := range outcomes {
		e.byOutcome[o] = byOutcome.WithLabelValues(o.String())
	}
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
// blocks, and may be called from many goroutines at once.
//
// Every sample is counted as success or failed and under its outcome.
// Dropped and aborted requests carry no timings, so only requests that
// were sent and finished feed imager_duration; response size and time to
// first byte are observed only when a response arrived (Status != 0).
// A nil sample is ignored.
func (e *Executor) ObserveRequest(s *engine.Sample) {
	if s == nil {
		return
	}
	if s.Outcome.Failed() {
		e.failed.Inc()
	} else {
		e.success.Inc()
	}
	if int(s.Outcome) < len(e.byOutcome) {
		e.byOutcome[s.Outcome].Inc()
	}
	if s.Outcome == engine.Dropped || s.Outcome == engine.Lost {
		return
	}
	latency := s.Latency.Seconds()
	e.duration.Observe(latency)
	if s.Outcome == engine.Success {
		e.successDuration.Observe(latency)
	}
	if s.Status != 0 {
		e.firstByte.Observe(s.FirstByte.Seconds())
		e.responseSize.Observe(float64(s.Bytes))
	}
}
