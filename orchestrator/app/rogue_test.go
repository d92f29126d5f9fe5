package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/executor"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// The rogue executor: a real gRPC client, written here, that joins the real
// orchestrator with the right token and lies in every report.

// forgery turns a job into a lying report.
type forgery struct {
	name string
	// counts are the report's counts for a job of count requests;
	// histogram is how many latencies it records.
	counts    func(count int64) tally.Counts
	histogram func(count int64) int64
	// refusal is part of the orchestrator's reason for refusing it.
	refusal string
}

var forgeries = []forgery{
	{"inflated", func(c int64) tally.Counts { return tally.Counts{Planned: c, Sent: c, Success: 20000} },
		func(c int64) int64 { return c }, "outcomes add up to"},
	{"negative", func(c int64) tally.Counts { return tally.Counts{Planned: c, Sent: c, Success: c + 5, Dropped: -5} },
		func(c int64) int64 { return c }, "dropped is negative"},
	{"more planned than the job", func(c int64) tally.Counts { return tally.Counts{Planned: 2 * c, Sent: 2 * c, Success: 2 * c} },
		func(c int64) int64 { return 2 * c }, "requests, the job"},
	{"histogram disagrees", func(c int64) tally.Counts { return tally.Counts{Planned: c, Sent: c, Success: c} },
		func(c int64) int64 { return c + 3 }, "latency histogram holds"},
}

// forge is the report f makes of job.
func forge(t *testing.T, f forgery, job *imagerv1.Job) *imagerv1.ExecutorMessage {
	rep := tally.NewReport(job.GetJobId(), job.GetRound())
	rep.Counts = f.counts(job.GetCount())
	for range f.histogram(job.GetCount()) {
		_ = rep.Latency.RecordValue(1000)
	}
	out, err := wire.ReportFromTally(rep)
	if err != nil {
		t.Errorf("encode forged report: %v", err)
	}
	return &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: out}}
}

// rogueResult is what the rogue saw: how each of its sessions ended and
// how many requests it was given.
type rogueResult struct {
	ends      []codes.Code
	requests  int64
	forgeries int
}

// runRogue joins as hello and answers every job with the next forgery
// (the last one repeated), reconnecting when it is disconnected, for at
// most three sessions, until the orchestrator says the test is over or ctx
// ends.
func runRogue(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient, hello *imagerv1.Hello) rogueResult {
	var res rogueResult
	for range 3 {
		code, done := res.session(t, ctx, client, hello)
		res.ends = append(res.ends, code)
		if done || ctx.Err() != nil {
			break
		}
	}
	return res
}

// session is one of the rogue's streams, from its Hello to its end. It
// returns how the stream ended (OK when the test was over) and whether the
// orchestrator said the test is over.
func (res *rogueResult) session(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient, hello *imagerv1.Hello) (codes.Code, bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // closes the stream
	st, err := sayHello(ctx, client, hello)
	if err != nil {
		return status.Code(err), false
	}
	for {
		m, err := st.Recv()
		if err != nil {
			return status.Code(err), false
		}
		if m.GetDone() != nil {
			return codes.OK, true
		}
		if job := m.GetJob(); job != nil {
			res.requests += job.GetCount()
			f := forgeries[min(res.forgeries, len(forgeries)-1)]
			res.forgeries++
			// A failed send shows as the end of the stream on Recv.
			_ = st.Send(forge(t, f, job))
		}
	}
}

func TestRogueExecutorCannotForgeResults(t *testing.T) {
	target, hits := countingTarget(t)
	const token = "right-token"
	// No -duration: the test runs until every forgery has been refused.
	a := startApp(t, target, "-auth-token-file="+writeToken(t, token), "-rate=40", "-round-interval=250ms",
		"-expect-executors=2", "-executor-wait=30s")
	client := dialControl(t, a.addr(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	for _, tok := range []string{"wrong-token", ""} {
		_, err := sayHello(ctx, client, &imagerv1.Hello{ExecutorId: "rogue", Capacity: 1, AuthToken: tok})
		if status.Code(err) != codes.Unauthenticated {
			t.Errorf("Hello with token %q = %v, want Unauthenticated", tok, err)
		}
	}

	// The honest executor claims the most capacity believed.
	ex, err := executor.New(executor.Config{Orchestrator: a.addr(), ID: "honest", Capacity: control.MaxCapacity,
		AuthToken: token, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	exDone := make(chan error, 1)
	go func() { exDone <- ex.Run(ctx) }()
	defer func() { cancel(); <-exDone }()
	a.awaitLog(t, "executor connected", "executor=honest")

	_, err = sayHello(ctx, client, &imagerv1.Hello{ExecutorId: "honest", Capacity: 1, AuthToken: token, Instance: "imposter"})
	if st := status.Convert(err); st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), `"honest"`) {
		t.Errorf("Hello with the honest executor's id = %v, want AlreadyExists naming it", err)
	}

	rogueDone := make(chan rogueResult, 1)
	go func() {
		rogueDone <- runRogue(t, ctx, client, &imagerv1.Hello{ExecutorId: "rogue", Capacity: 2_000_000_000,
			MaxInflight: 2_000_000_000, AuthToken: token, Instance: "rogue-1"})
	}()
	// Every kind of forgery is refused, and the rogue is disconnected
	// after the third.
	for _, f := range forgeries {
		a.awaitLog(t, "report refused", "executor=rogue", f.refusal)
	}
	a.awaitLog(t, "level=WARN", "too many refused reports", "executor=rogue", "refused=3")
	a.cancel()
	rounds, sum, runErr := a.wait(t)
	if !errors.Is(runErr, context.Canceled) {
		t.Fatalf("Run = %v, want it stopped and passed (the honest executor's requests succeeded)", runErr)
	}
	rogue := <-rogueDone

	// The forged reports changed nothing: no more succeeded than the
	// target served, and the rogue's requests are lost.
	if got := hits.Load(); sum.Success == 0 || sum.Success > got {
		t.Errorf("summary success %d, the target served %d", sum.Success, got)
	}
	if rogue.requests == 0 || sum.Lost < rogue.requests {
		t.Errorf("lost %d, want at least the %d requests of the rogue's jobs", sum.Lost, rogue.requests)
	}
	c := sum.Counts
	for _, v := range []int64{c.Planned, c.Sent, c.Success, c.ClientErrors, c.ServerErrors, c.Timeouts, c.ConnErrors, c.Dropped, c.Lost} {
		if v < 0 {
			t.Errorf("negative count in the summary: %+v", c)
		}
	}
	if c.Accounted() != sum.Planned {
		t.Errorf("planned %d, accounted %d", sum.Planned, c.Accounted())
	}
	// Both claims clamped to MaxCapacity: round 0 is split evenly, and
	// the honest executor's half succeeded.
	if len(rounds) == 0 || rounds[0].Counts.Planned != 10 || rounds[0].Counts.Success != 5 || rounds[0].Counts.Lost != 5 {
		t.Errorf("rounds %+v, want round 0 to have 5 successes (the honest half) and 5 lost", rounds)
	}
	a.awaitLog(t, "level=WARN", "capacity claim out of bounds", "executor=rogue", "capacity=1024")
	if len(rogue.ends) == 0 || rogue.ends[0] != codes.PermissionDenied {
		t.Errorf("rogue's sessions ended with %v, the first want PermissionDenied", rogue.ends)
	}
	// A report sent as the stream was cut, or after the test, is not
	// counted; every other one is refused.
	if n := strings.Count(a.logs.String(), "report refused"); n < len(forgeries) || n > rogue.forgeries {
		t.Errorf("%d reports refused, want %d to %d", n, len(forgeries), rogue.forgeries)
	}
}
