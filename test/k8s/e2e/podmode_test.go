package e2e

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// The pod IPs of the target tests: loopback addresses where sumservice
// processes listen, written into pod status as a kubelet would.
const (
	ipA = "127.0.0.2"
	ipB = "127.0.0.3"
	// ipYoungest is the pod IP of a pod that is never the target.
	ipYoungest = "127.0.0.4"
)

// Series of the orchestrator's target metrics.
const (
	roundsSkipped   = "imager_orchestrator_rounds_skipped_total"
	targetAvailable = "imager_orchestrator_target_available"
	cpuSeries       = "imager_orchestrator_target_pod_cpu_millicores"
	memorySeries    = "imager_orchestrator_target_pod_memory_bytes"
)

// TestPodMode runs the orchestrator out of cluster in pod mode, as the
// service account of deploy/k8s, against Deployment web with pods web-a
// (the older, on 127.0.0.2) and web-b (127.0.0.3), each served by a real
// sumservice, and web-0, younger than both. It follows the target through
// deletions: the oldest ready pod, web-a, is the target until it is
// deleted, then web-b; with no pod left dispatch pauses and rounds are
// skipped; a new pod that becomes ready resumes it. No
// metrics.k8s.io API is registered, which must only cost a warning.
func TestPodMode(t *testing.T) {
	e := newEnv(t)
	port := sharedPort(t, ipA, ipB)
	srvA := startSumservice(t, ipA, port)
	srvB := startSumservice(t, ipB, port)
	e.createWebDeployment(t, port)
	e.runWebPod(t, "web-a", ipA, port, true)
	webB := e.runWebPod(t, "web-b", ipB, port, true)
	// web-0 sorts first by name but is the youngest: creation times have
	// whole seconds, so create it in a later second than web-b. Its IP is
	// never sent to.
	time.Sleep(time.Until(webB.CreationTimestamp.Add(time.Second)))
	if web0 := e.runWebPod(t, "web-0", ipYoungest, port, true); !web0.CreationTimestamp.After(webB.CreationTimestamp.Time) {
		t.Fatalf("web-0 created at %v, not after web-b (%v)", web0.CreationTimestamp, webB.CreationTimestamp)
	}

	s := startStack(t, e.orchestratorKubeconfig(t), "-target-mode=pod", "-target-deployment=web", "-metrics-poll-interval=500ms")
	sel := s.orch.WaitFor(t, "target pod selected", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
	if sel[0]["pod"] != "web-a" || sel[0]["ip"] != ipA {
		t.Fatalf("target pod selected: pod %v ip %v, want the older pod web-a at %s", sel[0]["pod"], sel[0]["ip"], ipA)
	}
	resolved := s.orch.WaitFor(t, "target resolved", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
	if want := "http://" + ipA + ":" + strconv.Itoa(port); resolved[0]["url"] != want {
		t.Errorf("target resolved to %v, want %s", resolved[0]["url"], want)
	}
	s.waitRounds(t, 0, 3)

	t.Run("missing metrics API is a warning", func(t *testing.T) {
		w := s.orch.WaitFor(t, "pod metrics unavailable; target pod CPU and memory are not reported until they return",
			eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
		if hint, _ := w[0]["hint"].(string); !strings.Contains(hint, "metrics-server") {
			t.Errorf("metrics warning hint = %q, want it to suggest installing metrics-server", hint)
		}
		if w[0]["level"] != "WARN" {
			t.Errorf("metrics warning level = %v, want WARN", w[0]["level"])
		}
		for _, r := range s.waitRounds(t, s.fresh(t), 2) {
			if _, ok := r["target_cpu_millicores"]; ok {
				t.Errorf("round %v carries target_cpu_millicores %v with no metrics API", r["round"], r["target_cpu_millicores"])
			}
		}
		for series := range s.metrics(t) {
			if strings.HasPrefix(series, cpuSeries) || strings.HasPrefix(series, memorySeries) {
				t.Errorf("orchestrator exports %s with no metrics API", series)
			}
		}
	})

	t.Run("traffic goes to the older pod", func(t *testing.T) {
		srvB.Stop(t, stopTimeout)
		s.waitRounds(t, s.fresh(t), 3)
	})
	startSumservice(t, ipB, port) // web-b's server again, for when web-b is the target

	t.Run("target pod deleted", func(t *testing.T) {
		e.deletePod(t, "web-a")
		ch := s.orch.WaitFor(t, "target pod changed", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
		if ch[0]["old"] != "web-a" || ch[0]["new"] != "web-b" || ch[0]["ip"] != ipB {
			t.Fatalf("target pod changed: old %v new %v ip %v, want web-a -> web-b at %s", ch[0]["old"], ch[0]["new"], ch[0]["ip"], ipB)
		}
		// Let rounds planned before the change finish, then take web-a's
		// server away: later rounds still succeed, so they go to web-b.
		s.waitRounds(t, s.fresh(t), 1)
		srvA.Stop(t, stopTimeout)
		s.waitRounds(t, s.fresh(t), 3)
	})

	t.Run("deleting another pod keeps the target", func(t *testing.T) {
		e.deletePod(t, "web-0")
		s.waitRounds(t, s.fresh(t), 2)
		if got := s.orch.Logs("target pod changed"); len(got) != 1 {
			t.Errorf("target pod changed %d times, want once (web-a -> web-b): %v", len(got), got)
		}
	})

	t.Run("no ready pod pauses dispatch", func(t *testing.T) {
		before := s.metrics(t)[roundsSkipped]
		e.deletePod(t, "web-b")
		p := s.orch.WaitFor(t, "dispatch paused: deployment imager/web has no ready pods", eventuallyWithin,
			func(ls []map[string]any) bool { return len(ls) > 0 })
		if p[0]["level"] != "WARN" || p[0]["reason"] != "deployment imager/web has no ready pods" {
			t.Errorf("dispatch paused line = %v, want a WARN with the reason", p[0])
		}
		skipped := s.orch.WaitFor(t, "round skipped: no target to send to; dispatch paused", eventuallyWithin,
			func(ls []map[string]any) bool { return len(ls) >= 3 })
		m := s.metrics(t)
		if m[roundsSkipped] < before+3 {
			t.Errorf("%s = %v, want at least %v after %d skipped rounds", roundsSkipped, m[roundsSkipped], before+3, len(skipped))
		}
		if m[targetAvailable] != 0 {
			t.Errorf("%s = %v while paused, want 0", targetAvailable, m[targetAvailable])
		}
		// A pod that is running but not ready does not resume dispatch.
		e.runWebPod(t, "web-c", ipB, port, false)
		n := len(s.orch.Logs("round skipped: no target to send to; dispatch paused"))
		s.orch.WaitFor(t, "round skipped: no target to send to; dispatch paused", eventuallyWithin,
			func(ls []map[string]any) bool { return len(ls) >= n+2 })
		if got := s.orch.Logs("dispatch resumed"); len(got) != 0 {
			t.Fatalf("dispatch resumed with only an unready pod: %v", got)
		}
	})

	t.Run("a ready pod resumes dispatch", func(t *testing.T) {
		if err := e.c.SetPodReady(e.ctx, imagerNS, "web-c", true); err != nil {
			t.Fatal(err)
		}
		r := s.orch.WaitFor(t, "dispatch resumed", eventuallyWithin, func(ls []map[string]any) bool { return len(ls) > 0 })
		if want := "http://" + ipB + ":" + strconv.Itoa(port); r[0]["url"] != want {
			t.Errorf("dispatch resumed with url %v, want %s", r[0]["url"], want)
		}
		from := s.fresh(t)
		s.waitRounds(t, from, 3)
		if got := s.metrics(t)[targetAvailable]; got != 1 {
			t.Errorf("%s = %v after resuming, want 1", targetAvailable, got)
		}
	})

	s.checkAccounting(t)
	if t.Failed() {
		return
	}
	if err := s.orch.Stop(t, stopTimeout); err != nil {
		t.Errorf("orchestrator exited with %v after SIGTERM", err)
	}
}
