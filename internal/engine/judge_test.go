package engine

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/check"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/types"
)

// checkTarget answers by path: the responses the checks tests judge.
func checkTarget(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/good":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","data":{"items":[{"id":7}]}}`))
	case "/overloaded":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"error":"overloaded"}`))
	case "/empty":
		w.Header().Set("Content-Type", "application/json")
	case "/malformed":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","data":{"items":[{"id":7}]`))
	case "/wrong-header":
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte(`{"status":"ok","data":{"items":[{"id":7}]}}`))
	case "/slow":
		time.Sleep(60 * time.Millisecond)
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	case "/big":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok","pad":"` + strings.Repeat("x", 100_000) + `"}`))
	case "/chunked":
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"status":"ok",`))
		w.(http.Flusher).Flush()
		_, _ = w.Write([]byte(`"data":{"items":[{"id":7}]}}`))
	case "/missing":
		http.Error(w, `{"error":"no such thing"}`, http.StatusNotFound)
	case "/unavailable":
		http.Error(w, "busy", http.StatusServiceUnavailable)
	case "/broken":
		http.Error(w, "boom", http.StatusInternalServerError)
	}
}

// expectOf parses an expect object, failing the test when it does not.
func expectOf(t testing.TB, js string) *types.Expect {
	t.Helper()
	e := new(types.Expect)
	if err := json.Unmarshal([]byte(js), e); err != nil {
		t.Fatalf("expect %s: %v", js, err)
	}
	return e
}

// checkCase is a request with checks and what its responses come to.
type checkCase struct {
	name, path, expect string
	want               tally.Outcome
	// passed and failed are the checks (by name, without the "c:" prefix)
	// counted as passed and failed in every response; others ran not.
	passed, failed []string
}

var checkCases = []checkCase{
	{"status ok", "/good", `{"status":"200-299"}`, tally.Success, []string{"status"}, nil},
	{"contains ok", "/good", `{"body_contains":"\"ok\""}`, tally.Success, []string{"body_contains"}, nil},
	{"contains on error body", "/overloaded", `{"body_contains":"\"ok\""}`, tally.CheckFailed, nil, []string{"body_contains"}},
	{"contains on empty body", "/empty", `{"body_contains":"\"ok\""}`, tally.CheckFailed, nil, []string{"body_contains"}},
	{"regex ok", "/good", `{"body_regex":"\"id\":[0-9]+"}`, tally.Success, []string{"body_regex"}, nil},
	{"regex on error body", "/overloaded", `{"body_regex":"\"id\":[0-9]+"}`, tally.CheckFailed, nil, []string{"body_regex"}},
	{"json ok", "/good", `{"json":{"data.items[0].id":7,"status":"ok"}}`, tally.Success, []string{"json:data.items[0].id", "json:status"}, nil},
	{"json chunked ok", "/chunked", `{"json":{"data.items[0].id":7}}`, tally.Success, []string{"json:data.items[0].id"}, nil},
	{"json on error body", "/overloaded", `{"json":{"status":"ok"}}`, tally.CheckFailed, nil, []string{"json:status"}},
	{"json on empty body", "/empty", `{"json":{"status":"ok"}}`, tally.CheckFailed, nil, []string{"json:status"}},
	{"json on malformed body", "/malformed", `{"json":{"status":"ok"}}`, tally.CheckFailed, nil, []string{"json:status"}},
	{"header ok", "/good", `{"header":{"content-type":"application/json","Date":true}}`, tally.Success, []string{"header:Content-Type", "header:Date"}, nil},
	{"wrong header", "/wrong-header", `{"header":{"Content-Type":"application/json","X-Absent":true}}`, tally.CheckFailed, nil, []string{"header:Content-Type", "header:X-Absent"}},
	{"latency ok", "/good", `{"max_latency":"5s"}`, tally.Success, []string{"max_latency"}, nil},
	{"slow", "/slow", `{"max_latency":"30ms","body_contains":"ok"}`, tally.CheckFailed, []string{"body_contains"}, []string{"max_latency"}},
	{"size ok", "/good", `{"max_body_bytes":1000}`, tally.Success, []string{"max_body_bytes"}, nil},
	{"oversize", "/big", `{"max_body_bytes":1000,"body_contains":"\"ok\""}`, tally.CheckFailed, []string{"body_contains"}, []string{"max_body_bytes"}},
	{"oversize json", "/big", `{"max_body_bytes":1000,"json":{"status":"ok"}}`, tally.CheckFailed, nil, []string{"max_body_bytes", "json:status"}},
	{"big body read whole", "/big", `{"json":{"status":"ok"},"body_regex":"x\"}$"}`, tally.Success, []string{"json:status", "body_regex"}, nil},
	{"404 expected", "/missing", `{"status":[404],"body_contains":"no such"}`, tally.Success, []string{"status", "body_contains"}, nil},
	{"404 expected, body wrong", "/missing", `{"status":[404],"body_contains":"\"ok\""}`, tally.CheckFailed, []string{"status"}, []string{"body_contains"}},
	{"503 not expected", "/unavailable", `{"status":[200],"body_contains":"busy"}`, tally.Timeout, nil, []string{"status"}},
	{"500 without status check", "/broken", `{"body_contains":"boom"}`, tally.ServerError, nil, nil},
	{"200 not expected", "/good", `{"status":[201],"body_contains":"ok"}`, tally.CheckFailed, nil, []string{"status"}},
}

// runChecks runs n requests of c against url and checks the outcome and
// the per-check counts.
func runChecks(t *testing.T, r *Runner, url string, tc *tally.TLSConfig, c checkCase) {
	const n = 6
	rep := r.Run(context.Background(), tally.Job{
		ID: "checks", TargetURL: url, StartAt: time.Now(), Duration: 30 * time.Millisecond, Count: n,
		Timeout: 5 * time.Second, TLS: tc,
		Requests: []types.RequestSpec{{Path: c.path, Name: "c", Expect: expectOf(t, c.expect)}},
	})
	if rep.Err != "" {
		t.Fatalf("report error: %s", rep.Err)
	}
	checkAccounted(t, rep)
	if got := rep.Counts.Of(c.want); got != n {
		t.Errorf("%d of %d requests are %s; counts %+v, errors %v", got, n, c.want, rep.Counts, rep.Errors)
	}
	if nr := rep.Names["c"]; nr == nil || nr.Counts.Of(c.want) != n {
		t.Errorf("per-name counts %+v, want %d %s", nr, n, c.want)
	}
	want := map[string]tally.CheckCount{}
	for _, name := range c.passed {
		want["c:"+name] = tally.CheckCount{Passed: n}
	}
	for _, name := range c.failed {
		want["c:"+name] = tally.CheckCount{Failed: n}
	}
	if len(rep.Checks) != len(want) {
		t.Errorf("checks counted %v, want %v", checkCounts(rep), want)
	}
	for name, w := range want {
		if got := rep.Checks[name]; got == nil || *got != w {
			t.Errorf("check %s: %+v, want %+v", name, got, w)
		}
	}
}

// checkCounts returns the check counts of rep by value, for messages.
func checkCounts(rep *tally.Report) map[string]tally.CheckCount {
	out := make(map[string]tally.CheckCount, len(rep.Checks))
	for k, v := range rep.Checks {
		out[k] = *v
	}
	return out
}

func TestChecksPlainHTTP(t *testing.T) {
	url := target(t, checkTarget)
	r := NewRunner(RunnerConfig{MaxInFlight: 20})
	for _, c := range checkCases {
		t.Run(c.name, func(t *testing.T) { runChecks(t, r, url, nil, c) })
	}
}

func TestChecksHTTPS(t *testing.T) {
	srv := tlstest.NewServer(t, tlstest.SelfSigned(t), nil, http.HandlerFunc(checkTarget))
	r := NewRunner(RunnerConfig{MaxInFlight: 20})
	tc := &tally.TLSConfig{InsecureSkipVerify: true}
	for _, c := range checkCases {
		t.Run(c.name, func(t *testing.T) { runChecks(t, r, srv.URL, tc, c) })
	}
}

// TestChecksAtFixedErrorRate sends requests to a target whose every tenth
// answer is an error body behind a 200: exactly a tenth fail their check,
// and the per-check and per-name counts say so.
func TestChecksAtFixedErrorRate(t *testing.T) {
	var n atomic.Int64
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1)%10 == 0 {
			_, _ = w.Write([]byte(`{"error":"overloaded"}`))
			return
		}
		_, _ = w.Write([]byte(`{"status":"ok"}`))
	})
	plain := target(t, h)
	tlsURL := tlstest.NewServer(t, tlstest.SelfSigned(t), nil, h).URL
	r := NewRunner(RunnerConfig{MaxInFlight: 1000})
	e := expectOf(t, `{"status":"200-299","json":{"status":"ok"}}`)
	for _, url := range []string{plain, tlsURL} {
		n.Store(0)
		const count = 400
		rep := r.Run(context.Background(), tally.Job{
			ID: "rate", TargetURL: url, StartAt: time.Now(), Duration: 400 * time.Millisecond, Count: count,
			Timeout: 5 * time.Second, TLS: &tally.TLSConfig{InsecureSkipVerify: true},
			Requests: []types.RequestSpec{{Path: "/", Name: "api", Expect: e}},
		})
		checkAccounted(t, rep)
		// A slow machine may drop a few requests: every answer sent is
		// judged, and every tenth answered fails.
		sent := n.Load()
		if rep.Sent != sent || sent < count/2 {
			t.Fatalf("%s: %d sent, %d answered, of %d; counts %+v", url, rep.Sent, sent, count, rep.Counts)
		}
		bad, good := sent/10, sent-sent/10
		if rep.Success != good || rep.CheckFailed != bad {
			t.Errorf("%s: %d successes and %d check failures of %d answered, want %d and %d; counts %+v", url, rep.Success, rep.CheckFailed, sent, good, bad, rep.Counts)
		}
		if c := rep.Checks["api:json:status"]; c == nil || c.Passed != good || c.Failed != bad {
			t.Errorf("%s: check api:json:status counted %+v", url, c)
		}
		if c := rep.Checks["api:status"]; c == nil || c.Passed != sent || c.Failed != 0 {
			t.Errorf("%s: check api:status counted %+v", url, c)
		}
		if nr := rep.Names["api"]; nr == nil || nr.CheckFailed != bad || nr.Success != good {
			t.Errorf("%s: per-name counts %+v", url, nr)
		}
	}
}

// TestChecksRefuseJob checks that a job whose checks do not compile, or
// that came off the wire invalid, is refused as a whole: nothing is
// sent and every request counts as lost, with the reason.
func TestChecksRefuseJob(t *testing.T) {
	var hits atomic.Int64
	url := target(t, func(http.ResponseWriter, *http.Request) { hits.Add(1) })
	r := NewRunner(RunnerConfig{MaxInFlight: 10})
	bad := &types.Expect{BodyRegex: "a(b"}
	tests := []struct {
		name string
		job  tally.Job
		want string
	}{
		{"bad regex", tally.Job{Requests: []types.RequestSpec{{Path: "/"}, {Path: "/x", Expect: bad}}}, "request 2: response checks: expect.body_regex"},
		{"invalid on the wire", tally.Job{Requests: []types.RequestSpec{{Path: "/"}}, Invalid: errors.New("request 1: response checks: bad")}, "request 1: response checks: bad"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := tt.job
			job.TargetURL, job.StartAt, job.Duration, job.Count = url, time.Now(), 10*time.Millisecond, 5
			rep := r.Run(context.Background(), job)
			if !strings.Contains(rep.Err, tt.want) {
				t.Errorf("report error %q, want it to contain %q", rep.Err, tt.want)
			}
			if rep.Lost != 5 || hits.Load() != 0 {
				t.Errorf("lost %d of 5, %d sent", rep.Lost, hits.Load())
			}
		})
	}
}

// mustSet compiles the checks js.
func mustSet(t testing.TB, js string) *check.Set {
	t.Helper()
	s, err := check.Compile("", *expectOf(t, js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}
