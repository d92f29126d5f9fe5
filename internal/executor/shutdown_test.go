package executor

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// When the executor's context ends mid-job at a high rate against a target
// that never answers, Run returns within 2s, and the orchestrator still
// gets the job's report (the requests that fell due, the ones in flight
// lost) followed by the executor's half-close.
func TestShutdownReportsJobsInFlight(t *testing.T) {
	target := startHangingTarget(t)
	const count = 1_000_000 // 100,000 requests/s
	reports := make(chan *imagerv1.Report, 10)
	eof := make(chan struct{})
	f := startFake(t, func(conn int, st serverStream) error {
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		err := sendJob(st, &imagerv1.Job{
			JobId: "big", Round: 1, TargetUrl: target.url, Count: count,
			StartAtUnixNanos: time.Now().UnixNano(), DurationNanos: int64(10 * time.Second),
			TimeoutNanos: int64(time.Minute), Requests: []*imagerv1.Request{{Path: "/"}},
		})
		if err != nil {
			return err
		}
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				close(eof)
				return nil
			}
			if err != nil {
				return err
			}
			if r := m.GetReport(); r != nil {
				reports <- r
			}
		}
	})
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	cfg.MaxInFlight = 20
	e := newExecutor(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ret := make(chan error, 1)
	go func() { ret <- e.Run(ctx) }()
	await(t, target.hits, "first request at the target")

	cancel()
	stopped := time.Now()
	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("Run() = %v, want nil", err)
		}
		if took := time.Since(stopped); took > 2*time.Second {
			t.Errorf("Run returned %v after cancellation, want within 2s", took)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return within %v of cancellation; log:\n%s", waitLimit, logs)
	}
	var r *imagerv1.Report
	select {
	case r = <-reports:
	default:
		t.Fatalf("no report reached the orchestrator; log:\n%s", logs)
	}
	if r.GetJobId() != "big" || r.GetPlanned() <= 0 || r.GetPlanned() >= count || r.GetSent() <= 0 || r.GetLost() <= 0 {
		t.Errorf("report = planned %d sent %d lost %d for %q; want part of the %d planned, some sent and the in-flight lost",
			r.GetPlanned(), r.GetSent(), r.GetLost(), r.GetJobId(), count)
	}
	select {
	case <-eof:
	case <-time.After(waitLimit):
		t.Errorf("executor did not half-close the stream after its report")
	}
}
