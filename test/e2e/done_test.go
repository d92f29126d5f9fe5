package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// doneLogTime returns the time of a JSON log line, from its "time" field.
func doneLogTime(t *testing.T, l map[string]any) time.Time {
	t.Helper()
	s, _ := l["time"].(string)
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("log line %v: time %q: %v", l, s, err)
	}
	return at
}

// When the test ends the orchestrator tells its executors, and those
// started with -exit-when-done exit 0 right after it.
func TestExecutorsExitWhenDone(t *testing.T) {
	target := startSumservice(t)
	s := startOrchestrator(t, target, "-load-calculator=constant", "-rate=20", "-duration=2s")
	ids := []string{"done-a", "done-b", "done-c"}
	for _, id := range ids {
		s.addExecutor(t, id, "-exit-when-done")
	}
	s.waitExecutors(t, len(ids))
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, id := range ids {
		e := s.execs[id]
		if err := e.Wait(t, max(time.Until(deadline), 0)); err != nil {
			t.Errorf("executor %s exited with %v, want status 0", id, err)
		}
		if ls := e.Logs("test finished; exiting"); len(ls) != 1 || ls[0]["passed"] != true || ls[0]["reason"] != "completed" {
			t.Errorf("executor %s: \"test finished; exiting\" lines %v, want one with passed=true reason=completed", id, ls)
		}
	}
	if n := len(s.orch.Logs("executors did not close their streams after the end-of-test notice")); n != 0 {
		t.Errorf("the orchestrator waited out its Finish timeout; every executor should have closed its stream")
	}
}

// Executors without -exit-when-done outlive their orchestrator quietly and
// are back within 2 s when a new one listens on the same port.
func TestExecutorsRejoinRestartedOrchestrator(t *testing.T) {
	target := startSumservice(t)
	grpcPort := proc.FreePort(t)
	load := []string{"-load-calculator=constant", "-rate=10"}
	a := startOrchestratorOn(t, grpcPort, target, load...)
	ids := []string{"stay-a", "stay-b", "stay-c"}
	for _, id := range ids {
		a.addExecutor(t, id)
	}
	a.waitExecutors(t, len(ids))
	a.orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
	_ = a.orch.Stop(t, 30*time.Second) // a stopped run's exit status is not what this test is about
	for _, id := range ids {
		a.execs[id].WaitFor(t, "test finished; waiting for the next orchestrator", 10*time.Second,
			func(ls []map[string]any) bool { return len(ls) >= 1 })
	}

	b := startOrchestratorOn(t, grpcPort, target, load...)
	listening := doneLogTime(t, b.orch.WaitFor(t, "control plane listening", 20*time.Second,
		func(ls []map[string]any) bool { return len(ls) >= 1 })[0])
	joins := b.orch.WaitFor(t, "executor joined", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= len(ids) })
	seen := map[string]bool{}
	var last time.Time
	for _, j := range joins {
		id, _ := j["executor"].(string)
		seen[id] = true
		if at := doneLogTime(t, j); at.After(last) {
			last = at
		}
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("executor %s did not join the new orchestrator (joins: %v)", id, joins)
		}
	}
	if took := last.Sub(listening); took > 2*time.Second {
		t.Errorf("the executors were all back %v after the new orchestrator listened, want within 2s", took)
	} else {
		t.Logf("all executors back %v after the new orchestrator listened", took)
	}
	for _, id := range ids {
		e := a.execs[id]
		if n := len(e.Logs("test finished; waiting for the next orchestrator")); n != 1 {
			t.Errorf("executor %s logged the end of the test %d times, want once", id, n)
		}
		if strings.Contains(e.RawLog(), `"level":"WARN"`) {
			t.Errorf("executor %s logged warnings while waiting for the next orchestrator, want none:\n%s", id, e.RawLog())
		}
	}
}
