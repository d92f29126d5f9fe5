package e2e

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/browser"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/results"
)

// checkAccounting asserts planned = sum of outcomes and that the quantiles
// equal those recomputed from the line's own histogram.
func checkAccounting(t *testing.T, what string, c *results.Counts) {
	t.Helper()
	var sum int64
	for _, o := range tally.Outcomes() {
		n, ok := c.Outcomes[o.String()]
		if !ok {
			t.Errorf("%s: outcomes lack %q: %v", what, o, c.Outcomes)
		}
		sum += n
	}
	if sum != c.Planned {
		t.Errorf("%s: outcomes add up to %d, planned %d: %v", what, sum, c.Planned, c.Outcomes)
	}
	h, err := results.DecodeHistogram(c.LatencyHistogram)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := results.QuantilesOf(h); got != c.Latency {
		t.Errorf("%s: quantiles %+v, recomputed from the histogram %+v", what, c.Latency, got)
	}
	if responded := c.Planned - c.Outcomes["dropped"] - c.Outcomes["lost"]; h.TotalCount() != responded {
		t.Errorf("%s: histogram holds %d requests, want the %d that ended", what, h.TotalCount(), responded)
	}
}

func TestResultsFileFromRealRun(t *testing.T) {
	target := startSumservice(t)
	dir := t.TempDir()
	reqs := filepath.Join(dir, "requests.json")
	if err := os.WriteFile(reqs, []byte(`{"method":"GET","path":"/sum","queryString":"a=1&b=2","name":"sum"}
{"method":"GET","path":"/sum","queryString":"a=x","name":"bad input"}
{"method":"GET","path":"/healthz"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.ndjson")
	stdout, stderr, code := cli(t, time.Minute, false, "run", "-target-url="+target, "-request-source-file="+reqs,
		"-rate=30", "-duration=3s", "-out="+out, "-seed=42", "-threshold=p99 < 5s", "-threshold=round: dropped == 0")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Run.Seed != 42 || f.Run.Command != "imager run" || f.Run.Flags["rate"] != "30" || len(f.Run.Thresholds) != 2 {
		t.Errorf("run line %+v", f.Run)
	}
	if len(f.Rounds) != 3 || f.Summary == nil {
		t.Fatalf("%d rounds, summary %v; want 3 and a summary", len(f.Rounds), f.Summary)
	}
	for _, r := range f.Rounds {
		checkAccounting(t, fmt.Sprintf("round %d", r.Round), &r.Counts)
	}
	s := f.Summary
	checkAccounting(t, "summary", &s.Counts)
	if s.Planned != 90 || s.Outcomes["success"] != 60 || s.Outcomes["client_error"] != 30 {
		t.Errorf("summary planned %d outcomes %v; want 90 planned, 60 successes and 30 400s", s.Planned, s.Outcomes)
	}
	if s.StatusCodes["200"] != 60 || s.StatusCodes["400"] != 30 {
		t.Errorf("status codes %v, want 200: 60 and 400: 30", s.StatusCodes)
	}
	names := map[string]results.NameStats{}
	for _, n := range s.Names {
		checkAccounting(t, "name "+n.Name, &n.Counts)
		names[n.Name] = n
	}
	if names["sum"].Outcomes["success"] != 30 || names["bad input"].Outcomes["client_error"] != 30 || len(names) != 2 {
		t.Errorf("per-name results %+v, want sum: 30 successes and bad input: 30 400s", s.Names)
	}
	if !s.Passed || s.Stopped != "completed" || len(s.Thresholds) != 2 || !s.Thresholds[0].Passed || !s.Thresholds[1].Passed {
		t.Errorf("verdict passed=%v stopped=%q thresholds %+v", s.Passed, s.Stopped, s.Thresholds)
	}
	if math.Abs(s.ErrorRate-1.0/3) > 1e-9 {
		t.Errorf("error rate %v, want 1/3", s.ErrorRate)
	}
	for _, want := range []string{"by name", "bad input", "status codes   200 60, 400 30", "PASS  p99 < 5s", "verdict        PASSED"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	checkConnections(t, f, stdout)
}

// checkConnections asserts that a run against a healthy loopback target
// opened at least one connection, at most one per request sent, with no
// failed attempt, that the rounds' connections add up to the summary's,
// and that the text summary shows them.
func checkConnections(t *testing.T, f *results.File, stdout string) {
	t.Helper()
	var opened int64
	for _, r := range f.Rounds {
		c := r.Connections
		if c == nil || c.Failed != 0 || c.Opened < 0 || c.Opened > r.Sent {
			t.Errorf("round %d: connections %+v with %d sent; want 0 to %d opened, none failed", r.Round, c, r.Sent, r.Sent)
			continue
		}
		opened += c.Opened
	}
	c := f.Summary.Connections
	if c == nil || c.Opened < 1 || c.Opened != opened || c.Failed != 0 {
		t.Fatalf("summary connections %+v; want the rounds' %d opened (at least 1), none failed", c, opened)
	}
	if want := fmt.Sprintf("\n  connections    opened %d, failed 0\n", c.Opened); !strings.Contains(stdout, want) {
		t.Errorf("summary lacks %q:\n%s", want, stdout)
	}
}

func TestExitCodesAndThresholds(t *testing.T) {
	target := startSumservice(t)
	base := []string{"run", "-target-url=" + target, "-request-source-type=random-sum", "-rate=20", "-duration=2s"}
	tests := []struct {
		name string
		args []string
		code int
		want []string // in stdout+stderr
	}{
		{"passing thresholds", []string{"-threshold=error_rate <= 0.01", "-threshold=achieved_ratio >= 0.9"}, 0, []string{"verdict        PASSED"}},
		{"failing latency threshold", []string{"-threshold=p50<1us"}, 99, []string{"FAIL  p50<1us  (measured ", "test failed: 1 of 1 thresholds failed: p50<1us"}},
		{"bad expression", []string{"-threshold=p99 < soon"}, 2, []string{`-threshold: threshold "p99 < soon"`}},
		{"unknown metric", []string{"-threshold=latency < 1s"}, 2, []string{`unknown metric "latency"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stdout, stderr, code := cli(t, time.Minute, false, append(base, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, stdout, stderr)
			}
			for _, w := range tt.want {
				if !strings.Contains(stdout+stderr, w) {
					t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", w, stdout, stderr)
				}
			}
		})
	}
}

func TestAllFailedExits99(t *testing.T) {
	// Nothing listens on the port of a closed listener.
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	stdout, stderr, code := cli(t, time.Minute, false, "run", "-target-url="+dead, "-request-source-type=random-sum", "-rate=10", "-duration=1s")
	if code != 99 {
		t.Errorf("exit %d, want 99\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"no request succeeded (10 planned: 10 connection_error)", "connection refused"} {
		if !strings.Contains(stdout+stderr, want) {
			t.Errorf("output lacks %q\nstdout:\n%s\nstderr:\n%s", want, stdout, stderr)
		}
	}
}

func TestAbortOnFailKeepsMeasuredRounds(t *testing.T) {
	// The target answers 200 to its first 40 requests, then 500.
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) > 40 {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	out := filepath.Join(t.TempDir(), "results.ndjson")
	start := time.Now()
	stdout, stderr, code := cli(t, time.Minute, false, "run", "-target-url="+srv.URL+"/x", "-rate=20", "-duration=30s",
		"-threshold=round: error_rate < 0.5", "-abort-on-fail", "-out="+out)
	if code != 99 {
		t.Fatalf("exit %d, want 99\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if took := time.Since(start); took > 15*time.Second {
		t.Errorf("run took %v; -abort-on-fail should end it soon after round 2", took)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rounds) < 3 || f.Summary == nil {
		t.Fatalf("%d rounds and summary %v, want rounds 0-2 and a summary", len(f.Rounds), f.Summary)
	}
	for _, r := range f.Rounds[:2] {
		if r.Outcomes["success"] != 20 {
			t.Errorf("round %d: %v, want 20 successes", r.Round, r.Outcomes)
		}
	}
	s := f.Summary
	th := s.Thresholds[0]
	if s.Stopped != "aborted" || s.Passed || th.Passed || th.Round == nil || *th.Round != 2 || th.Value != 1 {
		t.Errorf("summary stopped=%q passed=%v threshold %+v (round %v), want aborted at round 2 with error_rate 1", s.Stopped, s.Passed, th, th.Round)
	}
	if s.Outcomes["success"] != 40 || s.Outcomes["server_error"] < 20 {
		t.Errorf("summary outcomes %v: the measured rounds must be kept", s.Outcomes)
	}
	if !strings.Contains(stdout, "FAIL  round: error_rate < 0.5  (measured 1 in round 2)") {
		t.Errorf("summary lacks the failed round threshold:\n%s", stdout)
	}
}

func TestOrchestratorSummaryAndVerdict(t *testing.T) {
	target := startSumservice(t)
	out := filepath.Join(t.TempDir(), "results.ndjson")
	grpcPort := proc.FreePort(t)
	var stdout proc.Buffer
	orch := proc.Options{Stdout: &stdout}.Start(t, bin["orchestrator"], "-target-mode=url", "-target-url="+target,
		"-request-source-type=random-sum", "-rate=20", "-duration=2s", "-listen-port=0",
		fmt.Sprintf("-grpc-port=%d", grpcPort), "-log-format=json", "-out="+out, "-threshold=p99 < 1us")
	proc.Start(t, bin["executor"], fmt.Sprintf("-orchestrator=127.0.0.1:%d", grpcPort), "-id=exec-a",
		fmt.Sprintf("-metrics-port=%d", proc.FreePort(t)), "-log-format=json")
	err := orch.Wait(t, time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 99 {
		t.Fatalf("orchestrator exit %v, want 99\n%s", err, orch.RawLog())
	}
	text := stdout.String()
	for _, want := range []string{"achieved rate  ", "dropped 0", "\n  latency        p50 ", "p99.9 ", "FAIL  p99 < 1us", "verdict        FAILED"} {
		if !strings.Contains(text, want) {
			t.Errorf("orchestrator summary lacks %q:\n%s", want, text)
		}
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Run.Command != "orchestrator" || len(f.Rounds) != 2 || f.Summary == nil || f.Summary.Passed || f.Summary.Outcomes["success"] != 40 {
		t.Fatalf("results file: run %+v, %d rounds, summary %+v", f.Run, len(f.Rounds), f.Summary)
	}
	// The executor's connections come over the control plane.
	checkConnections(t, f, text)
}

func TestStoppedRunsFollowTheirVerdict(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	dead := srv.URL
	srv.Close()
	// imager run: Ctrl-C after a failing round exits 99, not 130.
	stdout, stderr, code := cli(t, time.Minute, true, "run", "-target-url="+dead, "-request-source-type=random-sum", "-rate=10")
	if code != 99 || !strings.Contains(stdout, "summary (interrupted)") || !strings.Contains(stdout, "verdict        FAILED") {
		t.Errorf("interrupted failing run: exit %d, want 99\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	// The orchestrator: SIGTERM ends a long run; it exits 99 when what it
	// measured failed and 0 when it passed.
	target := startSumservice(t)
	for _, tt := range []struct {
		target string
		code   int
	}{{dead, 99}, {target, 0}} {
		grpcPort := proc.FreePort(t)
		var out proc.Buffer
		orch := proc.Options{Stdout: &out}.Start(t, bin["orchestrator"], "-target-mode=url", "-target-url="+tt.target,
			"-request-source-type=random-sum", "-rate=10", "-listen-port=0", fmt.Sprintf("-grpc-port=%d", grpcPort), "-log-format=json")
		proc.Start(t, bin["executor"], fmt.Sprintf("-orchestrator=127.0.0.1:%d", grpcPort), "-id=e",
			fmt.Sprintf("-metrics-port=%d", proc.FreePort(t)), "-log-format=json")
		orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
		err := orch.Stop(t, 30*time.Second)
		code := 0
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			code = exit.ExitCode()
		}
		if code != tt.code || !strings.Contains(out.String(), "summary (interrupted)") {
			t.Errorf("orchestrator against %s stopped: exit %v (%d), want %d\n%s", tt.target, err, code, tt.code, out.String())
		}
	}
}

func TestBadScenarioThresholdIsAUsageError(t *testing.T) {
	scenario := filepath.Join(t.TempDir(), "s.lua")
	if err := os.WriteFile(scenario, []byte("thresholds = {\"p99 < 250\"}\nfunction request() return {path = '/'} end\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := cli(t, time.Minute, false, "run", "-target-url=http://127.0.0.1:1", "-scenario="+scenario, "-rate=1", "-duration=1s")
	if code != 2 || !strings.Contains(stderr, scenario) || !strings.Contains(stderr, `"p99 < 250"`) {
		t.Errorf("exit %d, stderr %q; want 2 naming the scenario and the expression", code, stderr)
	}
}

func TestKilledRunKeepsItsRoundsAndReports(t *testing.T) {
	target := startSumservice(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "killed.ndjson")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin["imager"], "run", "-target-url="+target, "-request-source-type=random-sum",
		"-rate=20", "-duration=60s", "-out="+out)
	var stdout proc.Buffer
	cmd.Stdout = &stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stdout.String(), "round   1") {
		if time.Now().After(deadline) {
			t.Fatalf("no round 1 within 30s:\n%s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Summary != nil || len(f.Rounds) < 2 {
		t.Fatalf("killed run's file: %d rounds, summary %v; want the rounds printed and no summary", len(f.Rounds), f.Summary)
	}
	for _, r := range f.Rounds[:2] {
		checkAccounting(t, fmt.Sprintf("round %d", r.Round), &r.Counts)
	}
	page := filepath.Join(dir, "killed.html")
	rout, rerr, code := cli(t, time.Minute, false, "report", "-o", page, out)
	if code != 0 {
		t.Fatalf("imager report exit %d\n%s\n%s", code, rout, rerr)
	}
	html, err := os.ReadFile(page)
	if err != nil || !strings.Contains(string(html), "cut off") {
		t.Errorf("report of a killed run (%v) does not say it was cut off", err)
	}
}

func TestReportOfARealRunInChromium(t *testing.T) {
	chromium := browser.Find(t)
	target := startSumservice(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "run.ndjson")
	if _, stderr, code := cli(t, time.Minute, false, "run", "-target-url="+target, "-request-source-type=random-sum",
		"-load-calculator=step", "-min-rps=20", "-max-rps=60", "-step-rps=20", "-duration=3s", "-out="+out,
		"-threshold=p99 < 5s"); code != 0 {
		t.Fatalf("run exit %d: %s", code, stderr)
	}
	if _, stderr, code := cli(t, time.Minute, false, "report", out); code != 0 {
		t.Fatalf("report exit %d: %s", code, stderr)
	}
	dom := string(browser.Run(t, chromium, "--dump-dom", "file://"+filepath.Join(dir, "run.html")))
	// url mode has no target usage, so four charts, each with data drawn.
	for _, chart := range []string{"rate", "latency", "outcomes", "distribution"} {
		i := strings.Index(dom, `data-chart="`+chart+`"`)
		if i < 0 {
			t.Errorf("rendered report has no %s chart", chart)
			continue
		}
		end := strings.Index(dom[i:], "</svg>")
		if end < 0 || !regexp.MustCompile(`<(path|polyline|rect|circle)[^>]*>`).MatchString(dom[i:i+end]) {
			t.Errorf("the %s chart draws nothing", chart)
		}
	}
	for _, want := range []string{"PASSED", "p99 &lt; 5s", "random-sum"} {
		if !strings.Contains(dom, want) {
			t.Errorf("rendered report lacks %q", want)
		}
	}
}
