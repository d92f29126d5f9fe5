package engine

import (
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func TestRunBreakdown(t *testing.T) {
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	})
	r := NewRunner(RunnerConfig{MaxInFlight: 100})
	rep := r.Run(context.Background(), tally.Job{
		TargetURL: url, StartAt: time.Now(), Duration: 30 * time.Millisecond, Count: 6, Timeout: time.Second,
		Requests: []types.RequestSpec{{Path: "/", Name: "home"}, {Path: "/missing", Name: "missing"}, {Path: "/"}},
	})
	checkAccounted(t, rep)
	if rep.StatusCodes[200] != 4 || rep.StatusCodes[404] != 2 || len(rep.StatusCodes) != 2 {
		t.Errorf("status codes %v, want 200: 4 and 404: 2", rep.StatusCodes)
	}
	if len(rep.Errors) != 0 {
		t.Errorf("errors %v, want none: a 404 is a response, not a transport error", rep.Errors)
	}
	home, missing := rep.Names["home"], rep.Names["missing"]
	if len(rep.Names) != 2 || home == nil || missing == nil {
		t.Fatalf("names %v, want home and missing (the unnamed request has none)", rep.Names)
	}
	if home.Planned != 2 || home.Success != 2 || home.Latency.TotalCount() != 2 ||
		missing.Planned != 2 || missing.ClientErrors != 2 || missing.Sent != 2 {
		t.Errorf("home %+v, missing %+v; want 2 successes and 2 client errors", home.Counts, missing.Counts)
	}
}

func TestRunErrorReasons(t *testing.T) {
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := "http://" + closed.Addr().String()
	closed.Close()
	r := NewRunner(RunnerConfig{MaxInFlight: 100})
	rep := r.Run(context.Background(), tally.Job{
		TargetURL: refused, StartAt: time.Now(), Duration: 10 * time.Millisecond, Count: 3, Timeout: time.Second,
		Requests: []types.RequestSpec{{Path: "/", Name: "home"}},
	})
	if rep.ConnErrors != 3 || len(rep.Errors) != 1 {
		t.Fatalf("counts %+v, errors %v; want 3 connection errors with one reason", rep.Counts, rep.Errors)
	}
	for reason, n := range rep.Errors {
		if n != 3 || !strings.Contains(reason, "connection refused") {
			t.Errorf("reason %q × %d, want connection refused × 3", reason, n)
		}
	}
	if nr := rep.Names["home"]; nr == nil || nr.ConnErrors != 3 || nr.Planned != 3 {
		t.Errorf("name home = %+v, want 3 planned, 3 connection errors", nr)
	}

	slow := target(t, func(w http.ResponseWriter, r *http.Request) { time.Sleep(200 * time.Millisecond) })
	rep = r.Run(context.Background(), tally.Job{
		TargetURL: slow, StartAt: time.Now(), Duration: 10 * time.Millisecond, Count: 2, Timeout: 20 * time.Millisecond,
		Requests: []types.RequestSpec{{Path: "/"}},
	})
	if rep.Timeouts != 2 || rep.Errors["timeout: no response headers within 20ms"] != 2 {
		t.Errorf("counts %+v, errors %v; want 2 timeouts with the timeout named", rep.Counts, rep.Errors)
	}
}
