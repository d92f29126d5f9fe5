package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// bodyTarget starts a loopback server that answers 200 to a POST whose
// body is exactly want and 400 to anything else, counting both.
func bodyTarget(t *testing.T, want []byte) (url string, good, bad *atomic.Int64) {
	t.Helper()
	sum := sha256.Sum256(want)
	good, bad = new(atomic.Int64), new(atomic.Int64)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, err := io.ReadAll(r.Body)
		if err != nil || r.Method != http.MethodPost || sha256.Sum256(got) != sum {
			bad.Add(1)
			http.Error(w, fmt.Sprintf("got %d bytes", len(got)), http.StatusBadRequest)
			return
		}
		good.Add(1)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, good, bad
}

// requestFile writes a request file of one POST line with body and returns
// its path.
func requestFile(t *testing.T, body string) string {
	t.Helper()
	line, err := json.Marshal(map[string]any{"method": "POST", "path": "/upload", "body": body})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "big.ndjson")
	if err := os.WriteFile(path, append(line, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// peakRSS returns the peak resident set size of a process in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM line %q: %v", line, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM in /proc/%d/status", pid)
	return 0
}

// TestDistributedLargeBody sends a 15 MB body from two executors: every
// request arrives whole and succeeds, because a job carries the body once
// and in parts under the message limit, and the orchestrator does not
// hold a copy per request.
func TestDistributedLargeBody(t *testing.T) {
	body := strings.Repeat("0123456789abcdef", 15<<20/16)
	target, good, bad := bodyTarget(t, []byte(body))
	s := startOrchestrator(t, target, "-request-source-type=file", "-request-source-file="+requestFile(t, body),
		"-expect-executors=2", "-rate=2", "-duration=2s", "-request-timeout=30s", "-results-linger=1m")
	s.addExecutor(t, "exec-a")
	s.addExecutor(t, "exec-b")
	fin := s.orch.WaitFor(t, "test finished", 90*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })[0]
	if planned, success := proc.Num(t, fin, "planned"), proc.Num(t, fin, "success"); planned != 4 || success != 4 {
		t.Errorf("test finished with %v of %v planned requests successful, want 4 of 4: %v", success, planned, fin)
	}
	if good.Load() != 4 || bad.Load() != 0 {
		t.Errorf("target got %d whole bodies and %d bad requests, want 4 and 0", good.Load(), bad.Load())
	}
	for id, u := range s.execHTTP {
		if got := proc.Scrape(t, u+"/metrics")[`imager_executor_requests_total{outcome="success"}`]; got != 2 {
			t.Errorf("executor %s sent %v successful requests, want its half, 2", id, got)
		}
	}
	// The reported failure held a copy of the body per request, 2.5 GB at
	// 40 rps; one copy per job and message stays far below 1 GiB even
	// with the race detector's overhead.
	if rss := peakRSS(t, s.orch.PID()); rss > 1<<30 {
		t.Errorf("orchestrator peak RSS %d MiB, want under 1024 MiB", rss>>20)
	}
}

// TestOversizedRequestRefusedAtStart checks that a request line over the
// file source's limit stops the orchestrator at start, naming the line.
func TestOversizedRequestRefusedAtStart(t *testing.T) {
	path := requestFile(t, strings.Repeat("x", 17<<20))
	var buf bytes.Buffer
	start := time.Now()
	p := proc.Start(t, bin["orchestrator"], "-target-mode=url", "-target-url=http://127.0.0.1:9",
		"-request-source-type=file", "-request-source-file="+path,
		fmt.Sprintf("-listen-port=%d", proc.FreePort(t)), fmt.Sprintf("-grpc-port=%d", proc.FreePort(t)))
	err := p.Wait(t, 10*time.Second)
	buf.WriteString(p.RawLog())
	if err == nil || time.Since(start) > 10*time.Second {
		t.Fatalf("orchestrator exited with %v after %v, want a failure within 10s", err, time.Since(start))
	}
	if want := path + ":1: line longer than the limit"; !strings.Contains(buf.String(), want) {
		t.Errorf("orchestrator output does not name the line (%q):\n%s", want, buf.String())
	}
}
