package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
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
	ex, err := executor.New(executor.Config{Orchestrator: grpcLis.Addr().String(), ID: "remote", Capacity: 1, MaxInFlight: maxInFlight, Logger: quiet})
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
	if r.Counts.Planned != rps || r.Counts.Accounted() != rps {
		t.Errorf("planned %d, accounted %d, want %d each: %+v", r.Counts.Planned, r.Counts.Accounted(), rps, r.Counts)
	}
	if r.Counts.Lost != 0 {
		t.Errorf("lost %d requests: the job did not make it through the control plane", r.Counts.Lost)
	}
	if r.Counts.Sent == 0 || r.Counts.Dropped == 0 || r.Counts.Sent+r.Counts.Dropped != rps {
		t.Errorf("sent %d dropped %d, want both non-zero and together %d", r.Counts.Sent, r.Counts.Dropped, rps)
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
		if r.Counts.Planned != want[i] || r.Counts.Success != want[i] {
			t.Errorf("round %d: planned %d success %d, want %d each", i, r.Counts.Planned, r.Counts.Success, want[i])
		}
		total += r.Counts.Planned
	}
	if sum.Success != total || sum.Rounds != len(want) {
		t.Errorf("summary %d rounds, %d successes; want %d and %d", sum.Rounds, sum.Success, len(want), total)
	}
}

// writeScenario writes content as scenario.lua in a fresh folder and
// returns its path.
func writeScenario(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.lua")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A custom factory that falls back to the built-ins gets Lua VMs that log
// to the run's logger, not to slog.Default().
func TestBuiltInFallbackLogsToTheRunLogger(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	path := writeScenario(t, `function setup() print("setup says hello") end
function request() return {path = "/lua"} end
function rps(round) if round.index < 1 then return 5 end return nil end
`)
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=" + target.URL, "-scenario=" + path,
		"-round-interval=100ms", "-listen-port=0", "-grpc-port=0"})
	if err != nil {
		t.Fatal(err)
	}
	var logs proc.Buffer
	var calls atomic.Int32
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = app.Run(ctx, cfg, app.RunOptions{
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), LocalExecutors: 1,
		RequestSourceFactory: app.RequestSourceFactoryFunc(func(cfg app.Config) (types.RequestSource, error) {
			calls.Add(1)
			return app.NewBuiltInRequestSource(cfg)
		}),
		LoadCalculatorFactory: app.LoadCalculatorFactoryFunc(func(cfg app.Config) (manager.LoadCalculator, error) {
			calls.Add(1)
			return app.NewBuiltInLoadCalculator(cfg)
		}),
	})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if calls.Load() != 2 {
		t.Errorf("the custom factories were called %d times, want 2", calls.Load())
	}
	// One VM for the source and one for the calculator run setup; the
	// probe that finds the scenario's roles logs nothing.
	if n := strings.Count(logs.String(), "setup says hello"); n != 2 {
		t.Errorf("the run's logger got %d setup lines, want 2:\n%s", n, logs.String())
	}
}

// A service that fails ends the test at once with that service's error.
func TestFailedServiceEndsTheRun(t *testing.T) {
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer target.Close()
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=" + target.URL, "-rate=5",
		"-round-interval=100ms", "-grpc-port=0"})
	if err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	lis.Close() // the HTTP server fails as it starts
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = app.Run(ctx, cfg, app.RunOptions{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), LocalExecutors: 1, HTTPListener: lis,
	})
	if err == nil || !strings.Contains(err.Error(), "http server") || errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want the HTTP server's failure", err)
	}
	if ctx.Err() != nil {
		t.Fatal("Run went on until the test's deadline")
	}
}
