package app_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
)

// okServer is a target that answers 200 to everything.
func okServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTerminationLogHoldsTheVerdictFirst(t *testing.T) {
	srv := okServer(t)
	path := filepath.Join(t.TempDir(), "termination-log")
	_, err := runLocal(t, srv.URL, "-termination-log="+path, "-threshold=p99 < 1ns", "-threshold=error_rate <= 0.01")
	var verdict *app.VerdictError
	if !errors.As(err, &verdict) {
		t.Fatalf("Run = %v, want a failed verdict (p99 < 1ns)", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	lines := strings.Split(text, "\n")
	if !strings.HasPrefix(strings.TrimSpace(lines[0]), "verdict        FAILED: 1 of 2 thresholds failed: p99 < 1ns") {
		t.Errorf("first line %q, want the failed verdict", lines[0])
	}
	for _, want := range []string{"achieved rate  ", "outcomes       success 20,", "latency        p50 ",
		"thresholds     FAIL  p99 < 1ns", "PASS  error_rate <= 0.01"} {
		if !strings.Contains(text, want) {
			t.Errorf("termination log lacks %q:\n%s", want, text)
		}
	}
	if len(b) > 4096 || strings.Contains(text, "truncated") {
		t.Errorf("termination log is %d bytes (truncated: %v), want a short untruncated text", len(b), strings.Contains(text, "truncated"))
	}
}

func TestTerminationLogFitsIn4KB(t *testing.T) {
	srv := okServer(t)
	path := filepath.Join(t.TempDir(), "termination-log")
	args := []string{"-termination-log=" + path}
	for i := range 120 {
		args = append(args, "-threshold=p99 < "+strconv.Itoa(10000+i)+"ms")
	}
	if _, err := runLocal(t, srv.URL, args...); err != nil {
		t.Fatalf("Run = %v, want a passed run", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if len(b) > 4096 || len(b) < 3500 {
		t.Errorf("termination log is %d bytes, want close to but at most 4096", len(b))
	}
	if !strings.HasPrefix(strings.TrimSpace(text), "verdict        PASSED\n") {
		t.Errorf("termination log does not start with the verdict:\n%.200s", text)
	}
	if !strings.HasSuffix(text, "… truncated: the full summary is in the logs and the -out file\n") {
		t.Errorf("termination log does not end with the truncation marker:\n…%s", text[max(0, len(text)-200):])
	}
	// Every line before the marker is whole: a threshold line ends with
	// its measured value.
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if last := lines[len(lines)-2]; !strings.HasSuffix(last, "ms)") {
		t.Errorf("line before the marker is cut: %q", last)
	}
}

func TestTerminationLogUnwritableKeepsTheVerdict(t *testing.T) {
	srv := okServer(t)
	// A directory cannot be written as a file; its parent exists, so the
	// flag is valid and the failure only shows when the run ends.
	dir := t.TempDir()
	if _, err := runLocal(t, srv.URL, "-termination-log="+dir); err != nil {
		t.Fatalf("Run = %v, want the passed verdict despite the unwritable termination log", err)
	}
}

func TestOutputFlagsValidated(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir", "termination-log")
	_, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=http://127.0.0.1:1", "-listen-port=0",
		"-termination-log=" + missing, "-results-linger=1m"})
	if err == nil {
		t.Fatal("ParseConfig: nil error, want both problems")
	}
	for _, want := range []string{"-termination-log " + missing, "-results-linger needs -listen-port"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
}

// lingerRun starts a run serving HTTP on a loopback listener with
// -results-linger=30s and the extra args. It returns the base URL, the
// cancel of the run's context and the channel Run's error arrives on;
// ended, when not nil, is closed when the test ended.
func lingerRun(t *testing.T, target string, reg *prometheus.Registry, ended chan struct{}, args ...string) (string, context.CancelFunc, <-chan error) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	cfg, err := app.ParseConfig(append([]string{
		"-target-mode=url", "-target-url=" + target, "-listen-port=" + strconv.Itoa(port), "-grpc-port=0",
		"-rate=20", "-duration=1s", "-round-interval=500ms", "-results-linger=30s",
	}, args...))
	if err != nil {
		lis.Close()
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		opts := app.RunOptions{Logger: discard(), LocalExecutors: 1, HTTPListener: lis, Registry: reg}
		if ended != nil {
			opts.OnSummary = func(manager.Summary) { close(ended) }
		}
		done <- app.Run(ctx, cfg, opts)
	}()
	return "http://" + lis.Addr().String(), cancel, done
}

// get fetches url and returns its status, content type and body.
func get(t *testing.T, url string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), b
}

// waitReturn waits for Run to return after its context was cancelled.
func waitReturn(t *testing.T, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return within 5s of the stop during the linger")
		return nil
	}
}

func TestResultsServedDuringTheLinger(t *testing.T) {
	srv := okServer(t)
	out := filepath.Join(t.TempDir(), "results.ndjson")
	base, cancel, done := lingerRun(t, srv.URL, nil, nil, "-out="+out)
	var file *results.File
	deadline := time.Now().Add(30 * time.Second)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for file == nil || file.Summary == nil {
		if time.Now().After(deadline) {
			t.Fatal("/results held no summary within 30s")
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned %v before the linger was over", err)
		case <-tick.C:
		}
		code, ctype, body := get(t, base+"/results")
		if code == http.StatusServiceUnavailable {
			continue // the run has not created the file yet
		}
		if code != http.StatusOK || ctype != "application/x-ndjson" {
			t.Fatalf("/results: %d %q %s, want 200 application/x-ndjson", code, ctype, body)
		}
		var err error
		if file, err = results.Read("/results", strings.NewReader(string(body))); err != nil {
			t.Fatalf("/results does not parse: %v", err)
		}
	}
	if !file.Summary.Passed || file.Summary.Planned != 20 || len(file.Rounds) != 2 {
		t.Errorf("served summary: passed %v, planned %d, %d rounds; want passed, 20, 2", file.Summary.Passed, file.Summary.Planned, len(file.Rounds))
	}
	if code, _, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz during the linger: %d, want 200", code)
	}
	cancel()
	if err := waitReturn(t, done); err != nil {
		t.Errorf("Run after a stop during the linger = %v, want nil: the test passed", err)
	}
}

func TestResultsWithoutOut(t *testing.T) {
	srv := okServer(t)
	reg := prometheus.NewRegistry()
	ended := make(chan struct{})
	base, cancel, done := lingerRun(t, srv.URL, reg, ended, "-threshold=p99 < 1ns")
	// The server is up once the listener is handed over; /results has
	// nothing to serve from the start.
	code, _, body := get(t, base+"/results")
	if code != http.StatusNotFound || !strings.Contains(string(body), "without -out") {
		t.Errorf("/results without -out: %d %s, want 404 naming -out", code, body)
	}
	select {
	case <-ended:
	case err := <-done:
		t.Fatalf("Run returned %v before the linger", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the test did not end within 30s")
	}
	cancel()
	var verdict *app.VerdictError
	if err := waitReturn(t, done); !errors.As(err, &verdict) {
		t.Errorf("Run = %v, want the failed verdict (p99 < 1ns) even when stopped", err)
	}
	if got := family(t, reg, "imager_orchestrator_target_available").GetGauge().GetValue(); got != 1 {
		t.Errorf("imager_orchestrator_target_available = %v in url mode, want 1", got)
	}
	// The whole-run histogram holds every request that ended: 20 rps
	// for 1s.
	if got := family(t, reg, "imager_orchestrator_latency_seconds").GetHistogram().GetSampleCount(); got != 20 {
		t.Errorf("imager_orchestrator_latency_seconds count = %d, want 20", got)
	}
}

// family returns the one series of family name gathered from reg.
func family(t *testing.T, reg *prometheus.Registry, name string) *dto.Metric {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0]
		}
	}
	t.Fatalf("%s: no single series gathered", name)
	return nil
}
