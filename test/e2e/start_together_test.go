package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/results"
)

// logTime reads the time of a JSON log line.
func logTime(t *testing.T, l map[string]any) time.Time {
	t.Helper()
	s, _ := l["time"].(string)
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("log line without a time: %v", l)
	}
	return ts
}

// TestExpectExecutorsStartsTogether runs an orchestrator with
// -expect-executors=3 and adds executors one by one: the test starts only
// once the third has joined, and round 0 is split across all three.
func TestExpectExecutorsStartsTogether(t *testing.T) {
	target := startSumservice(t)
	out := filepath.Join(t.TempDir(), "results.ndjson")
	s := startOrchestrator(t, target, "-expect-executors=3", "-executor-wait=2m",
		"-load-calculator=constant", "-rate=30", "-duration=2s", "-out="+out)
	waiting := s.orch.WaitFor(t, "waiting for executors", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
	if want, have := proc.Num(t, waiting[0], "want"), proc.Num(t, waiting[0], "have"); want != 3 || have != 0 {
		t.Errorf("waiting for executors want=%v have=%v, want 3 and 0", want, have)
	}

	ids := []string{"exec-a", "exec-b", "exec-c"}
	for i, id := range ids[:2] {
		s.addExecutor(t, id)
		s.waitExecutors(t, i+1)
		for _, msg := range []string{"test started", "round finished"} {
			if got := s.orch.Logs(msg); len(got) != 0 {
				t.Fatalf("%q logged with %d of 3 executors joined: %v", msg, i+1, got)
			}
		}
	}
	s.addExecutor(t, ids[2])
	started := s.orch.WaitFor(t, "test started", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
	if got := proc.Num(t, started[0], "executors"); got != 3 {
		t.Errorf("test started with executors=%v, want 3", got)
	}
	joins := s.orch.Logs("executor joined")
	if len(joins) != 3 {
		t.Fatalf("%d executor joined lines, want 3", len(joins))
	}
	if third, start := logTime(t, joins[2]), logTime(t, started[0]); start.Before(third) {
		t.Errorf("test started at %v, before the third executor joined at %v", start, third)
	}
	for _, r := range s.orch.Logs("round finished") {
		if at := logTime(t, r); at.Before(logTime(t, joins[2])) {
			t.Errorf("round %v finished at %v, before the third executor joined", r["round"], at)
		}
	}
	if got := s.orch.Logs("executor wait passed: starting with the executors present"); len(got) != 0 {
		t.Errorf("wait-passed warning logged though all three joined: %v", got)
	}

	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration", err)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Rounds) != 2 {
		t.Fatalf("%d rounds in the results file, want 2", len(f.Rounds))
	}
	for _, r := range f.Rounds {
		if r.Executors != 3 || r.Planned != 30 || r.Outcomes["success"] != 30 {
			t.Errorf("round %d: executors %d, planned %d, outcomes %v; want 3 executors and 30 successes", r.Round, r.Executors, r.Planned, r.Outcomes)
		}
	}
	// Each round's 30 requests split 10 each: every executor ran a job of
	// round 0 and one of round 1.
	for _, id := range ids {
		m := proc.Scrape(t, s.execHTTP[id]+"/metrics")
		if got := m["imager_executor_jobs_picked_up_total"]; got != 2 {
			t.Errorf("executor %s picked up %v jobs, want 2 (rounds 0 and 1)", id, got)
		}
		if got := m["imager_executor_job_requests_total"]; got != 20 {
			t.Errorf("executor %s got %v requests, want 20 (10 a round)", id, got)
		}
	}
}
