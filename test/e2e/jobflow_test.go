package e2e

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/results"
)

// TestDistributedTestAsAJob runs the whole life of a test as the Job form
// in the cluster does: an orchestrator that waits for three executors,
// executors that exit when the test is over, the verdict as the exit code,
// and the results file served while the orchestrator lingers.
func TestDistributedTestAsAJob(t *testing.T) {
	target := startSumservice(t)
	for _, tt := range []struct {
		threshold string
		code      int
	}{{"p99 < 10s", 0}, {"p99 < 1us", 99}} {
		t.Run(fmt.Sprintf("exit %d", tt.code), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "results.ndjson")
			s := startOrchestrator(t, target, "-expect-executors=3", "-rate=30", "-duration=2s",
				"-threshold="+tt.threshold, "-out="+out, "-results-linger=1m")
			for i, id := range []string{"exec-a", "exec-b", "exec-c"} {
				if got := s.orch.Logs("test started"); len(got) != 0 {
					t.Fatalf("test started with %d of 3 executors joined", i)
				}
				s.addExecutor(t, id, "-exit-when-done")
				s.waitExecutors(t, i+1)
			}
			finished := s.orch.WaitFor(t, "test finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
			// Every executor is told the test is over and exits 0 within 5s.
			for id, p := range s.execs {
				if err := p.Wait(t, 5*time.Second); err != nil {
					t.Errorf("executor %s exited with %v, want 0", id, err)
				}
			}
			// While the orchestrator lingers, /results serves the file.
			f := fetchResults(t, s.orchHTTP+"/results")
			if f.Summary == nil || len(f.Rounds) != 2 || f.Summary.Outcomes["success"] != 60 {
				t.Errorf("served results: %d rounds, summary %+v; want 2 rounds of 30 successes", len(f.Rounds), f.Summary)
			}
			for _, r := range f.Rounds {
				if r.Executors != 3 {
					t.Errorf("round %d split across %d executors, want 3", r.Round, r.Executors)
				}
			}
			if got := finished[0]["success"]; got != float64(60) {
				t.Errorf("test finished success=%v, want 60", got)
			}
			// A signal ends the linger early and keeps the verdict's code.
			err := s.orch.Stop(t, 30*time.Second)
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			}
			if code != tt.code {
				t.Errorf("orchestrator with -threshold=%q exited %d (%v), want %d", tt.threshold, code, err, tt.code)
			}
		})
	}
}

// fetchResults gets and parses a results file over HTTP.
func fetchResults(t *testing.T, url string) *results.File {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", url, resp.StatusCode, err, body)
	}
	f, err := results.Read(url, strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	return f
}
