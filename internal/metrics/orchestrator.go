package metrics

import (
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// roundQuantiles are the values of the quantile label of
// imager_orchestrator_round_latency_seconds.
var roundQuantiles = [...]string{"0.5", "0.9", "0.99", "0.999"}

// Orchestrator holds the orchestrator's collectors. Its methods are safe for
// concurrent use.
type Orchestrator struct {
	registeredExecutors prometheus.Gauge
	jobsDispatched      prometheus.Counter
	jobRequests         prometheus.Counter
	podCPU              *prometheus.GaugeVec
	podMemory           *prometheus.GaugeVec
	round               prometheus.Gauge
	plannedRPS          prometheus.Gauge
	achievedRPS         prometheus.Gauge
	roundRequests       []prometheus.Counter
	roundLatency        [len(roundQuantiles)]prometheus.Gauge
	disconnects         prometheus.Counter
	authFailures        prometheus.Counter
	scenarioReloads     [2]prometheus.Counter // rejected, accepted
	roundsSkipped       prometheus.Counter
	reportsRefused      prometheus.Counter
	connsOpened         prometheus.Counter
	connFailures        prometheus.Counter
	targetAvailable     prometheus.Gauge
	runLatency          *runLatency
}

// NewOrchestrator creates the orchestrator's collectors and registers them
// on reg. It returns an error, and leaves reg unchanged, when any of them
// cannot be registered, for instance because reg already holds them.
func NewOrchestrator(reg prometheus.Registerer) (*Orchestrator, error) {
	o := &Orchestrator{runLatency: newRunLatency()}
	cs := o.initFleet()
	cs = append(cs, o.initRounds()...)
	cs = append(cs, o.initTarget()...)
	cs = append(cs, o.runLatency)
	if err := registerAll(reg, cs...); err != nil {
		return nil, err
	}
	return o, nil
}

// newGauge makes an unlabelled gauge.
func newGauge(name, help string) prometheus.Gauge {
	return prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
}

// newCounter makes an unlabelled counter.
func newCounter(name, help string) prometheus.Counter {
	return prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
}

// initFleet creates the collectors of executors, jobs and the scenario,
// and returns them for registration.
func (o *Orchestrator) initFleet() []prometheus.Collector {
	o.registeredExecutors = newGauge("imager_orchestrator_registered_executors",
		"Number of executors currently connected to the orchestrator.")
	o.jobsDispatched = newCounter("imager_orchestrator_jobs_dispatched_total",
		"Jobs sent to executors.")
	o.jobRequests = newCounter("imager_orchestrator_job_requests_total",
		"Planned requests put into jobs sent to executors.")
	o.disconnects = newCounter("imager_orchestrator_executor_disconnects_total",
		"Executors that went away, cleanly or not.")
	o.authFailures = newCounter("imager_orchestrator_auth_failures_total",
		"Executor connections rejected for failed authentication.")
	o.reportsRefused = newCounter("imager_orchestrator_reports_refused_total",
		"Executor reports refused because their counts were negative, did not add up to the job's planned requests, or disagreed with their latency histogram; their requests count as lost.")
	reloads := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imager_orchestrator_scenario_reloads_total",
		Help: "Changes of the Lua scenario file seen while running, by result: accepted (takes over at the next round) or rejected (the running version stays).",
	}, []string{"result"})
	o.scenarioReloads[0] = reloads.WithLabelValues("rejected")
	o.scenarioReloads[1] = reloads.WithLabelValues("accepted")
	return []prometheus.Collector{o.registeredExecutors, o.jobsDispatched, o.jobRequests,
		o.disconnects, o.authFailures, o.reportsRefused, reloads}
}

// initRounds creates the collectors of finished rounds and returns them
// for registration.
func (o *Orchestrator) initRounds() []prometheus.Collector {
	o.round = newGauge("imager_orchestrator_round", "Index of the last finished round.")
	o.plannedRPS = newGauge("imager_orchestrator_planned_rps",
		"Request rate planned for the last finished round, in requests per second.")
	o.achievedRPS = newGauge("imager_orchestrator_achieved_rps",
		"Request rate actually sent in the last finished round, in requests per second.")
	o.roundsSkipped = newCounter("imager_orchestrator_rounds_skipped_total",
		"Rounds on the time grid that sent nothing: no target ready (dispatch paused), no executor connected, or planned too late.")
	roundRequests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "imager_orchestrator_round_requests_total",
		Help: "Planned requests of finished rounds, by outcome (success, client_error, server_error, timeout, connection_error, dropped, lost, check_failed); every outcome but success is a failure.",
	}, []string{"outcome"})
	for _, oc := range tally.Outcomes() {
		o.roundRequests = append(o.roundRequests, roundRequests.WithLabelValues(oc.String()))
	}
	roundLatency := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imager_orchestrator_round_latency_seconds",
		Help: "Latency percentiles of the last finished round, from each request's intended send time (or its actual send, when earlier), in seconds.",
	}, []string{"quantile"})
	for i, q := range roundQuantiles {
		o.roundLatency[i] = roundLatency.WithLabelValues(q)
	}
	return []prometheus.Collector{o.round, o.plannedRPS, o.achievedRPS, o.roundsSkipped, roundRequests, roundLatency}
}

// initTarget creates the collectors of the target (its pods' usage, its
// availability and the connections made to it) and returns them for
// registration.
func (o *Orchestrator) initTarget() []prometheus.Collector {
	o.podCPU = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imager_orchestrator_target_pod_cpu_millicores",
		Help: "CPU usage of a target pod in millicores, as reported by the metrics API.",
	}, []string{"namespace", "pod"})
	o.podMemory = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "imager_orchestrator_target_pod_memory_bytes",
		Help: "Memory working set of a target pod in bytes, as reported by the metrics API.",
	}, []string{"namespace", "pod"})
	o.targetAvailable = newGauge("imager_orchestrator_target_available",
		"1 while the target can be sent to (always in url mode; in pod and service modes while it has a ready endpoint), 0 while dispatch is paused.")
	o.connsOpened = newCounter("imager_orchestrator_connections_opened_total",
		"Connections to the target opened by the executors (a first connect or a reconnect), summed over finished rounds.")
	o.connFailures = newCounter("imager_orchestrator_connection_failures_total",
		"Connection attempts to the target that failed, summed over finished rounds.")
	return []prometheus.Collector{o.podCPU, o.podMemory, o.targetAvailable, o.connsOpened, o.connFailures}
}

// RoundSkipped counts a round that sent nothing.
func (o *Orchestrator) RoundSkipped() { o.roundsSkipped.Inc() }

// ReportRefused counts an executor report refused as inconsistent.
func (o *Orchestrator) ReportRefused() { o.reportsRefused.Inc() }

// SetTargetAvailable records whether the target has a ready endpoint.
func (o *Orchestrator) SetTargetAvailable(ok bool) {
	v := 0.0
	if ok {
		v = 1
	}
	o.targetAvailable.Set(v)
}

// ScenarioReloaded counts one change of the scenario file, accepted or
// rejected.
func (o *Orchestrator) ScenarioReloaded(accepted bool) {
	i := 0
	if accepted {
		i = 1
	}
	o.scenarioReloads[i].Inc()
}

// SetRegisteredExecutors records how many executors are connected now.
func (o *Orchestrator) SetRegisteredExecutors(n int) {
	o.registeredExecutors.Set(float64(n))
}

// JobDispatched counts one job sent to an executor, carrying requests
// planned requests.
func (o *Orchestrator) JobDispatched(requests int) {
	o.jobsDispatched.Inc()
	o.jobRequests.Add(nonNegative(int64(requests)))
}

// ExecutorDisconnected counts one executor that went away.
func (o *Orchestrator) ExecutorDisconnected() { o.disconnects.Inc() }

// AuthFailed counts one executor connection rejected by authentication.
func (o *Orchestrator) AuthFailed() { o.authFailures.Inc() }

// SetPodUsage records the latest CPU (millicores) and memory (bytes) usage
// of a target pod.
func (o *Orchestrator) SetPodUsage(namespace, pod string, cpuMillicores, memoryBytes float64) {
	o.podCPU.WithLabelValues(namespace, pod).Set(cpuMillicores)
	o.podMemory.WithLabelValues(namespace, pod).Set(memoryBytes)
}

// DeletePod drops the usage series of a pod that is no longer a target, so
// stale values do not linger.
func (o *Orchestrator) DeletePod(namespace, pod string) {
	o.podCPU.DeleteLabelValues(namespace, pod)
	o.podMemory.DeleteLabelValues(namespace, pod)
}

// RoundFinished publishes the summary of a finished round: the round
// gauges and latency percentiles are replaced, the round's counts are
// added to the per-outcome request counter, its connections opened and
// failed to theirs, and its latency histogram (microseconds; nil adds
// nothing; only read) to the whole-run one. counts is the round's tally by
// outcome.
func (o *Orchestrator) RoundFinished(r types.RoundStats, counts tally.Counts, latency *hdrhistogram.Histogram) {
	o.round.Set(float64(r.Round))
	o.plannedRPS.Set(float64(r.PlannedRPS))
	o.achievedRPS.Set(r.AchievedRPS)

	for i, oc := range tally.Outcomes() {
		o.roundRequests[i].Add(nonNegative(counts.Of(oc)))
	}
	o.connsOpened.Add(nonNegative(r.Dials))
	o.connFailures.Add(nonNegative(r.DialErrors))

	percentiles := [len(roundQuantiles)]time.Duration{r.P50, r.P90, r.P99, r.P999}
	for i, d := range percentiles {
		o.roundLatency[i].Set(d.Seconds())
	}
	o.runLatency.add(latency)
}
