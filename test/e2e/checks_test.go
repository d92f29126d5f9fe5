package e2e

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/results"
)

// tenthFails is a target that answers every request 200; every tenth
// response body is an error document, the rest a good one. Counting is
// exact, so a run of N requests holds exactly N/10 error bodies.
type tenthFails struct{ n atomic.Int64 }

func (h *tenthFails) ServeHTTP(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	if h.n.Add(1)%10 == 0 {
		_, _ = w.Write([]byte(`{"error":"overloaded"}`))
		return
	}
	_, _ = w.Write([]byte(`{"ok":true,"sum":3}`))
}

// startTenthFails serves tenthFails on loopback until the test ends.
func startTenthFails(t *testing.T) (string, *tenthFails) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &tenthFails{}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), h
}

// TestChecksAcrossTwoExecutors runs an orchestrator and two executor
// processes against a target whose 200 responses carry an error body one
// time in ten. The request file's check catches them: the summary names
// the failing check with a pass rate of 90%, the outcomes still add up to
// what was planned, and a checks >= 0.99 threshold fails the run (exit 99).
func TestChecksAcrossTwoExecutors(t *testing.T) {
	target, srv := startTenthFails(t)
	dir := t.TempDir()
	reqs := filepath.Join(dir, "requests.ndjson")
	line := `{"method":"GET","path":"/sum","name":"sum","expect":{"status":["200-299"],"json":{"ok":true}}}` + "\n"
	if err := os.WriteFile(reqs, []byte(line), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.ndjson")
	grpcPort := proc.FreePort(t)
	var stdout proc.Buffer
	orch := proc.Options{Stdout: &stdout}.Start(t, bin["orchestrator"], "-target-mode=url", "-target-url="+target,
		"-request-source-type=file", "-request-source-file="+reqs, "-rate=200", "-duration=3s",
		"-expect-executors=2", "-listen-port=0", fmt.Sprintf("-grpc-port=%d", grpcPort), "-log-format=json",
		"-out="+out, "-threshold=checks >= 0.99")
	for _, id := range []string{"exec-a", "exec-b"} {
		proc.Start(t, bin["executor"], fmt.Sprintf("-orchestrator=127.0.0.1:%d", grpcPort), "-id="+id,
			fmt.Sprintf("-metrics-port=%d", proc.FreePort(t)), "-log-format=json")
	}
	err := orch.Wait(t, 2*time.Minute)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 99 {
		t.Fatalf("orchestrator exit %v, want 99 (the checks threshold fails)\n%s", err, orch.RawLog())
	}
	text := stdout.String()
	t.Logf("orchestrator summary:\n%s", text)
	for _, want := range []string{"sum:json:ok", "FAIL  checks >= 0.99", "verdict        FAILED"} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	s := f.Summary
	if s == nil {
		t.Fatal("no summary line")
	}
	checkAccounting(t, "summary", &s.Counts)
	if s.Planned != 600 || int64(srv.n.Load()) != s.Sent {
		t.Errorf("planned %d (want 600), sent %d, target served %d", s.Planned, s.Sent, srv.n.Load())
	}
	var rate float64 = -1
	for _, c := range s.Checks {
		if c.Name == "sum:json:ok" {
			rate = c.PassRate
		}
	}
	if math.Abs(rate-0.9) > 0.01 {
		t.Errorf("check sum:json:ok pass rate %.4f, want 0.90 ± 0.01 (checks %+v)", rate, s.Checks)
	}
	if got, want := float64(s.Outcomes["check_failed"])/float64(s.Planned), 0.1; math.Abs(got-want) > 0.01 {
		t.Errorf("check_failed share %.4f, want 0.10 ± 0.01 (outcomes %v)", got, s.Outcomes)
	}
	executors := map[int]bool{}
	for _, r := range f.Rounds {
		executors[r.Executors] = true
	}
	if !executors[2] {
		t.Errorf("no round ran on both executors: %v", executors)
	}
}
