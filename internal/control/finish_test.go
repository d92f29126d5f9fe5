package control_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/internal/executor"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// finishAsync runs Finish in the background and returns a channel that
// receives how long it took.
func finishAsync(ts *testServer, passed bool, reason string) <-chan time.Duration {
	took := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		ts.srv.Finish(passed, reason)
		took <- time.Since(start)
	}()
	return took
}

// Finish sends Done on every open stream, waits for the executors to close
// them, and turns away executors that connect afterwards.
func TestFinishSendsDoneAndWaitsForClose(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	streams := []rawStream{}
	for _, id := range []string{"a", "b"} {
		st, _ := hello(t, ctx, client, id)
		streams = append(streams, st)
		await(t, ts.fleet.joins, "Join of "+id)
	}

	took := finishAsync(ts, false, "aborted")
	for i, st := range streams {
		m, err := st.Recv()
		if err != nil {
			t.Fatalf("stream %d: Recv after Finish = %v, want Done", i, err)
		}
		d := m.GetDone()
		if d == nil || d.GetPassed() || d.GetReason() != "aborted" {
			t.Fatalf("stream %d: got %v, want Done(passed false, reason aborted)", i, m)
		}
	}
	if d, ok := pending(took); ok {
		t.Fatalf("Finish returned after %v with both streams still open, want it to wait for them", d)
	}
	for i, st := range streams {
		if err := st.CloseSend(); err != nil {
			t.Fatalf("stream %d: CloseSend: %v", i, err)
		}
		if _, err := st.Recv(); !errors.Is(err, io.EOF) {
			t.Errorf("stream %d: Recv after CloseSend = %v, want io.EOF (the server ends the stream)", i, err)
		}
	}
	if d := await(t, took, "return from Finish"); d >= control.FinishTimeout {
		t.Errorf("Finish took %v although every executor closed its stream, want less than %v", d, control.FinishTimeout)
	}
	for range streams {
		if l := await(t, ts.fleet.leaves, "Leave"); !strings.Contains(l.reason, "closed by the executor") {
			t.Errorf("Leave(%s, %q), want a reason saying the executor closed the stream", l.e.ID(), l.reason)
		}
	}

	// Too late: the test is over.
	st := connect(t, ctx, client)
	if err := st.Send(helloMsg("late")); err != nil {
		t.Fatalf("send Hello: %v", err)
	}
	if _, err := st.Recv(); status.Code(err) != codes.Unavailable {
		t.Errorf("Recv after a Hello past Finish = %v, want code Unavailable", err)
	}
	if e, ok := pending(ts.fleet.joins); ok {
		t.Errorf("Join(%q) after Finish, want none", e.ID())
	}
	// A second Finish has nothing to do.
	if d := await(t, finishAsync(ts, true, "again"), "return from a second Finish"); d > time.Second {
		t.Errorf("second Finish took %v, want it to return at once", d)
	}
}

// An executor that ignores Done holds Finish up for FinishTimeout at most;
// then stopping the server ends its stream.
func TestFinishIsBounded(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, _ := hello(t, ctx, client, "deaf")
	await(t, ts.fleet.joins, "Join")

	took := finishAsync(ts, true, "completed")
	if m, err := st.Recv(); err != nil || m.GetDone() == nil {
		t.Fatalf("Recv after Finish = %v, %v; want Done", m, err)
	}
	d := await(t, took, "return from Finish")
	if d < control.FinishTimeout || d > control.FinishTimeout+time.Second {
		t.Errorf("Finish took %v with the stream left open, want about %v", d, control.FinishTimeout)
	}
	if err := ts.stop(t); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("Recv after the server stopped = %v, want io.EOF", err)
	}
}

// A real executor started with ExitWhenDone leaves on Done, which lets
// Finish return at once.
func TestFinishWithRealExecutor(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	logs, _ := runExecutor(t, executor.Config{Orchestrator: ts.addr, ID: "real", Capacity: 1, ExitWhenDone: true})
	await(t, ts.fleet.joins, "Join")

	if d := await(t, finishAsync(ts, true, "completed"), "return from Finish"); d >= control.FinishTimeout {
		t.Errorf("Finish took %v, want the executor to close its stream well before %v", d, control.FinishTimeout)
	}
	awaitLine(t, logs, "level=INFO", "test finished; exiting", "passed=true", "reason=completed")
}

// helloMsg is a Hello from id.
func helloMsg(id string) *imagerv1.ExecutorMessage {
	return &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{ExecutorId: id, Capacity: 1}}}
}
