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
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/types"
)

// Tests that drive the control plane with a raw gRPC client: the Hello
// handshake, heartbeats and silence, jobs and reports on the stream, and
// how a session ends.

func TestSilentExecutorIsRemoved(t *testing.T) {
	const (
		heartbeat = 100 * time.Millisecond
		timeout   = 300 * time.Millisecond
	)
	ts := startServer(t, control.Config{HeartbeatInterval: heartbeat, ExecutorTimeout: timeout, Version: "v-test"})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)

	st, w := hello(t, ctx, client, "quiet")
	welcomed := time.Now()
	if got := time.Duration(w.GetHeartbeatIntervalNanos()); got != heartbeat || w.GetVersion() != "v-test" {
		t.Errorf("Welcome = (interval %v, version %q), want (%v, v-test)", got, w.GetVersion(), heartbeat)
	}
	joined := await(t, ts.fleet.joins, "Join")

	// Heartbeats keep the executor for several timeouts.
	tick := time.NewTicker(heartbeat)
	for range 3 * int(timeout/heartbeat) {
		<-tick.C
		hb := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{}}}
		if err := st.Send(hb); err != nil {
			t.Fatalf("send Heartbeat: %v", err)
		}
	}
	tick.Stop()
	if l, ok := pending(ts.fleet.leaves); ok {
		t.Fatalf("Leave(%q) while heartbeating, want none", l.reason)
	}

	// Then silence removes it.
	silentFrom := time.Now()
	left := await(t, ts.fleet.leaves, "Leave of the silent executor")
	if el := time.Since(silentFrom); el < timeout {
		t.Errorf("Leave after %v of silence, want at least %v", el, timeout)
	}
	if left.e != joined || !strings.Contains(left.reason, "silent") {
		t.Errorf("Leave(%s, %q), want the joined session and a reason containing \"silent\"", left.e.ID(), left.reason)
	}
	if _, err := st.Recv(); status.Code(err) != codes.DeadlineExceeded {
		t.Errorf("client Recv after removal = %v, want code DeadlineExceeded", err)
	}
	if el := time.Since(welcomed); el < 4*timeout {
		t.Errorf("session lasted %v, want at least %v (heartbeats then a timeout)", el, 4*timeout)
	}
}

func TestClosedStreamLeaves(t *testing.T) {
	tests := []struct {
		name  string
		close func(st rawStream, cancel context.CancelFunc)
	}{
		{name: "close send", close: func(st rawStream, _ context.CancelFunc) { _ = st.CloseSend() }},
		{name: "cancel", close: func(_ rawStream, cancel context.CancelFunc) { cancel() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A long timeout: a prompt Leave shows the close was noticed.
			ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
			client := dial(t, ts.addr)
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			st, _ := hello(t, ctx, client, "closer")
			joined := await(t, ts.fleet.joins, "Join")

			tt.close(st, cancel)
			left := await(t, ts.fleet.leaves, "Leave")
			if left.e != joined || left.reason == "" || strings.Contains(left.reason, "silent") {
				t.Errorf("Leave(%s, %q), want the joined session and a reason other than silence", left.e.ID(), left.reason)
			}
			if err := joined.Dispatch(tally.Job{ID: "late"}); err == nil {
				t.Errorf("Dispatch after the session ended = nil, want an error")
			}
		})
	}
}

func TestFirstMessageMustBeHello(t *testing.T) {
	tests := []struct {
		name  string
		first *imagerv1.ExecutorMessage
	}{
		{name: "heartbeat", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{}}}},
		{name: "report", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: &imagerv1.Report{JobId: "x"}}}},
		{name: "hello without id", first: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{Capacity: 1}}}},
		{name: "empty", first: &imagerv1.ExecutorMessage{}},
	}
	ts := startServer(t, control.Config{})
	client := dial(t, ts.addr)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			st := connect(t, ctx, client)
			if err := st.Send(tt.first); err != nil && !errors.Is(err, io.EOF) {
				t.Fatalf("Send: %v", err)
			}
			msg, err := st.Recv()
			if status.Code(err) != codes.InvalidArgument {
				t.Errorf("Recv = (%v, %v), want code InvalidArgument", msg, err)
			}
		})
	}
	if e, ok := pending(ts.fleet.joins); ok {
		t.Errorf("Join(%q) without a valid Hello", e.ID())
	}
}

func TestDispatchReachesStreamAndReportsReturn(t *testing.T) {
	ts := startServer(t, control.Config{})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, _ := hello(t, ctx, client, "raw")
	e := await(t, ts.fleet.joins, "Join")
	if e.Capacity() != 2 {
		t.Errorf("Capacity = %d, want 2 from the Hello", e.Capacity())
	}

	start := time.Unix(1_800_000_000, 123)
	job := tally.Job{ID: "r1-raw", Round: 1, TargetURL: "http://127.0.0.1:1", StartAt: start, Duration: time.Second, Count: 3,
		Requests: []types.RequestSpec{{Method: "GET", Path: "/a"}}}
	if err := e.Dispatch(job); err != nil {
		t.Fatalf("Dispatch: %v", err)
	}
	msg, err := st.Recv()
	if err != nil {
		t.Fatalf("Recv job: %v", err)
	}
	got := wire.JobToTally(msg.GetJob())
	if got.ID != job.ID || got.Count != job.Count || !got.StartAt.Equal(start) || len(got.Requests) != 1 {
		t.Errorf("received job %+v, want %+v", got, job)
	}

	rep := tally.NewReport(job.ID, job.Round)
	rep.Planned, rep.Sent, rep.Success, rep.Dropped = 3, 2, 2, 1
	out, err := wire.ReportFromTally(rep)
	if err != nil {
		t.Fatalf("ReportFromTally: %v", err)
	}
	// An undecodable report is dropped, the next one still arrives.
	bad := &imagerv1.Report{JobId: "broken", LatencyHistogram: []byte{1, 2, 3}}
	for _, r := range []*imagerv1.Report{bad, out} {
		if err := st.Send(&imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: r}}); err != nil {
			t.Fatalf("send Report: %v", err)
		}
	}
	rc := await(t, ts.fleet.reports, "Report")
	if rc.executorID != "raw" || rc.rep.JobID != job.ID || rc.rep.Counts != rep.Counts {
		t.Errorf("Report(%q, job %q, %+v), want (raw, %q, %+v)", rc.executorID, rc.rep.JobID, rc.rep.Counts, job.ID, rep.Counts)
	}
	awaitLine(t, ts.logs, "unreadable report", "job=broken")
}

func TestServeStopsOnCancel(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, _ := hello(t, ctx, client, "stay")
	e := await(t, ts.fleet.joins, "Join")

	if err := ts.stop(t); err != nil {
		t.Errorf("Serve after cancel = %v, want nil", err)
	}
	left := await(t, ts.fleet.leaves, "Leave")
	if left.e != e || !strings.Contains(left.reason, "stopping") {
		t.Errorf("Leave(%s, %q), want the session and a reason containing \"stopping\"", left.e.ID(), left.reason)
	}
	if _, err := st.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("client Recv after server stop = %v, want io.EOF (stream ended cleanly)", err)
	}
	if err := e.Dispatch(tally.Job{ID: "after-stop"}); err == nil {
		t.Errorf("Dispatch after Serve returned = nil, want an error")
	}
}

func TestNoHelloIsTimedOut(t *testing.T) {
	const timeout = 300 * time.Millisecond
	ts := startServer(t, control.Config{HeartbeatInterval: 100 * time.Millisecond, ExecutorTimeout: timeout})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	st := connect(t, ctx, client)
	start := time.Now()
	_, err := st.Recv()
	// The server's status, not the client's own deadline.
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(status.Convert(err).Message(), "Hello") {
		t.Errorf("Recv without a Hello = %v, want code DeadlineExceeded from the server naming the Hello", err)
	}
	if el := time.Since(start); el < timeout {
		t.Errorf("stream ended after %v, want at least the executor timeout %v", el, timeout)
	}
	if e, ok := pending(ts.fleet.joins); ok {
		t.Errorf("Join(%q) without a Hello", e.ID())
	}
}

func TestServeStopsPromptlyWithoutHello(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	mute := connect(t, ctx, client)
	// A second stream on the same connection, opened after the mute one:
	// once it is welcomed the server has seen the mute stream too.
	hello(t, ctx, client, "talker")
	await(t, ts.fleet.joins, "Join")

	start := time.Now()
	if err := ts.stop(t); err != nil {
		t.Errorf("Serve = %v, want nil", err)
	}
	// Serve falls back to a hard stop after 5s; a stream waiting for its
	// Hello must not hold it that long.
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("Serve returned %v after cancel, want promptly", el)
	}
	if _, err := mute.Recv(); status.Code(err) != codes.Unavailable || !strings.Contains(status.Convert(err).Message(), "stopping") {
		t.Errorf("Recv on the stream without a Hello = %v, want code Unavailable, orchestrator stopping", err)
	}
}
