package executor

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// withMetrics gives cfg executor metrics on a fresh registry, which it
// returns.
func withMetrics(t *testing.T, cfg *Config) *prometheus.Registry {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := metrics.NewExecutor(reg)
	if err != nil {
		t.Fatalf("metrics: %v", err)
	}
	cfg.Metrics = m
	return reg
}

func TestHelloAndHeartbeats(t *testing.T) {
	const interval = 20 * time.Millisecond
	msgs := make(chan *imagerv1.ExecutorMessage, 100)
	f := startFake(t, func(_ int, st serverStream) error {
		if err := welcome(st, interval); err != nil {
			return err
		}
		return forward(st, msgs)
	})
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	reg := withMetrics(t, &cfg)
	e := startExecutor(t, newExecutor(t, cfg), logs)

	got := f.nextHello(t).hello
	if got.GetExecutorId() != "exec-1" || got.GetCapacity() != 3 || got.GetMaxInflight() != 500 ||
		got.GetVersion() != "v9.9.9" || got.GetAuthToken() != "s3cret" {
		t.Errorf("Hello = %v, want id exec-1, capacity 3, max_inflight 500, version v9.9.9, token s3cret", got)
	}

	start := time.Now()
	const want = 3
	for i := range want {
		select {
		case msg := <-msgs:
			hb := msg.GetHeartbeat()
			if hb == nil {
				t.Fatalf("message %d = %v, want a Heartbeat", i, msg)
			}
			if hb.GetInflight() != 0 {
				t.Errorf("heartbeat inflight = %d, want 0 while idle", hb.GetInflight())
			}
		case <-time.After(waitLimit):
			t.Fatalf("got %d heartbeats within %v, want %d", i, waitLimit, want)
		}
	}
	if el := time.Since(start); el < (want-1)*interval {
		t.Errorf("%d heartbeats took %v, want at least %v at interval %v", want, el, (want-1)*interval, interval)
	}
	if !e.Connected() {
		t.Errorf("Connected() = false after heartbeats, want true")
	}
	if v := gatherValue(t, reg, "imager_executor_connected"); v != 1 {
		t.Errorf("imager_executor_connected = %v while connected, want 1", v)
	}

	e.stop()
	if e.Connected() {
		t.Errorf("Connected() = true after Run returned, want false")
	}
	if v := gatherValue(t, reg, "imager_executor_connected"); v != 0 {
		t.Errorf("imager_executor_connected = %v after Run returned, want 0", v)
	}
}

func TestRunTwiceFails(t *testing.T) {
	f := startFake(t, func(_ int, st serverStream) error {
		<-st.Context().Done()
		return nil
	})
	logs := &proc.Buffer{}
	e := startExecutor(t, newExecutor(t, testConfig(f.addr, logs)), logs)
	f.nextHello(t)
	if err := e.Run(context.Background()); err == nil {
		t.Errorf("second concurrent Run() = nil, want an error")
	}
}

func TestJobReport(t *testing.T) {
	const count = 20
	tests := []struct {
		name   string
		status int
		target string // "" means the test's HTTP target
		want   func(r *imagerv1.Report) int64
		// wantErr: the report carries an error and every request is lost.
		wantErr bool
	}{
		{name: "success", status: http.StatusOK, want: (*imagerv1.Report).GetSuccess},
		{name: "client errors", status: http.StatusNotFound, want: (*imagerv1.Report).GetClientErrors},
		{name: "server errors", status: http.StatusInternalServerError, want: (*imagerv1.Report).GetServerErrors},
		{name: "503 counts as timeout", status: http.StatusServiceUnavailable, want: (*imagerv1.Report).GetTimeouts},
		{name: "bad target", target: "ftp://nowhere", want: (*imagerv1.Report).GetLost, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				hits.Add(1)
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte("hello"))
			}))
			t.Cleanup(srv.Close)
			target := tt.target
			if target == "" {
				target = srv.URL
			}

			reports := make(chan *imagerv1.Report, 1)
			f := startFake(t, func(_ int, st serverStream) error {
				if err := welcome(st, time.Hour); err != nil {
					return err
				}
				err := sendJob(st, &imagerv1.Job{
					JobId:            "job-7",
					Round:            4,
					TargetUrl:        target,
					StartAtUnixNanos: time.Now().Add(20 * time.Millisecond).UnixNano(),
					DurationNanos:    int64(200 * time.Millisecond),
					Count:            count,
					TimeoutNanos:     int64(5 * time.Second),
					Requests:         []*imagerv1.Request{{Method: "GET", Path: "/sum", Query: "a=1&b=2"}},
				})
				if err != nil {
					return err
				}
				return forwardReports(st, reports)
			})
			logs := &proc.Buffer{}
			cfg := testConfig(f.addr, logs)
			reg := withMetrics(t, &cfg)
			startExecutor(t, newExecutor(t, cfg), logs)

			var r *imagerv1.Report
			select {
			case r = <-reports:
			case <-time.After(waitLimit):
				t.Fatalf("no report within %v", waitLimit)
			}
			if r.GetJobId() != "job-7" || r.GetRound() != 4 {
				t.Errorf("report job %q round %d, want job-7 round 4", r.GetJobId(), r.GetRound())
			}
			if r.GetPlanned() != count {
				t.Errorf("planned = %d, want %d", r.GetPlanned(), count)
			}
			if got := tt.want(r); got != count {
				t.Errorf("outcome count = %d, want %d (report %v)", got, count, r)
			}
			rep, err := wire.ReportToTally(r)
			if err != nil {
				t.Fatalf("decode report: %v", err)
			}
			if got := rep.Accounted(); got != rep.Planned {
				t.Errorf("sum of outcomes = %d, want planned %d", got, rep.Planned)
			}
			if gotErr := r.GetError() != ""; gotErr != tt.wantErr {
				t.Errorf("report error = %q, want error: %v", r.GetError(), tt.wantErr)
			}
			if tt.wantErr {
				if n := hits.Load(); n != 0 {
					t.Errorf("target hits = %d, want 0", n)
				}
				return
			}
			if r.GetSent() != count || hits.Load() != count {
				t.Errorf("sent = %d, target hits = %d, want %d each", r.GetSent(), hits.Load(), count)
			}
			if n := rep.Latency.TotalCount(); n != count {
				t.Errorf("latency histogram holds %d samples, want %d", n, count)
			}
			if r.GetResponseBytes() != count*int64(len("hello")) {
				t.Errorf("response bytes = %d, want %d", r.GetResponseBytes(), count*len("hello"))
			}
			if span := rep.LastSend.Sub(rep.FirstSend); span < 150*time.Millisecond {
				t.Errorf("sends spread over %v, want about 200ms (open-loop pacing)", span)
			}
			for name, want := range map[string]float64{
				"imager_executor_jobs_picked_up_total": 1,
				"imager_executor_job_requests_total":   count,
			} {
				if got := gatherValue(t, reg, name); got != want {
					t.Errorf("%s = %v, want %v", name, got, want)
				}
			}
		})
	}
}

func TestReconnectsAfterStreamEnds(t *testing.T) {
	tests := []struct {
		name string
		end  error // what the first session's handler returns
	}{
		{"clean close", nil},
		{"error", status.Error(codes.Unavailable, "orchestrator shutting down")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := startHangingTarget(t)
			second := make(chan struct{})
			heartbeats := make(chan *imagerv1.ExecutorMessage, 100)
			f := startFake(t, func(conn int, st serverStream) error {
				if err := welcome(st, 10*time.Millisecond); err != nil {
					return err
				}
				if conn > 1 {
					close(second)
					return forward(st, heartbeats)
				}
				// First session: leave a request hanging on the target,
				// then end the stream.
				err := sendJob(st, &imagerv1.Job{
					JobId: "hang", TargetUrl: target.url, Count: 3,
					StartAtUnixNanos: time.Now().UnixNano(), DurationNanos: int64(10 * time.Millisecond),
					TimeoutNanos: int64(time.Minute),
					Requests:     []*imagerv1.Request{{Path: "/slow"}},
				})
				if err != nil {
					return err
				}
				<-target.hits
				return tt.end
			})
			logs := &proc.Buffer{}
			startExecutor(t, newExecutor(t, testConfig(f.addr, logs)), logs)

			first := f.nextHello(t).hello
			// The hanging request's one-minute timeout must not hold up the
			// reconnect: ending the session closes the target connections.
			again := f.nextHello(t).hello
			if again.GetExecutorId() != first.GetExecutorId() {
				t.Errorf("second Hello id = %q, want %q", again.GetExecutorId(), first.GetExecutorId())
			}
			await(t, second, "second session")
			await(t, target.gone, "target seeing the hanging request cut off")
			select {
			case m := <-heartbeats:
				if m.GetHeartbeat() == nil {
					t.Errorf("second session got %v, want a Heartbeat (no report of the abandoned job)", m)
				}
			case <-time.After(waitLimit):
				t.Fatalf("no heartbeat on the second session within %v", waitLimit)
			}
			if out := logs.String(); !strings.Contains(out, "level=WARN") || !strings.Contains(out, "reconnecting") {
				t.Errorf("log lacks a WARN about reconnecting; log:\n%s", out)
			}
		})
	}
}

func TestWelcomeTimeout(t *testing.T) {
	f := startFake(t, func(_ int, st serverStream) error {
		<-st.Context().Done()
		return nil
	})
	logs := &proc.Buffer{}
	e := newExecutor(t, testConfig(f.addr, logs))
	e.welcomeTimeout = 30 * time.Millisecond
	startExecutor(t, e, logs)
	f.nextHello(t)
	f.nextHello(t)
	if out := logs.String(); !strings.Contains(out, "no Welcome") {
		t.Errorf("log lacks the missing-Welcome reason; log:\n%s", out)
	}
}

func TestStopsPromptlyWithJobInFlight(t *testing.T) {
	target := startHangingTarget(t)
	f := startFake(t, func(_ int, st serverStream) error {
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		err := sendJob(st, &imagerv1.Job{
			JobId: "hang", TargetUrl: target.url, Count: 5,
			StartAtUnixNanos: time.Now().UnixNano(), DurationNanos: int64(10 * time.Millisecond),
			TimeoutNanos: int64(tally.DefaultTimeout),
			Requests:     []*imagerv1.Request{{Path: "/slow"}},
		})
		if err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	logs := &proc.Buffer{}
	e := startExecutor(t, newExecutor(t, testConfig(f.addr, logs)), logs)
	await(t, target.hits, "a request reaching the target")

	const limit = 2 * time.Second
	stopped := make(chan struct{})
	go func() {
		e.stop()
		close(stopped)
	}()
	select {
	case <-stopped:
	case <-time.After(limit):
		t.Fatalf("Run still running %v after cancellation with a request in flight", limit)
	}
	await(t, target.gone, "target seeing the request cut off")
}
