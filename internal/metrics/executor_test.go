package metrics

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/PeladoCollado/imager/internal/tally"
)

func newTestExecutor(t testing.TB) (*Executor, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	e, err := NewExecutor(reg)
	if err != nil {
		t.Fatalf("NewExecutor: %v", err)
	}
	return e, reg
}

// histCount returns the sample count and sum of the histogram name on reg.
func histCount(t *testing.T, reg prometheus.Gatherer, name string) (uint64, float64) {
	t.Helper()
	mf, ok := gather(t, reg)[name]
	if !ok {
		t.Fatalf("histogram %q not gathered", name)
	}
	h := mf.GetMetric()[0].GetHistogram()
	return h.GetSampleCount(), h.GetSampleSum()
}

func TestExecutorNames(t *testing.T) {
	_, reg := newTestExecutor(t)
	checkFamilies(t, reg, []string{
		"imager_executor_jobs_picked_up_total",
		"imager_executor_job_requests_total",
		"imager_success",
		"imager_failed",
		"imager_duration",
		"imager_successDuration",
		"imager_responseSize",
		"imager_firstByteDuration",
		"imager_executor_requests_total",
		"imager_executor_inflight",
		"imager_executor_connected",
		"imager_executor_connections_opened_total",
		"imager_executor_connection_failures_total",
	})
	if got, want := testutil.CollectAndCount(reg, "imager_executor_requests_total"), len(tally.Outcomes()); got != want {
		t.Errorf("requests_total series = %d, want %d (one per outcome)", got, want)
	}
}

func TestExecutorRegisterTwice(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := NewExecutor(reg); err != nil {
		t.Fatalf("first NewExecutor: %v", err)
	}
	e, err := NewExecutor(reg)
	if err == nil {
		t.Fatal("second NewExecutor on the same registry: error = nil, want an error")
	}
	if e != nil {
		t.Errorf("second NewExecutor returned %v with its error, want nil", e)
	}
	var are prometheus.AlreadyRegisteredError
	if !errors.As(err, &are) {
		t.Errorf("error = %v, want it to wrap prometheus.AlreadyRegisteredError", err)
	}
}

func TestExecutorJobsAndGauges(t *testing.T) {
	e, _ := newTestExecutor(t)
	e.JobPickedUp()
	e.JobPickedUp()
	e.JobRequests(40)
	e.JobRequests(2)
	e.JobRequests(-1) // ignored rather than a panic
	e.SetInFlight(17)
	e.SetConnected(true)
	e.JobConnections(4, 1)
	e.JobConnections(2, -1) // a negative count adds nothing

	tests := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"jobs_picked_up_total", e.jobsPickedUp, 2},
		{"job_requests_total", e.jobRequests, 42},
		{"inflight", e.inFlight, 17},
		{"connected", e.connected, 1},
		{"connections_opened_total", e.connsOpened, 6},
		{"connection_failures_total", e.connFailures, 1},
	}
	for _, tt := range tests {
		if got := testutil.ToFloat64(tt.c); got != tt.want {
			t.Errorf("%s = %v, want %v", tt.name, got, tt.want)
		}
	}
	e.SetConnected(false)
	if got := testutil.ToFloat64(e.connected); got != 0 {
		t.Errorf("connected after SetConnected(false) = %v, want 0", got)
	}
}

func TestObserveRequest(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name   string
		sample *tally.Sample
		// what the sample must add
		success, failed             float64
		outcome                     string
		duration, successDur, bytes uint64 // histogram sample counts
		firstByte                   uint64
	}{
		{
			name:    "success",
			sample:  &tally.Sample{Outcome: tally.Success, Status: 200, Latency: 3 * ms, Service: 2 * ms, FirstByte: ms, Bytes: 512},
			success: 1, outcome: "success", duration: 1, successDur: 1, bytes: 1, firstByte: 1,
		},
		{
			name:   "client error",
			sample: &tally.Sample{Outcome: tally.ClientError, Status: 404, Latency: ms, Service: ms, FirstByte: ms, Bytes: 10},
			failed: 1, outcome: "client_error", duration: 1, bytes: 1, firstByte: 1,
		},
		{
			name:   "server error",
			sample: &tally.Sample{Outcome: tally.ServerError, Status: 500, Latency: ms, Service: ms, FirstByte: ms},
			failed: 1, outcome: "server_error", duration: 1, bytes: 1, firstByte: 1,
		},
		{
			name:   "503 timeout has a response",
			sample: &tally.Sample{Outcome: tally.Timeout, Status: 503, Latency: ms, Service: ms, FirstByte: ms},
			failed: 1, outcome: "timeout", duration: 1, bytes: 1, firstByte: 1,
		},
		{
			name:   "timeout without headers",
			sample: &tally.Sample{Outcome: tally.Timeout, Latency: 5 * time.Second, Service: 5 * time.Second},
			failed: 1, outcome: "timeout", duration: 1,
		},
		{
			name:   "connection error",
			sample: &tally.Sample{Outcome: tally.ConnError, Latency: ms, Service: ms},
			failed: 1, outcome: "connection_error", duration: 1,
		},
		{
			name:   "dropped has no timings",
			sample: &tally.Sample{Outcome: tally.Dropped},
			failed: 1, outcome: "dropped",
		},
		{
			name:   "aborted has no timings",
			sample: &tally.Sample{Outcome: tally.Lost, Latency: ms},
			failed: 1, outcome: "lost",
		},
		{
			name:   "out-of-range outcome counts as failed only",
			sample: &tally.Sample{Outcome: tally.Outcome(200), Latency: ms},
			failed: 1, duration: 1,
		},
		{name: "nil sample is ignored", sample: nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, reg := newTestExecutor(t)
			e.ObserveRequest(tt.sample)

			if got := testutil.ToFloat64(e.success); got != tt.success {
				t.Errorf("imager_success = %v, want %v", got, tt.success)
			}
			if got := testutil.ToFloat64(e.failed); got != tt.failed {
				t.Errorf("imager_failed = %v, want %v", got, tt.failed)
			}
			for _, o := range tally.Outcomes() {
				want := 0.0
				if o.String() == tt.outcome {
					want = 1
				}
				if got := testutil.ToFloat64(e.byOutcome[o]); got != want {
					t.Errorf("requests_total{outcome=%q} = %v, want %v", o, got, want)
				}
			}
			hists := []struct {
				name string
				want uint64
			}{
				{"imager_duration", tt.duration},
				{"imager_successDuration", tt.successDur},
				{"imager_responseSize", tt.bytes},
				{"imager_firstByteDuration", tt.firstByte},
			}
			for _, h := range hists {
				if got, _ := histCount(t, reg, h.name); got != h.want {
					t.Errorf("%s sample count = %d, want %d", h.name, got, h.want)
				}
			}
		})
	}
}

func TestObserveRequestUnits(t *testing.T) {
	e, reg := newTestExecutor(t)
	e.ObserveRequest(&tally.Sample{
		Outcome: tally.Success, Status: 200,
		Latency: 1500 * time.Millisecond, Service: time.Second, FirstByte: 250 * time.Millisecond,
		Bytes: 4096,
	})
	tests := []struct {
		name string
		want float64
	}{
		{"imager_duration", 1.5},
		{"imager_successDuration", 1.5},
		{"imager_firstByteDuration", 0.25},
		{"imager_responseSize", 4096},
	}
	for _, tt := range tests {
		if _, sum := histCount(t, reg, tt.name); sum != tt.want {
			t.Errorf("%s sum = %v, want %v", tt.name, sum, tt.want)
		}
	}
}

func TestObserveRequestConcurrent(t *testing.T) {
	e, reg := newTestExecutor(t)
	const goroutines, each = 8, 500
	ok := tally.Sample{Outcome: tally.Success, Status: 200, Latency: time.Millisecond, FirstByte: time.Millisecond, Bytes: 100}
	bad := tally.Sample{Outcome: tally.ServerError, Status: 502, Latency: time.Millisecond, FirstByte: time.Millisecond}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				if (g+i)%2 == 0 {
					e.ObserveRequest(&ok)
				} else {
					e.ObserveRequest(&bad)
				}
			}
		})
	}
	wg.Wait()

	const half = goroutines * each / 2
	if got := testutil.ToFloat64(e.success); got != half {
		t.Errorf("imager_success = %v, want %v", got, half)
	}
	if got := testutil.ToFloat64(e.failed); got != half {
		t.Errorf("imager_failed = %v, want %v", got, half)
	}
	if got, _ := histCount(t, reg, "imager_duration"); got != 2*half {
		t.Errorf("imager_duration count = %d, want %d", got, 2*half)
	}
}

func TestObserveRequestAllocs(t *testing.T) {
	e, _ := newTestExecutor(t)
	for _, o := range tally.Outcomes() {
		s := &tally.Sample{Outcome: o, Status: 200, Latency: time.Millisecond, FirstByte: time.Millisecond, Bytes: 100}
		if got := testing.AllocsPerRun(1000, func() { e.ObserveRequest(s) }); got != 0 {
			t.Errorf("ObserveRequest(%v) allocs/op = %v, want 0", o, got)
		}
	}
}

func BenchmarkObserveRequest(b *testing.B) {
	e, _ := newTestExecutor(b)
	samples := []tally.Sample{
		{Outcome: tally.Success, Status: 200, Latency: 2 * time.Millisecond, FirstByte: time.Millisecond, Bytes: 512},
		{Outcome: tally.ServerError, Status: 500, Latency: 40 * time.Millisecond, FirstByte: 30 * time.Millisecond, Bytes: 64},
		{Outcome: tally.Dropped},
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		e.ObserveRequest(&samples[i%len(samples)])
		i++
	}
}
