//go:build unix

package manager

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/PeladoCollado/imager/internal/requests"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/types"
)

// The planning benchmark: one 1 s round of 1,000,000 requests split across
// 50 executors, each job converted and marshalled as the control plane
// sends it (orchestrator/control's sendJob: JobFromTally, SplitJob, and
// gRPC's proto codec marshalling every message). Issue 10 asks that this
// take under one core: under 1 s of CPU per round.

const (
	benchExecutors = 50
	benchRPS       = 1_000_000
)

// constCalculator asks for the same rate every round.
type constCalculator int

func (c constCalculator) Next() int { return int(c) }

// shipExecutor is a fake executor that does the control plane's work for
// every job it is given and throws the bytes away.
type shipExecutor struct {
	id       string
	messages int
	bytes    int
}

func (e *shipExecutor) ID() string    { return e.id }
func (e *shipExecutor) Capacity() int { return 1 }

// Dispatch converts, splits and marshals job as sendJob would send it.
func (e *shipExecutor) Dispatch(job tally.Job) error {
	for _, msg := range imagerv1.SplitJob(wire.JobFromTally(job), 0) {
		b, err := proto.Marshal(msg)
		if err != nil {
			return err
		}
		e.messages++
		e.bytes += len(b)
	}
	return nil
}

// cpuTime is the process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func BenchmarkPlanRound50x1M(b *testing.B) {
	b.Run("file", func(b *testing.B) {
		path := filepath.Join(b.TempDir(), "requests.jsonl")
		line := `{"method":"GET","path":"/","headers":{"Accept":["*/*"]}}` + "\n"
		if err := os.WriteFile(path, []byte(line), 0o600); err != nil {
			b.Fatal(err)
		}
		src, err := requests.NewFileSource(path)
		if err != nil {
			b.Fatal(err)
		}
		benchPlanRound(b, src)
	})
	b.Run("random-sum", func(b *testing.B) {
		src, err := requests.NewRandomSumSource("/sum", 1, 1_000_000, 1)
		if err != nil {
			b.Fatal(err)
		}
		benchPlanRound(b, src)
	})
}

// benchPlanRound plans and ships b.N rounds from src and reports the CPU
// time one round takes, in seconds and per request.
func benchPlanRound(b *testing.B, src types.RequestSource) {
	s, err := NewScheduler(SchedulerConfig{
		Calculator: types.CalculatorOf(constCalculator(benchRPS)),
		Source:     src,
		Target:     func() (string, error) { return "http://127.0.0.1:8080", nil },
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		b.Fatal(err)
	}
	execs := make([]*shipExecutor, benchExecutors)
	for i := range execs {
		execs[i] = &shipExecutor{id: "exec-" + strconv.Itoa(i)}
		s.executors[execs[i].id] = execs[i]
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime(b)
	var index int64
	for b.Loop() {
		if _, err := s.plan(index, time.Now().Add(time.Hour)); err != nil {
			b.Fatal(err)
		}
		index++
		s.rounds = s.rounds[:0]
		clear(s.jobs)
	}
	cpu := cpuTime(b) - cpu0
	b.StopTimer()
	rounds := float64(index)
	b.ReportMetric(cpu.Seconds()/rounds, "cpu-s/round")
	b.ReportMetric(float64(cpu.Nanoseconds())/rounds/benchRPS, "cpu-ns/req")
	var msgs, bytes int
	for _, e := range execs {
		msgs, bytes = msgs+e.messages, bytes+e.bytes
	}
	b.ReportMetric(float64(bytes)/rounds/1e6, "MB/round")
	b.ReportMetric(float64(msgs)/rounds, "msgs/round")
}
