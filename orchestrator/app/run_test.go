package app_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/executor"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// runWithRemoteExecutor runs the orchestrator on loopback listeners with
// one executor connected over gRPC, and returns the finished rounds.
func runWithRemoteExecutor(t *testing.T, maxInFlight int, args ...string) ([]manager.RoundResult, manager.Summary) {
	t.Helper()
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	cfg, err := app.ParseConfig(append([]string{
		"-target-mode=url", "-target-url=" + target.URL, "-request-source-type=random-sum", "-seed=3", "-listen-port=0",
	}, args...))
	if err != nil {
		t.Fatal(err)
	}
	grpcLis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ex, err := executor.New(executor.Config{Orchestrator: grpcLis.Addr().String(), ID: "remote", Workers: 1, MaxInFlight: maxInFlight, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	exDone := make(chan error, 1)
	go func() { exDone <- ex.Run(ctx) }()

	var rounds []manager.RoundResult
	var sum manager.Summary
	err = app.Run(ctx, cfg, app.RunOptions{
		Logger:       quiet,
		GRPCListener: grpcLis,
		OnRound:      func(r *manager.RoundResult) { rounds = append(rounds, *r) },
		OnSummary:    func(s manager.Summary) { sum = s },
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	cancel()
	if err := <-exDone; err != nil {
		t.Errorf("executor Run: %v", err)
	}
	return rounds, sum
}

// A high-rate round puts far more than gRPC's default 4 MiB into one job;
// it must still reach the executor and come back accounted for.
func TestLargeJobCrossesControlPlane(t *testing.T) {
	if testing.Short() {
		t.Skip("sends a 200,000-request job")
	}
	const rps = 200_000
	// A cap of 5 in flight drops nearly everything, which keeps the load
	// on this machine small: the point is the size of the job message.
	rounds, sum := runWithRemoteExecutor(t, 5, "-load-calculator=step", "-min-rps=200000", "-max-rps=200000",
		"-step-rps=1", "-duration=1s", "-random-sum-min=1000000", "-random-sum-max=9999999")
	if len(rounds) != 1 {
		t.Fatalf("got %d rounds, want 1", len(rounds))
	}
	r := rounds[0]
	if r.Planned != rps || r.Accounted() != rps {
		t.Errorf("planned %d, accounted %d, want %d each: %+v", r.Planned, r.Accounted(), rps, r.Counts)
	}
	if r.Lost != 0 {
		t.Errorf("lost %d requests: the job did not make it through the control plane", r.Lost)
	}
	if r.Sent == 0 || r.Dropped == 0 || r.Sent+r.Dropped != rps {
		t.Errorf("sent %d dropped %d, want both non-zero and together %d", r.Sent, r.Dropped, rps)
	}
	if sum.Planned != rps {
		t.Errorf("summary planned %d, want %d", sum.Planned, rps)
	}
}

func TestRunWithRemoteExecutor(t *testing.T) {
	rounds, sum := runWithRemoteExecutor(t, 100, "-load-calculator=exponential", "-min-rps=10", "-max-rps=80",
		"-duration=2s", "-round-interval=500ms")
	// Rounds of 500ms at 10, 20, 40, 80 rps carry 5, 10, 20, 40 requests.
	want := []int64{5, 10, 20, 40}
	if len(rounds) != len(want) {
		t.Fatalf("got %d rounds, want %d", len(rounds), len(want))
	}
	var total int64
	for i, r := range rounds {
		if r.Planned != want[i] || r.Success != want[i] {
			t.Errorf("round %d: planned %d success %d, want %d each", i, r.Planned, r.Success, want[i])
		}
		total += r.Planned
	}
	if sum.Success != total || sum.Rounds != len(want) {
		t.Errorf("summary %d rounds, %d successes; want %d and %d", sum.Rounds, sum.Success, len(want), total)
	}
}
