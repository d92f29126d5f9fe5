// Package e2e runs imager's binaries together on loopback, as a user would:
// a sumservice target, an orchestrator, executors, and the imager CLI.
package e2e

import (
	"fmt"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
)

// bin holds the paths of the binaries TestMain builds, by command name.
var bin map[string]string

// TestMain builds the binaries without VCS information, so that they are
// unstamped builds whatever the checkout: TestVersionUnstamped checks
// them.
func TestMain(m *testing.M) {
	bins, cleanup, err := proc.BuildBinaries(proc.BuildOptions{Flags: []string{"-buildvcs=false"}},
		"orchestrator", "executor", "sumservice", "imager")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = bins
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// stack is a sumservice, an orchestrator and executors on loopback.
type stack struct {
	target   string
	orch     *proc.Proc
	orchHTTP string
	grpcAddr string
	execs    map[string]*proc.Proc
	execHTTP map[string]string
}

// startSumservice starts the demo target and returns its base URL.
func startSumservice(t *testing.T) string {
	t.Helper()
	port := proc.FreePort(t)
	proc.Start(t, bin["sumservice"], "-listen", fmt.Sprintf("127.0.0.1:%d", port))
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	proc.WaitHTTP(t, url+"/healthz", 20*time.Second)
	return url
}

// startOrchestrator starts an orchestrator loading target with extra flags.
func startOrchestrator(t *testing.T, target string, extra ...string) *stack {
	t.Helper()
	return startOrchestratorOn(t, proc.FreePort(t), target, extra...)
}

// startOrchestratorOn is startOrchestrator with the control plane on
// grpcPort.
func startOrchestratorOn(t *testing.T, grpcPort int, target string, extra ...string) *stack {
	t.Helper()
	s := &stack{target: target, execs: map[string]*proc.Proc{}, execHTTP: map[string]string{}}
	httpPort := proc.FreePort(t)
	s.orchHTTP = fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	s.grpcAddr = fmt.Sprintf("127.0.0.1:%d", grpcPort)
	args := append([]string{
		"-target-mode=url", "-target-url=" + target,
		"-request-source-type=random-sum", "-random-sum-path=/sum", "-seed=7",
		fmt.Sprintf("-listen-port=%d", httpPort), fmt.Sprintf("-grpc-port=%d", grpcPort),
		"-log-format=json", "-request-timeout=5s", "-executor-timeout=3s",
	}, extra...)
	s.orch = proc.Start(t, bin["orchestrator"], args...)
	proc.WaitHTTP(t, s.orchHTTP+"/healthz", 20*time.Second)
	return s
}

// addExecutor starts an executor with the given id and extra flags.
func (s *stack) addExecutor(t *testing.T, id string, extra ...string) *proc.Proc {
	t.Helper()
	port := proc.FreePort(t)
	args := append([]string{"-orchestrator=" + s.grpcAddr, "-id=" + id, "-workers=1",
		fmt.Sprintf("-metrics-port=%d", port), "-log-format=json"}, extra...)
	p := proc.Start(t, bin["executor"], args...)
	s.execs[id] = p
	s.execHTTP[id] = fmt.Sprintf("http://127.0.0.1:%d", port)
	proc.WaitHTTP(t, s.execHTTP[id]+"/healthz", 20*time.Second)
	return p
}

// waitExecutors waits until the orchestrator has logged n joins.
func (s *stack) waitExecutors(t *testing.T, n int) {
	t.Helper()
	s.orch.WaitFor(t, "executor joined", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= n })
}

// checkRound asserts a round's accounting: every planned request is a
// success or failed, and failed is the sum of the other outcomes.
func checkRound(t *testing.T, r map[string]any) {
	t.Helper()
	planned, failed := proc.Num(t, r, "planned"), proc.Num(t, r, "failed")
	if sum := proc.Num(t, r, "success") + failed; planned != sum {
		t.Errorf("round %v: planned %v != success+failed %v", r["round"], planned, sum)
	}
	var outcomes float64
	for _, k := range []string{"client_errors", "server_errors", "timeouts", "connection_errors", "dropped", "lost"} {
		outcomes += proc.Num(t, r, k)
	}
	if failed != outcomes {
		t.Errorf("round %v: failed %v != 4xx+5xx+timeouts+connection errors+dropped+lost %v", r["round"], failed, outcomes)
	}
	if want := proc.Num(t, r, "planned_rps"); planned != want {
		t.Errorf("round %v: planned %v requests, want %v (1s rounds)", r["round"], planned, want)
	}
}

func TestDistributedStepProfile(t *testing.T) {
	target := startSumservice(t)
	s := startOrchestrator(t, target, "-load-calculator=step", "-min-rps=20", "-max-rps=100", "-step-rps=20", "-duration=6s")
	s.addExecutor(t, "exec-a")
	s.addExecutor(t, "exec-b")
	s.waitExecutors(t, 2)

	s.orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 2 })
	orch1, execs1 := proc.Scrape(t, s.orchHTTP+"/metrics"), map[string]map[string]float64{}
	for id, u := range s.execHTTP {
		execs1[id] = proc.Scrape(t, u+"/metrics")
	}
	s.orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 4 })
	orch2 := proc.Scrape(t, s.orchHTTP+"/metrics")
	for _, name := range []string{"imager_orchestrator_jobs_dispatched_total", "imager_orchestrator_job_requests_total"} {
		if orch2[name] <= orch1[name] {
			t.Errorf("orchestrator %s did not increase: %v then %v", name, orch1[name], orch2[name])
		}
	}
	if got := orch2["imager_orchestrator_registered_executors"]; got != 2 {
		t.Errorf("imager_orchestrator_registered_executors = %v, want 2", got)
	}
	for id, u := range s.execHTTP {
		m2 := proc.Scrape(t, u+"/metrics")
		for _, name := range []string{"imager_executor_jobs_picked_up_total", "imager_executor_job_requests_total", "imager_success",
			"imager_duration_count", "imager_successDuration_count", "imager_responseSize_count", "imager_firstByteDuration_count"} {
			if m2[name] <= execs1[id][name] {
				t.Errorf("executor %s: %s did not increase: %v then %v", id, name, execs1[id][name], m2[name])
			}
		}
		if _, ok := m2["imager_failed"]; !ok {
			t.Errorf("executor %s: imager_failed missing", id)
		}
	}

	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration", err)
	}
	rounds := s.orch.Logs("round finished")
	if len(rounds) != 6 {
		t.Fatalf("got %d finished rounds, want 6", len(rounds))
	}
	for i, r := range rounds {
		checkRound(t, r)
		if got, want := proc.Num(t, r, "planned_rps"), float64(min(20*(i+1), 100)); got != want {
			t.Errorf("round %d planned %v rps, want %v", i, got, want)
		}
		planned, achieved := proc.Num(t, r, "planned_rps"), proc.Num(t, r, "achieved_rps")
		if math.Abs(achieved-planned) > 0.05*planned {
			t.Errorf("round %d achieved %v rps, want within 5%% of %v", i, achieved, planned)
		}
		if proc.Num(t, r, "success") != proc.Num(t, r, "planned") {
			t.Errorf("round %d: %v of %v succeeded, want all", i, r["success"], r["planned"])
		}
	}
}

func TestExecutorKilledMidRun(t *testing.T) {
	target := startSumservice(t)
	s := startOrchestrator(t, target, "-load-calculator=step", "-min-rps=40", "-max-rps=40", "-step-rps=1", "-duration=8s")
	s.addExecutor(t, "survivor")
	victim := s.addExecutor(t, "victim")
	s.waitExecutors(t, 2)
	s.orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 2 })
	if err := victim.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	left := s.orch.WaitFor(t, "executor left", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
	if left[0]["executor"] != "victim" {
		t.Errorf("executor left = %v, want victim", left[0]["executor"])
	}
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want it to finish the test with the survivor", err)
	}
	rounds := s.orch.Logs("round finished")
	if len(rounds) != 8 {
		t.Fatalf("got %d rounds, want 8: the test must go on without the killed executor", len(rounds))
	}
	var lost float64
	for _, r := range rounds {
		checkRound(t, r)
		lost += proc.Num(t, r, "lost")
		t.Logf("round %v: planned %v success %v lost %v", r["round"], r["planned"], r["success"], r["lost"])
	}
	// The victim's share of the rounds it held when it died is lost, not
	// hidden; the last rounds run on the survivor alone, in full.
	if lost == 0 {
		t.Errorf("no lost requests counted although an executor was killed mid-run")
	}
	for _, r := range rounds[len(rounds)-2:] {
		if proc.Num(t, r, "success") != proc.Num(t, r, "planned") {
			t.Errorf("round %v after the kill: %v of %v succeeded, want all on the survivor", r["round"], r["success"], r["planned"])
		}
	}
	fin := s.orch.Logs("test finished")
	if len(fin) != 1 || proc.Num(t, fin[0], "lost") != lost {
		t.Errorf("test finished line %v, want lost=%v", fin, lost)
	}
}

func TestAuthToken(t *testing.T) {
	target := startSumservice(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
	if err := os.WriteFile(good, []byte("let-me-in\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("wrong"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startOrchestrator(t, target, "-auth-token-file="+good, "-load-calculator=step", "-min-rps=10", "-max-rps=10", "-duration=2s")
	// A rejected executor exits at once with status 1, so it is started
	// without waiting for its /healthz.
	intruder := proc.Start(t, bin["executor"], "-orchestrator="+s.grpcAddr, "-id=intruder", "-auth-token-file="+bad,
		fmt.Sprintf("-metrics-port=%d", proc.FreePort(t)), "-log-format=json")
	s.orch.WaitFor(t, "executor rejected: wrong or missing auth token (check that the executor's token matches the orchestrator's)", 20*time.Second,
		func(ls []map[string]any) bool { return len(ls) >= 1 && ls[0]["executor"] == "intruder" })
	if err := intruder.Wait(t, 20*time.Second); err == nil || !strings.Contains(intruder.RawLog(), "auth token") {
		t.Errorf("rejected executor exited with %v, want status 1 and an error about its auth token", err)
	}

	s.addExecutor(t, "friend", "-auth-token-file="+good)
	s.waitExecutors(t, 1)
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator: %v", err)
	}
	for _, j := range s.orch.Logs("executor joined") {
		if j["executor"] != "friend" {
			t.Errorf("executor %v joined without the right token", j["executor"])
		}
	}
	if len(s.orch.Logs("round finished")) != 2 {
		t.Errorf("want 2 rounds run by the executor with the right token")
	}
}

// The orchestrator reads the CA and the client certificate and ships them
// in every job; a plain executor, started with no TLS flags at all, then
// loads a target that insists on mutual TLS.
func TestDistributedMutualTLS(t *testing.T) {
	ca := tlstest.NewAuthority(t, "imager e2e CA")
	var verified, anonymous atomic.Int64
	srv := tlstest.NewServer(t, ca.Server(t), ca.Pool(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.VerifiedChains) > 0 && r.TLS.PeerCertificates[0].Subject.CommonName == "imager executor" {
			verified.Add(1)
			return
		}
		anonymous.Add(1)
		w.WriteHeader(http.StatusForbidden)
	}))
	dir := t.TempDir()
	caFile := tlstest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	certFile, keyFile := ca.Client(t, "imager executor").Write(t, dir, "client")

	s := startOrchestrator(t, srv.URL, "-load-calculator=constant", "-rate=20", "-duration=3s",
		"-ca-file="+caFile, "-client-cert="+certFile, "-client-key="+keyFile)
	s.addExecutor(t, "exec-tls")
	s.waitExecutors(t, 1)
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration\n%s", err, s.orch.RawLog())
	}
	rounds := s.orch.Logs("round finished")
	if len(rounds) != 3 {
		t.Fatalf("got %d finished rounds, want 3:\n%s", len(rounds), s.orch.RawLog())
	}
	var success float64
	for _, r := range rounds {
		checkRound(t, r)
		if proc.Num(t, r, "planned_rps") != 20 || proc.Num(t, r, "success") != proc.Num(t, r, "planned") {
			t.Errorf("round %v: planned_rps %v, %v of %v succeeded; want 20 and all (top error %v)",
				r["round"], r["planned_rps"], r["success"], r["planned"], r["top_error"])
		}
		success += proc.Num(t, r, "success")
	}
	if got := float64(verified.Load()); got != success || success != 60 {
		t.Errorf("target saw %v requests with the client certificate and the orchestrator counted %v successes; want 60 each", got, success)
	}
	if n := anonymous.Load(); n != 0 {
		t.Errorf("target saw %d requests without the client certificate, want 0", n)
	}
}
