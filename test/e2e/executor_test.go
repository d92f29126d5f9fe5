package e2e

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/results"
)

// startExecutorNoID starts an executor without -id and returns it with its
// metrics base URL and the id its first log line names.
func (s *stack) startExecutorNoID(t *testing.T) (p *proc.Proc, metricsURL, id string) {
	t.Helper()
	port := proc.FreePort(t)
	p = proc.Start(t, bin["executor"], "-orchestrator="+s.grpcAddr, "-workers=1",
		fmt.Sprintf("-metrics-port=%d", port), "-log-format=json")
	first := p.WaitFor(t, "executor starting", 20*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })
	id, _ = first[0]["id"].(string)
	metricsURL = fmt.Sprintf("http://127.0.0.1:%d", port)
	proc.WaitHTTP(t, metricsURL+"/healthz", 20*time.Second)
	return p, metricsURL, id
}

// Two executors started on one machine without -id pick different ids
// (the hostname plus a random suffix), both register, and both take their
// share of every round.
func TestExecutorsWithoutIDShareLoad(t *testing.T) {
	host, err := os.Hostname()
	if err != nil {
		t.Fatalf("hostname: %v", err)
	}
	target := startSumservice(t)
	out := filepath.Join(t.TempDir(), "results.ndjson")
	s := startOrchestrator(t, target, "-expect-executors=2", "-executor-wait=1m",
		"-load-calculator=constant", "-rate=40", "-duration=2s", "-out="+out)
	var ids []string
	var urls []string
	for range 2 {
		p, u, id := s.startExecutorNoID(t)
		if first, _, _ := strings.Cut(p.RawLog(), "\n"); !strings.Contains(first, `"msg":"executor starting"`) ||
			!strings.Contains(first, `"id":"`+id+`"`) {
			t.Errorf("first executor log line = %s, want \"executor starting\" with id %s", first, id)
		}
		if !strings.HasPrefix(id, host+"-") || len(id) <= len(host)+1 {
			t.Errorf("default id %q, want %q plus a random suffix", id, host+"-")
		}
		ids, urls = append(ids, id), append(urls, u)
	}
	if ids[0] == ids[1] {
		t.Fatalf("both executors chose id %q", ids[0])
	}
	s.waitExecutors(t, 2)
	joined := map[string]bool{}
	for _, l := range s.orch.Logs("executor joined") {
		id, _ := l["executor"].(string)
		joined[id] = true
	}
	for _, id := range ids {
		if !joined[id] {
			t.Errorf("executor %s never joined; joins: %v", id, joined)
		}
	}
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration", err)
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rounds {
		if r.Executors != 2 || r.Outcomes["success"] != 40 {
			t.Errorf("round %d: %d executors, outcomes %v; want 2 executors and 40 successes", r.Round, r.Executors, r.Outcomes)
		}
	}
	for i, u := range urls {
		m := proc.Scrape(t, u+"/metrics")
		if got := m["imager_executor_job_requests_total"]; got != 40 {
			t.Errorf("executor %s got %v requests, want 40 (20 a round for 2 rounds)", ids[i], got)
		}
		if got := m["imager_success"]; got != 40 {
			t.Errorf("executor %s: imager_success = %v, want 40", ids[i], got)
		}
	}
}

// fakeOrchestrator is a gRPC control plane that welcomes every executor,
// sends it one job and passes on the reports it gets back.
type fakeOrchestrator struct {
	imagerv1.UnimplementedControlPlaneServer
	job     *imagerv1.Job
	reports chan *imagerv1.Report
}

// Connect implements imagerv1.ControlPlaneServer.
func (f *fakeOrchestrator) Connect(st grpc.BidiStreamingServer[imagerv1.ExecutorMessage, imagerv1.OrchestratorMessage]) error {
	if _, err := st.Recv(); err != nil {
		return err
	}
	for _, m := range []*imagerv1.OrchestratorMessage{
		{Kind: &imagerv1.OrchestratorMessage_Welcome{Welcome: &imagerv1.Welcome{HeartbeatIntervalNanos: int64(time.Second)}}},
		{Kind: &imagerv1.OrchestratorMessage_Job{Job: f.job}},
	} {
		if err := st.Send(m); err != nil {
			return err
		}
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return nil
		}
		if r := m.GetReport(); r != nil {
			select {
			case f.reports <- r:
			default:
			}
		}
	}
}

// The executor honours SIGTERM within 2s in the middle of a job at a
// million requests a second against a target that never answers, and
// reports what the job did before it exits.
func TestExecutorSIGTERMMidJob(t *testing.T) {
	hits := make(chan struct{}, 1)
	release := make(chan struct{})
	hang := httptest.NewServer(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		select {
		case hits <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); hang.Close() })

	const count = 10_000_000
	f := &fakeOrchestrator{reports: make(chan *imagerv1.Report, 4), job: &imagerv1.Job{
		JobId: "huge", Round: 0, TargetUrl: hang.URL, Count: count,
		StartAtUnixNanos: time.Now().UnixNano(), DurationNanos: int64(10 * time.Second),
		TimeoutNanos: int64(time.Minute), Requests: []*imagerv1.Request{{Path: "/"}},
	}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := grpc.NewServer()
	imagerv1.RegisterControlPlaneServer(srv, f)
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(srv.Stop)

	// The in-flight cap keeps the wind-down short on a busy machine, so
	// that the report gets out within the shutdown grace; the rest of the
	// million requests a second are dropped, which keeps the pacer busy.
	p := proc.Start(t, bin["executor"], "-orchestrator="+ln.Addr().String(), "-id=sig", "-max-inflight=200",
		fmt.Sprintf("-metrics-port=%d", proc.FreePort(t)), "-log-format=json")
	select {
	case <-hits:
	case <-time.After(20 * time.Second):
		t.Fatalf("the executor sent no request within 20s")
	}
	if err := p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t, 2*time.Second); err != nil {
		t.Errorf("executor exited with %v after SIGTERM, want status 0", err)
	}
	select {
	case r := <-f.reports:
		if r.GetJobId() != "huge" || r.GetSent() == 0 || r.GetPlanned() >= count {
			t.Errorf("report: job %q planned %d sent %d; want the part of job huge that fell due", r.GetJobId(), r.GetPlanned(), r.GetSent())
		}
	default:
		t.Errorf("the executor exited without reporting its job")
	}
}

// An executor whose id the orchestrator refuses exits with status 1 and an
// error naming the id, without retrying.
func TestExecutorRefusedIDExits(t *testing.T) {
	target := startSumservice(t)
	s := startOrchestrator(t, target, "-load-calculator=constant", "-rate=5", "-duration=1m")
	s.addExecutor(t, "twin")
	s.waitExecutors(t, 1)
	port := proc.FreePort(t)
	second := proc.Start(t, bin["executor"], "-orchestrator="+s.grpcAddr, "-id=twin",
		fmt.Sprintf("-metrics-port=%d", port), "-log-format=json")
	err := second.Wait(t, 20*time.Second)
	var exit interface{ ExitCode() int }
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Errorf("second executor with id twin exited with %v, want status 1", err)
	}
	refused := second.Logs("orchestrator refused this executor's id: another live executor has it; give each executor its own id")
	if len(refused) != 1 || refused[0]["id"] != "twin" || refused[0]["level"] != "ERROR" {
		t.Errorf("refusal log lines %v, want one error naming id twin; log:\n%s", refused, second.RawLog())
	}
	if !strings.Contains(second.RawLog(), "executor: -id: orchestrator refused this executor's id") {
		t.Errorf("the executor's exit message does not name -id; log:\n%s", second.RawLog())
	}
}
