package control_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/control"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Tests of what an executor may claim and do: bounded claims, unique ids,
// repeat offenders and connections that never finish their handshake.

// helloAs opens a stream and sends h; it returns the stream and the
// orchestrator's first answer: a Welcome, or the error ending the stream.
func helloAs(t *testing.T, ctx context.Context, client imagerv1.ControlPlaneClient, h *imagerv1.Hello) (rawStream, error) {
	t.Helper()
	st := connect(t, ctx, client)
	if err := st.Send(&imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: h}}); err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("send Hello: %v", err)
	}
	first, err := st.Recv()
	if err != nil {
		return st, err
	}
	if first.GetWelcome() == nil {
		t.Fatalf("first message = %v, want a Welcome", first)
	}
	return st, nil
}

// awaitEnd waits for the server to end st and returns its status.
func awaitEnd(t *testing.T, st rawStream) *status.Status {
	t.Helper()
	errc := make(chan error, 1)
	go func() {
		for {
			if _, err := st.Recv(); err != nil {
				errc <- err
				return
			}
		}
	}()
	return status.Convert(await(t, errc, "end of the stream"))
}

func TestClaimsAreClamped(t *testing.T) {
	tests := []struct {
		name          string
		capacity      int32
		maxInFlight   int32
		wantCapacity  int
		wantWarnLines []string
	}{
		{"huge", 2_000_000_000, 2_000_000_000, control.MaxCapacity,
			[]string{"capacity claim out of bounds", "max_inflight claim out of bounds"}},
		{"negative", -5, -1, 1, []string{"capacity claim out of bounds", "max_inflight claim out of bounds"}},
		{"honest", 8, 1000, 8, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := startServer(t, control.Config{Version: "v1"})
			ctx, cancel := context.WithCancel(context.Background())
			t.Cleanup(cancel)
			h := &imagerv1.Hello{ExecutorId: "claimer", Capacity: tt.capacity, MaxInflight: tt.maxInFlight, Version: "v0"}
			if _, err := helloAs(t, ctx, dial(t, ts.addr), h); err != nil {
				t.Fatalf("Hello refused: %v (claims are clamped, not refused)", err)
			}
			if e := await(t, ts.fleet.joins, "Join"); e.Capacity() != tt.wantCapacity {
				t.Errorf("capacity %d, want %d", e.Capacity(), tt.wantCapacity)
			}
			for _, w := range tt.wantWarnLines {
				awaitLine(t, ts.logs, "level=WARN", w, "executor=claimer")
			}
			if tt.wantWarnLines == nil && strings.Contains(ts.logs.String(), "out of bounds") {
				t.Errorf("honest claims warned of:\n%s", ts.logs.String())
			}
			// A version mismatch is logged, not refused.
			awaitLine(t, ts.logs, "level=WARN", "another version", "executor_version=v0", "orchestrator_version=v1")
		})
	}
}

func TestDuplicateExecutorID(t *testing.T) {
	// Long heartbeats: the first session stays live throughout.
	ts := startServer(t, control.Config{HeartbeatInterval: 10 * time.Second, ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	first, err := helloAs(t, ctx, client, &imagerv1.Hello{ExecutorId: "dup", Capacity: 1, Instance: "proc-1"})
	if err != nil {
		t.Fatalf("first Hello: %v", err)
	}
	joined := await(t, ts.fleet.joins, "Join")

	// Another process with the id, or one that sends no instance, is refused.
	for _, inst := range []string{"proc-2", ""} {
		_, err := helloAs(t, ctx, client, &imagerv1.Hello{ExecutorId: "dup", Capacity: 1, Instance: inst})
		st := status.Convert(err)
		if st.Code() != codes.AlreadyExists || !strings.Contains(st.Message(), `"dup"`) || !strings.Contains(st.Message(), "127.0.0.1:") {
			t.Errorf("instance %q: Hello = %v, want AlreadyExists naming the id and the holder's address", inst, err)
		}
		awaitLine(t, ts.logs, "level=WARN", "executor rejected", "executor=dup", "holder=127.0.0.1:")
	}
	if e, ok := pending(ts.fleet.joins); ok {
		t.Fatalf("a refused duplicate joined: %v", e.ID())
	}

	// The same process reconnecting replaces its previous stream.
	if _, err := helloAs(t, ctx, client, &imagerv1.Hello{ExecutorId: "dup", Capacity: 1, Instance: "proc-1"}); err != nil {
		t.Fatalf("the same instance reconnecting was refused: %v", err)
	}
	if got := awaitEnd(t, first); got.Code() != codes.Aborted {
		t.Errorf("replaced stream ended with %v, want Aborted", got)
	}
	left := await(t, ts.fleet.leaves, "Leave of the replaced session")
	if left.e != joined || !strings.Contains(left.reason, "replaced") {
		t.Errorf("Leave(%v, %q), want the first session, replaced", left.e.ID(), left.reason)
	}
	if again := await(t, ts.fleet.joins, "Join of the reconnection"); again == joined || again.ID() != "dup" {
		t.Errorf("rejoined %v, want a new session for dup", again.ID())
	}
}

func TestSilentHolderLosesItsID(t *testing.T) {
	const heartbeat = 20 * time.Millisecond
	ts := startServer(t, control.Config{HeartbeatInterval: heartbeat, ExecutorTimeout: time.Minute})
	client := dial(t, ts.addr)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	first, err := helloAs(t, ctx, client, &imagerv1.Hello{ExecutorId: "pod-0", Capacity: 1, Instance: "old"})
	if err != nil {
		t.Fatalf("first Hello: %v", err)
	}
	await(t, ts.fleet.joins, "Join")
	// The holder says nothing for longer than three heartbeats: a
	// restarted process may take the id over (a pod keeps its name).
	time.Sleep(4 * heartbeat)
	if _, err := helloAs(t, ctx, client, &imagerv1.Hello{ExecutorId: "pod-0", Capacity: 1, Instance: "new"}); err != nil {
		t.Fatalf("Hello over a silent holder: %v", err)
	}
	if got := awaitEnd(t, first); got.Code() != codes.Aborted {
		t.Errorf("silent holder's stream ended with %v, want Aborted", got)
	}
	awaitLine(t, ts.logs, "level=WARN", "taken over from a silent stream", "executor=pod-0")
}

func TestRepeatOffenderDisconnected(t *testing.T) {
	ts := startServer(t, control.Config{ExecutorTimeout: time.Minute, MaxRefusedReports: 3})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := helloAs(t, ctx, dial(t, ts.addr), &imagerv1.Hello{ExecutorId: "forger", Capacity: 1})
	if err != nil {
		t.Fatalf("Hello: %v", err)
	}
	joined := await(t, ts.fleet.joins, "Join")
	listener, ok := joined.(manager.RefusalListener)
	if !ok {
		t.Fatalf("session %T does not hear of refused reports", joined)
	}
	// An unreadable report counts as a refused one.
	bad := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: &imagerv1.Report{JobId: "r0", LatencyHistogram: []byte("garbage")}}}
	if err := st.Send(bad); err != nil {
		t.Fatalf("send report: %v", err)
	}
	awaitLine(t, ts.logs, "unreadable report", "executor=forger")
	// The reason of the Leave below shows the count reached three first.
	listener.ReportRefused("r1", errors.New("success is negative (-5)"))
	listener.ReportRefused("r2", errors.New("it plans 20 requests, the job 10"))
	if got := awaitEnd(t, st); got.Code() != codes.PermissionDenied || !strings.Contains(got.Message(), "plans 20 requests") {
		t.Errorf("stream ended with %v, want PermissionDenied naming the last refusal", got)
	}
	left := await(t, ts.fleet.leaves, "Leave")
	if left.e != joined || !strings.Contains(left.reason, "3 refused reports") {
		t.Errorf("Leave(%v, %q), want the forger after 3 refused reports", left.e.ID(), left.reason)
	}
	awaitLine(t, ts.logs, "level=WARN", "too many refused reports", "executor=forger", "refused=3")
	if n := gatherCounter(t, ts.reg, "imager_orchestrator_reports_refused_total"); n != 1 {
		t.Errorf("reports refused = %v, want 1 (the unreadable one; the scheduler counts its own)", n)
	}
}

func TestUnfinishedHandshakeIsCut(t *testing.T) {
	const handshake = 200 * time.Millisecond
	ts := startServer(t, control.Config{HandshakeTimeout: handshake})
	conn, err := net.Dial("tcp", ts.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	_ = conn.SetReadDeadline(start.Add(waitLimit))
	// Say nothing: no HTTP/2 preface ever comes.
	if _, err := io.Copy(io.Discard, conn); err != nil {
		t.Fatalf("connection not closed within %v: %v", waitLimit, err)
	}
	if el := time.Since(start); el < handshake/2 {
		t.Errorf("closed after %v, before the handshake timeout %v", el, handshake)
	}
}

func TestOverlongIDRefused(t *testing.T) {
	ts := startServer(t, control.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, err := helloAs(t, ctx, dial(t, ts.addr), &imagerv1.Hello{ExecutorId: strings.Repeat("x", 300), Capacity: 1})
	if st := status.Convert(err); st.Code() != codes.InvalidArgument || !strings.Contains(st.Message(), "executor_id is 300 bytes") {
		t.Errorf("Hello with a 300-byte id = %v, want InvalidArgument naming its length", err)
	}
}
