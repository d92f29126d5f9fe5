package engine

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// target starts a loopback HTTP server running h and stops it with the test.
func target(t *testing.T, h http.HandlerFunc) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func checkAccounted(t *testing.T, rep *tally.Report) {
	t.Helper()
	if got := rep.Accounted(); got != rep.Planned {
		t.Fatalf("accounted %d requests, planned %d: %+v", got, rep.Planned, rep.Counts)
	}
}

func TestRunOutcomes(t *testing.T) {
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		if r.URL.Path == "/slow" {
			time.Sleep(300 * time.Millisecond)
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte("hello"))
	})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()

	tests := []struct {
		name    string
		target  string
		req     types.RequestSpec
		timeout time.Duration
		want    func(tally.Counts) int64
	}{
		{"2xx", url, types.RequestSpec{Path: "/", QueryString: "code=200"}, time.Second, func(c tally.Counts) int64 { return c.Success }},
		{"3xx", url, types.RequestSpec{Path: "/", QueryString: "code=304"}, time.Second, func(c tally.Counts) int64 { return c.Success }},
		{"4xx", url, types.RequestSpec{Path: "/", QueryString: "code=404"}, time.Second, func(c tally.Counts) int64 { return c.ClientErrors }},
		{"5xx", url, types.RequestSpec{Path: "/", QueryString: "code=500"}, time.Second, func(c tally.Counts) int64 { return c.ServerErrors }},
		{"503", url, types.RequestSpec{Path: "/", QueryString: "code=503"}, time.Second, func(c tally.Counts) int64 { return c.Timeouts }},
		{"504", url, types.RequestSpec{Path: "/", QueryString: "code=504"}, time.Second, func(c tally.Counts) int64 { return c.Timeouts }},
		{"no headers in time", url, types.RequestSpec{Path: "/slow", QueryString: "code=200"}, 50 * time.Millisecond, func(c tally.Counts) int64 { return c.Timeouts }},
		{"refused", refused, types.RequestSpec{Path: "/"}, time.Second, func(c tally.Counts) int64 { return c.ConnErrors }},
	}
	r := NewRunner(RunnerConfig{MaxInFlight: 100})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := r.Run(context.Background(), tally.Job{
				TargetURL: tt.target, StartAt: time.Now(), Duration: 20 * time.Millisecond,
				Count: 4, Timeout: tt.timeout, Requests: []types.RequestSpec{tt.req},
			})
			if rep.Err != "" {
				t.Fatalf("report error: %s", rep.Err)
			}
			if got := tt.want(rep.Counts); got != 4 {
				t.Errorf("got %d in the expected outcome, want 4; counts %+v", got, rep.Counts)
			}
			checkAccounted(t, rep)
			if got := rep.Latency.TotalCount(); got != 4 {
				t.Errorf("latency samples = %d, want 4", got)
			}
		})
	}
}

func TestRunPacesOpenLoop(t *testing.T) {
	var mu sync.Mutex
	var arrivals []time.Time
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	})
	r := NewRunner(RunnerConfig{})
	start := time.Now().Add(50 * time.Millisecond)
	const n, dur = 200, 500 * time.Millisecond
	rep := r.Run(context.Background(), tally.Job{
		TargetURL: url, StartAt: start, Duration: dur, Count: n,
		Requests: []types.RequestSpec{{Method: "GET", Path: "/a"}, {Method: "POST", Path: "/b", Body: "x"}},
	})
	checkAccounted(t, rep)
	if rep.Success != n || rep.Sent != n {
		t.Fatalf("success %d sent %d, want %d: %+v", rep.Success, rep.Sent, n, rep.Counts)
	}
	mu.Lock()
	defer mu.Unlock()
	first, last := arrivals[0], arrivals[0]
	for _, a := range arrivals {
		if a.Before(first) {
			first = a
		}
		if a.After(last) {
			last = a
		}
	}
	if first.Before(start) {
		t.Errorf("first request arrived %v before its start time", start.Sub(first))
	}
	// The last request is due at start + (n-1)/n * dur; generous bounds
	// because this machine is shared.
	wantLast := start.Add(dur * (n - 1) / n)
	if last.Before(wantLast) {
		t.Errorf("last arrival %v before its due time (%v early)", last, wantLast.Sub(last))
	}
	if spread := last.Sub(first); spread < dur*8/10 || spread > dur*2 {
		t.Errorf("arrivals spread over %v, want about %v", spread, dur)
	}
}

// A job whose connections are all busy queues the requests that fall due;
// when a connection frees, the backlog beyond the bound of MaxInFlight
// queued-plus-in-flight requests (counting the job's other connections as
// in flight) is dropped, oldest first, and the rest is sent.
func TestRunDropsAtInFlightCap(t *testing.T) {
	release := make(chan struct{})
	var arrived atomic.Int64
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		arrived.Add(1)
		<-release
	})
	obs := &countingObserver{}
	r := NewRunner(RunnerConfig{MaxInFlight: 5, Connections: 5, Observer: obs})
	done := make(chan *tally.Report)
	start := time.Now()
	go func() {
		done <- r.Run(context.Background(), tally.Job{
			TargetURL: url, StartAt: start, Duration: 100 * time.Millisecond, Count: 50,
			Timeout: 10 * time.Second, Requests: []types.RequestSpec{{Path: "/"}},
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for arrived.Load() < 5 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// Every connection is busy and the schedule has ended: 45 requests
	// wait. No more may arrive while the connections are held.
	for time.Since(start) < 150*time.Millisecond {
		time.Sleep(5 * time.Millisecond)
	}
	if n := arrived.Load(); n != 5 {
		t.Errorf("%d requests arrived over 5 connections, want 5", n)
	}
	close(release)
	rep := <-done
	checkAccounted(t, rep)
	// At the release the backlog of 45 is cut to the bound: 5 less the
	// 4 other connections leaves 1 queued request, sent; 44 are dropped.
	if rep.Sent != 6 || rep.Dropped != 44 || rep.Success != 6 {
		t.Errorf("sent %d dropped %d success %d, want 6, 44, 6", rep.Sent, rep.Dropped, rep.Success)
	}
	if n := obs.n[tally.Dropped].Load(); n != 44 {
		t.Errorf("observer saw %d dropped, want 44", n)
	}
	if n := rep.Errors["dropped: in-flight cap of 5 reached"]; n != 44 || len(rep.Errors) != 1 {
		t.Errorf("reasons %v, want the in-flight cap for the 44 dropped", rep.Errors)
	}
	if rep.Dials != 5 {
		t.Errorf("dials %d, want 5 (one per connection)", rep.Dials)
	}
}

type countingObserver struct{ n [tally.Lost + 1]atomic.Int64 }

func (c *countingObserver) ObserveRequest(s *tally.Sample) { c.n[s.Outcome].Add(1) }

func TestLatencyFromIntendedTime(t *testing.T) {
	url := target(t, func(w http.ResponseWriter, r *http.Request) {})
	r := NewRunner(RunnerConfig{})
	// A job that starts 300ms late: every request is overdue, so latency
	// includes the lateness while service time does not.
	rep := r.Run(context.Background(), tally.Job{
		TargetURL: url, StartAt: time.Now().Add(-300 * time.Millisecond), Duration: 10 * time.Millisecond,
		Count: 10, Requests: []types.RequestSpec{{Path: "/"}},
	})
	checkAccounted(t, rep)
	if p50 := tally.Percentile(rep.Latency, 50); p50 < 280*time.Millisecond {
		t.Errorf("p50 latency %v, want at least 280ms (measured from the intended time)", p50)
	}
	if p50 := tally.Percentile(rep.Service, 50); p50 > 200*time.Millisecond {
		t.Errorf("p50 service time %v, want well under the 300ms lateness", p50)
	}
}

func TestRunCancelCountsLost(t *testing.T) {
	url := target(t, func(w http.ResponseWriter, r *http.Request) {})
	r := NewRunner(RunnerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	rep := r.Run(ctx, tally.Job{
		TargetURL: url, StartAt: time.Now(), Duration: 10 * time.Second, Count: 100,
		Requests: []types.RequestSpec{{Path: "/"}},
	})
	checkAccounted(t, rep)
	if rep.Planned > 10 || rep.Sent == 0 || rep.Sent != rep.Planned {
		t.Errorf("planned %d sent %d, want the few requests due before the stop, all sent", rep.Planned, rep.Sent)
	}
}

func TestRunBadTarget(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	for _, target := range []string{"ftp://x", "not a url", "/relative"} {
		rep := r.Run(context.Background(), tally.Job{TargetURL: target, Count: 3, Requests: []types.RequestSpec{{Path: "/"}}})
		if rep.Err == "" || rep.Lost != 3 {
			t.Errorf("target %q: err %q lost %d, want an error and 3 lost", target, rep.Err, rep.Lost)
		}
	}
}

func TestCloseConnectionsAbortsInFlight(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	url := target(t, func(w http.ResponseWriter, r *http.Request) { <-release })
	r := NewRunner(RunnerConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan *tally.Report)
	go func() {
		done <- r.Run(ctx, tally.Job{TargetURL: url, StartAt: time.Now(), Count: 3, Requests: []types.RequestSpec{{Path: "/"}}})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for r.InFlight() < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	// A request counts as in flight before its connection is dialed, so a
	// connection may open just after a close: close until Run returns,
	// as an executor's drain does.
	sweep := time.NewTicker(10 * time.Millisecond)
	defer sweep.Stop()
	giveUp := time.After(10 * time.Second)
	for {
		r.CloseConnections()
		select {
		case rep := <-done:
			checkAccounted(t, rep)
			if rep.Lost != 3 {
				t.Errorf("lost %d, want 3 aborted requests: %+v", rep.Lost, rep.Counts)
			}
			return
		case <-sweep.C:
		case <-giveUp:
			t.Fatal("Run did not return after CloseConnections")
		}
	}
}

func TestRender(t *testing.T) {
	got, err := Render("http://127.0.0.1:8080/", types.RequestSpec{
		Method: "POST", Path: "/submit", QueryString: "a=1",
		Headers: map[string][]string{"X-A": {"1", "2"}, "Content-Type": {"application/json"}},
		Body:    `{"x":1}`,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"POST /submit?a=1 HTTP/1.1\r\n", "Host: 127.0.0.1:8080\r\n", "Content-Type: application/json\r\n",
		"User-Agent: imager\r\n", "Content-Length: 7\r\n", "X-A: 1\r\nX-A: 2\r\n", "\r\n\r\n{\"x\":1}"} {
		if !strings.Contains(got, want) {
			t.Errorf("Render() = %q, want it to contain %q", got, want)
		}
	}
	if _, err := Render("not a url", types.RequestSpec{Path: "/"}); err == nil {
		t.Error("Render with a bad target: want an error")
	}
}
