package metrics

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func newTestOrchestrator(t *testing.T) (*Orchestrator, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	o, err := NewOrchestrator(reg)
	if err != nil {
		t.Fatalf("NewOrchestrator: %v", err)
	}
	return o, reg
}

func TestOrchestratorNames(t *testing.T) {
	o, reg := newTestOrchestrator(t)
	checkFamilies(t, reg, []string{
		"imager_orchestrator_registered_executors",
		"imager_orchestrator_jobs_dispatched_total",
		"imager_orchestrator_job_requests_total",
		"imager_orchestrator_round",
		"imager_orchestrator_planned_rps",
		"imager_orchestrator_achieved_rps",
		"imager_orchestrator_round_requests_total",
		"imager_orchestrator_round_latency_seconds",
		"imager_orchestrator_executor_disconnects_total",
		"imager_orchestrator_auth_failures_total",
		"imager_orchestrator_latency_seconds",
		"imager_orchestrator_connections_opened_total",
		"imager_orchestrator_connection_failures_total",
	})
	// Labelled pod series only exist once a pod is known.
	o.SetPodUsage("ns", "pod-a", 1, 1)
	checkFamilies(t, reg, []string{
		"imager_orchestrator_target_pod_cpu_millicores",
		"imager_orchestrator_target_pod_memory_bytes",
	})
	if got, want := testutil.CollectAndCount(reg, "imager_orchestrator_round_requests_total"), len(tally.Outcomes()); got != want {
		t.Errorf("round_requests_total series = %d, want %d (one per outcome)", got, want)
	}
	if got, want := testutil.CollectAndCount(reg, "imager_orchestrator_round_latency_seconds"), 4; got != want {
		t.Errorf("round_latency_seconds series = %d, want %d (one per quantile)", got, want)
	}
}

func TestOrchestratorRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewOrchestrator(reg); err != nil {
		t.Fatalf("first NewOrchestrator: %v", err)
	}
	o, err := NewOrchestrator(reg)
	if err == nil {
		t.Fatal("second NewOrchestrator on the same registry: error = nil, want an error")
	}
	if o != nil {
		t.Errorf("second NewOrchestrator returned %v with its error, want nil", o)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error = %v, want it to wrap prometheus.AlreadyRegisteredError", err)
	}
}

func TestOrchestratorRegisterRollsBack(t *testing.T) {
	// A clash on the last collector must not leave the earlier ones behind.
	reg := prometheus.NewRegistry()
	// The registry keeps a name's help and labels for life, so the stand-in
	// must describe itself exactly like the real collector.
	clash := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "imager_orchestrator_auth_failures_total",
		Help: "Executor connections rejected for failed authentication.",
	})
	reg.MustRegister(clash)
	if _, err := NewOrchestrator(reg); err == nil {
		t.Fatal("NewOrchestrator with a clashing name: error = nil, want an error")
	}
	if got := keys(gather(t, reg)); len(got) != 1 || got[0] != "imager_orchestrator_auth_failures_total" {
		t.Errorf("families after failed NewOrchestrator = %v, want only the clashing one", got)
	}
	reg.Unregister(clash)
	if _, err := NewOrchestrator(reg); err != nil {
		t.Errorf("NewOrchestrator after removing the clash: %v", err)
	}
}

func TestOrchestratorCounters(t *testing.T) {
	o, _ := newTestOrchestrator(t)
	o.SetRegisteredExecutors(5)
	o.SetRegisteredExecutors(3)
	o.JobDispatched(100)
	o.JobDispatched(50)
	o.JobDispatched(-7) // a bad count must not panic the counter
	o.ExecutorDisconnected()
	o.ExecutorDisconnected()
	o.AuthFailed()

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"registered_executors", o.registeredExecutors, 3},
		{"jobs_dispatched_total", o.jobsDispatched, 3},
		{"job_requests_total", o.jobRequests, 150},
		{"executor_disconnects_total", o.disconnects, 2},
		{"auth_failures_total", o.authFailures, 1},
	}
	for _, tt := range tests {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestOrchestratorPods(t *testing.T) {
	o, reg := newTestOrchestrator(t)
	o.SetPodUsage("demo", "a", 250, 64<<20)
	o.SetPodUsage("demo", "b", 10, 1<<20)
	o.SetPodUsage("demo", "a", 300, 65<<20) // replaces a's values
	o.DeletePod("demo", "b")
	o.DeletePod("demo", "never-seen") // harmless

	want := `
# HELP imager_orchestrator_target_pod_cpu_millicores CPU usage of a target pod in millicores, as reported by the metrics API.
# TYPE imager_orchestrator_target_pod_cpu_millicores gauge
imager_orchestrator_target_pod_cpu_millicores{namespace="demo",pod="a"} 300
# HELP imager_orchestrator_target_pod_memory_bytes Memory working set of a target pod in bytes, as reported by the metrics API.
# TYPE imager_orchestrator_target_pod_memory_bytes gauge
imager_orchestrator_target_pod_memory_bytes{namespace="demo",pod="a"} 6.815744e+07
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"imager_orchestrator_target_pod_cpu_millicores",
		"imager_orchestrator_target_pod_memory_bytes"); err != nil {
		t.Error(err)
	}
}

func TestOrchestratorRoundFinished(t *testing.T) {
	o, reg := newTestOrchestrator(t)
	o.RoundFinished(types.RoundStats{
		Round:       6,
		PlannedRPS:  100,
		AchievedRPS: 97.5,
		Dials:       6, DialErrors: 1,
		P50: 2 * time.Millisecond, P90: 10 * time.Millisecond,
		P99: 250 * time.Millisecond, P999: 1500 * time.Millisecond,
	}, tally.Counts{
		Planned: 100, Sent: 95, Success: 80, ClientErrors: 4, ServerErrors: 3,
		Timeouts: 2, ConnErrors: 1, Dropped: 5, Lost: 5,
	}, nil)
	// The second round replaces the gauges and adds to the counters.
	o.RoundFinished(types.RoundStats{
		Round:       7,
		PlannedRPS:  110,
		AchievedRPS: 110,
		// A negative count adds nothing.
		Dials: 2, DialErrors: -3,
		P50: time.Millisecond, P90: 3 * time.Millisecond,
		P99: 20 * time.Millisecond, P999: 40 * time.Millisecond,
	}, tally.Counts{Planned: 110, Sent: 110, Success: 110, Lost: -1}, nil)

	want := `
# HELP imager_orchestrator_round Index of the last finished round.
# TYPE imager_orchestrator_round gauge
imager_orchestrator_round 7
# HELP imager_orchestrator_planned_rps Request rate planned for the last finished round, in requests per second.
# TYPE imager_orchestrator_planned_rps gauge
imager_orchestrator_planned_rps 110
# HELP imager_orchestrator_achieved_rps Request rate actually sent in the last finished round, in requests per second.
# TYPE imager_orchestrator_achieved_rps gauge
imager_orchestrator_achieved_rps 110
# HELP imager_orchestrator_round_requests_total Planned requests of finished rounds, by outcome (success, client_error, server_error, timeout, connection_error, dropped, lost, check_failed); every outcome but success is a failure.
# TYPE imager_orchestrator_round_requests_total counter
imager_orchestrator_round_requests_total{outcome="check_failed"} 0
imager_orchestrator_round_requests_total{outcome="client_error"} 4
imager_orchestrator_round_requests_total{outcome="connection_error"} 1
imager_orchestrator_round_requests_total{outcome="dropped"} 5
imager_orchestrator_round_requests_total{outcome="lost"} 5
imager_orchestrator_round_requests_total{outcome="server_error"} 3
imager_orchestrator_round_requests_total{outcome="success"} 190
imager_orchestrator_round_requests_total{outcome="timeout"} 2
# HELP imager_orchestrator_round_latency_seconds Latency percentiles of the last finished round, from each request's intended send time (or its actual send, when earlier), in seconds.
# TYPE imager_orchestrator_round_latency_seconds gauge
imager_orchestrator_round_latency_seconds{quantile="0.5"} 0.001
imager_orchestrator_round_latency_seconds{quantile="0.9"} 0.003
imager_orchestrator_round_latency_seconds{quantile="0.99"} 0.02
imager_orchestrator_round_latency_seconds{quantile="0.999"} 0.04
# HELP imager_orchestrator_connections_opened_total Connections to the target opened by the executors (a first connect or a reconnect), summed over finished rounds.
# TYPE imager_orchestrator_connections_opened_total counter
imager_orchestrator_connections_opened_total 8
# HELP imager_orchestrator_connection_failures_total Connection attempts to the target that failed, summed over finished rounds.
# TYPE imager_orchestrator_connection_failures_total counter
imager_orchestrator_connection_failures_total 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want),
		"imager_orchestrator_round",
		"imager_orchestrator_planned_rps",
		"imager_orchestrator_achieved_rps",
		"imager_orchestrator_round_requests_total",
		"imager_orchestrator_round_latency_seconds",
		"imager_orchestrator_connections_opened_total",
		"imager_orchestrator_connection_failures_total"); err != nil {
		t.Error(err)
	}
}
