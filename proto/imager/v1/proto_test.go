package imagerv1_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// sampleJob returns a Job with every field set to a non-zero value.
func sampleJob() *imagerv1.Job {
	return &imagerv1.Job{
		JobId:            "job-7",
		Round:            3,
		TargetUrl:        "http://127.0.0.1:8080",
		StartAtUnixNanos: 1_700_000_000_000_000_000,
		DurationNanos:    int64(time.Second),
		Count:            250,
		TimeoutNanos:     int64(time.Minute),
		Requests: []*imagerv1.Request{
			{
				Method:  "POST",
				Path:    "/sum",
				Query:   "a=1&b=2",
				Headers: []*imagerv1.Header{{Name: "Content-Type", Value: "application/json"}},
				Body:    []byte(`{"values":[1,2,3]}`),
			},
			{Method: "GET", Path: "/healthz"},
		},
	}
}

// sampleReport returns a Report with every field set to a non-zero value.
func sampleReport() *imagerv1.Report {
	return &imagerv1.Report{
		JobId:              "job-7",
		Round:              3,
		Planned:            250,
		Sent:               248,
		Success:            240,
		ClientErrors:       3,
		ServerErrors:       2,
		Timeouts:           1,
		ConnectionErrors:   1,
		Dropped:            2,
		ResponseBytes:      123_456,
		LatencyHistogram:   []byte{0x1c, 0x84, 0x93, 0x14, 0x00},
		ServiceHistogram:   []byte{0x1c, 0x84, 0x93, 0x14, 0x01},
		FirstSendUnixNanos: 1_700_000_000_000_000_000,
		LastSendUnixNanos:  1_700_000_000_990_000_000,
		Error:              "partial: 2 dropped",
	}
}

// roundTrip marshals msg and unmarshals the bytes into a new message of the
// same type.
func roundTrip[M proto.Message](t *testing.T, msg M) M {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatalf("proto.Marshal(%T): %v", msg, err)
	}
	got := msg.ProtoReflect().New().Interface().(M)
	if err := proto.Unmarshal(b, got); err != nil {
		t.Fatalf("proto.Unmarshal(%T): %v", msg, err)
	}
	return got
}

func TestRoundTripPlainMessages(t *testing.T) {
	tests := []struct {
		name string
		msg  proto.Message
	}{
		{name: "job", msg: sampleJob()},
		{name: "report", msg: sampleReport()},
		{name: "empty job", msg: &imagerv1.Job{}},
		{name: "empty report", msg: &imagerv1.Report{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, tt.msg)
			if !proto.Equal(got, tt.msg) {
				t.Errorf("round trip mismatch:\n got: %v\nwant: %v", got, tt.msg)
			}
		})
	}
}

func TestRoundTripJobFields(t *testing.T) {
	got := roundTrip(t, sampleJob())
	want := sampleJob()
	if got.GetTargetUrl() != want.GetTargetUrl() || got.GetCount() != want.GetCount() {
		t.Errorf("got target %q count %d, want %q %d",
			got.GetTargetUrl(), got.GetCount(), want.GetTargetUrl(), want.GetCount())
	}
	if n := len(got.GetRequests()); n != 2 {
		t.Fatalf("got %d requests, want 2", n)
	}
	h := got.GetRequests()[0].GetHeaders()
	if len(h) != 1 || h[0].GetName() != "Content-Type" || h[0].GetValue() != "application/json" {
		t.Errorf("got headers %v, want one Content-Type: application/json", h)
	}
	if got, want := string(got.GetRequests()[0].GetBody()), `{"values":[1,2,3]}`; got != want {
		t.Errorf("got body %q, want %q", got, want)
	}
}

func TestOneofOrchestratorMessage(t *testing.T) {
	tests := []struct {
		name      string
		msg       *imagerv1.OrchestratorMessage
		wantJob   bool
		wantRound int64
	}{
		{
			name:      "job",
			msg:       &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Job{Job: sampleJob()}},
			wantJob:   true,
			wantRound: 3,
		},
		{
			name: "welcome",
			msg: &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Welcome{
				Welcome: &imagerv1.Welcome{HeartbeatIntervalNanos: int64(5 * time.Second), Version: "v0.1.0"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, tt.msg)
			switch k := got.GetKind().(type) {
			case *imagerv1.OrchestratorMessage_Job:
				if !tt.wantJob {
					t.Fatalf("got kind Job, want Welcome")
				}
				if k.Job.GetRound() != tt.wantRound {
					t.Errorf("got round %d, want %d", k.Job.GetRound(), tt.wantRound)
				}
				if got.GetWelcome() != nil {
					t.Errorf("got non-nil Welcome beside Job")
				}
			case *imagerv1.OrchestratorMessage_Welcome:
				if tt.wantJob {
					t.Fatalf("got kind Welcome, want Job")
				}
				if got.GetJob() != nil {
					t.Errorf("got non-nil Job beside Welcome")
				}
			default:
				t.Fatalf("got kind %T, want Job or Welcome", k)
			}
			if !proto.Equal(got, tt.msg) {
				t.Errorf("round trip mismatch:\n got: %v\nwant: %v", got, tt.msg)
			}
		})
	}
}

func TestOneofExecutorMessage(t *testing.T) {
	tests := []struct {
		name string
		msg  *imagerv1.ExecutorMessage
		want string
	}{
		{
			name: "hello",
			msg: &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{
				ExecutorId: "exec-0", Capacity: 4, MaxInflight: 1000, Version: "v0.1.0", AuthToken: "s3cret",
			}}},
			want: "hello",
		},
		{
			name: "report",
			msg:  &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: sampleReport()}},
			want: "report",
		},
		{
			name: "heartbeat",
			msg:  &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Heartbeat{Heartbeat: &imagerv1.Heartbeat{Inflight: 17}}},
			want: "heartbeat",
		},
		{name: "unset", msg: &imagerv1.ExecutorMessage{}, want: "none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, tt.msg)
			if kind := executorKind(got); kind != tt.want {
				t.Errorf("got kind %q, want %q", kind, tt.want)
			}
			if !proto.Equal(got, tt.msg) {
				t.Errorf("round trip mismatch:\n got: %v\nwant: %v", got, tt.msg)
			}
		})
	}
}

// executorKind names the oneof case set in m.
func executorKind(m *imagerv1.ExecutorMessage) string {
	switch m.GetKind().(type) {
	case *imagerv1.ExecutorMessage_Hello:
		return "hello"
	case *imagerv1.ExecutorMessage_Report:
		return "report"
	case *imagerv1.ExecutorMessage_Heartbeat:
		return "heartbeat"
	case nil:
		return "none"
	default:
		return fmt.Sprintf("unknown %T", m.GetKind())
	}
}

// echoServer answers Hello with Welcome and every Report with a Job whose
// id is the report's.
type echoServer struct {
	imagerv1.UnimplementedControlPlaneServer
}

var _ imagerv1.ControlPlaneServer = (*echoServer)(nil)

// Connect implements imagerv1.ControlPlaneServer.
func (echoServer) Connect(stream imagerv1.ControlPlane_ConnectServer) error {
	for {
		in, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("recv: %w", err)
		}
		var out *imagerv1.OrchestratorMessage
		switch k := in.GetKind().(type) {
		case *imagerv1.ExecutorMessage_Hello:
			out = &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Welcome{
				Welcome: &imagerv1.Welcome{Version: "echo-" + k.Hello.GetVersion()},
			}}
		case *imagerv1.ExecutorMessage_Report:
			out = &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Job{
				Job: &imagerv1.Job{JobId: k.Report.GetJobId()},
			}}
		default:
			continue
		}
		if err := stream.Send(out); err != nil {
			return fmt.Errorf("send: %w", err)
		}
	}
}

func TestConnectStreamOverLoopback(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	srv := grpc.NewServer()
	imagerv1.RegisterControlPlaneServer(srv, echoServer{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	t.Cleanup(func() {
		srv.Stop()
		if err := <-served; err != nil && !errors.Is(err, grpc.ErrServerStopped) {
			t.Errorf("serve: %v", err)
		}
	})

	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })

	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	stream, err := imagerv1.NewControlPlaneClient(conn).Connect(ctx)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}

	hello := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Hello{Hello: &imagerv1.Hello{Version: "v1"}}}
	if err := stream.Send(hello); err != nil {
		t.Fatalf("send hello: %v", err)
	}
	got, err := stream.Recv()
	if err != nil {
		t.Fatalf("recv welcome: %v", err)
	}
	if v := got.GetWelcome().GetVersion(); v != "echo-v1" {
		t.Errorf("got welcome version %q, want %q", v, "echo-v1")
	}

	report := &imagerv1.ExecutorMessage{Kind: &imagerv1.ExecutorMessage_Report{Report: sampleReport()}}
	if err := stream.Send(report); err != nil {
		t.Fatalf("send report: %v", err)
	}
	got, err = stream.Recv()
	if err != nil {
		t.Fatalf("recv job: %v", err)
	}
	if id := got.GetJob().GetJobId(); id != "job-7" {
		t.Errorf("got job id %q, want %q", id, "job-7")
	}

	if err := stream.CloseSend(); err != nil {
		t.Fatalf("close send: %v", err)
	}
	if _, err := stream.Recv(); !errors.Is(err, io.EOF) {
		t.Errorf("got %v after CloseSend, want io.EOF", err)
	}
}

func TestRoundTripDone(t *testing.T) {
	tests := []struct {
		name string
		done *imagerv1.Done
	}{
		{name: "passed", done: &imagerv1.Done{Passed: true, Reason: "completed"}},
		{name: "failed", done: &imagerv1.Done{Passed: false, Reason: "aborted"}},
		{name: "empty", done: &imagerv1.Done{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := &imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Done{Done: tt.done}}
			got := roundTrip(t, msg)
			d := got.GetDone()
			if d == nil {
				t.Fatalf("got kind %T, want Done", got.GetKind())
			}
			if d.GetPassed() != tt.done.GetPassed() || d.GetReason() != tt.done.GetReason() {
				t.Errorf("got Done(passed %v, reason %q), want (%v, %q)", d.GetPassed(), d.GetReason(), tt.done.GetPassed(), tt.done.GetReason())
			}
			if got.GetJob() != nil || got.GetWelcome() != nil {
				t.Errorf("got a Job or Welcome beside Done: %v", got)
			}
			if !proto.Equal(got, msg) {
				t.Errorf("round trip mismatch:\n got: %v\nwant: %v", got, msg)
			}
		})
	}
}

// The Done case is additive: the existing cases keep their field numbers
// and Done takes a new one in the same oneof.
func TestDoneFieldNumbers(t *testing.T) {
	kind := (&imagerv1.OrchestratorMessage{}).ProtoReflect().Descriptor().Fields()
	for name, want := range map[string]int32{"welcome": 1, "job": 2, "done": 3} {
		f := kind.ByName(protoreflect.Name(name))
		if f == nil || int32(f.Number()) != want || f.ContainingOneof() == nil || f.ContainingOneof().Name() != "kind" {
			t.Errorf("OrchestratorMessage.%s = %v, want field %d in the kind oneof", name, f, want)
		}
	}
	done := (&imagerv1.Done{}).ProtoReflect().Descriptor().Fields()
	for name, want := range map[string]int32{"passed": 1, "reason": 2} {
		if f := done.ByName(protoreflect.Name(name)); f == nil || int32(f.Number()) != want {
			t.Errorf("Done.%s = %v, want field %d", name, f, want)
		}
	}
}

// The dial counts are additive: Report's older fields keep their numbers
// and the new ones follow the highest.
func TestReportDialFieldNumbers(t *testing.T) {
	fields := (&imagerv1.Report{}).ProtoReflect().Descriptor().Fields()
	for name, want := range map[string]int32{"names": 20, "dials": 21, "dial_errors": 22} {
		if f := fields.ByName(protoreflect.Name(name)); f == nil || int32(f.Number()) != want {
			t.Errorf("Report.%s = %v, want field %d", name, f, want)
		}
	}
}
