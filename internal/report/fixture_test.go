package report

import (
	"bytes"
	"math/rand"
	"path/filepath"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/types"
)

// hostile is a string that would run script if it reached the page
// unescaped.
const hostile = `<script>alert("x")</script>`

// fixture describes a synthetic run.
type fixture struct {
	rounds int
	// target gives rounds pod usage (all but the second, to leave a gap).
	target bool
	// summary writes the summary line; without it the run was cut off.
	summary bool
}

// synthRound builds round i of a step profile: the rate climbs by 50 rps a
// round, latency grows with it, and some requests fail in several ways.
func synthRound(t *testing.T, rng *rand.Rand, i int, withTarget bool) *manager.RoundResult {
	t.Helper()
	rps := 50 * (i + 1)
	r := &manager.RoundResult{
		RoundStats: types.RoundStats{Round: int64(i), PlannedRPS: rps, AchievedRPS: float64(rps) * 0.97},
		Start:      time.Date(2025, 3, 1, 12, 0, i, 0, time.UTC), Interval: time.Second, Executors: 2,
		Latency: tally.NewHistogram(), Service: tally.NewHistogram(),
	}
	r.Counts.Planned = int64(rps)
	lat := r.Breakdown.Name("/sum")
	bad := r.Breakdown.Name(hostile)
	for k := 0; k < rps; k++ {
		us := int64(2000+rng.ExpFloat64()*float64(1000*(i+1))) + 1
		switch {
		case k%41 == 7:
			r.Counts.ServerErrors++
			r.AddStatus(500, 1)
		case k%53 == 3:
			r.Counts.Timeouts++
			r.AddError("timeout awaiting response headers", 1)
		case k%67 == 5:
			r.Counts.ConnErrors++
			r.AddError("dial tcp 127.0.0.1:1: connect: connection refused "+hostile, 1)
		case k%97 == 1:
			r.Counts.Dropped++
			r.AddError("dropped: in-flight cap reached", 1)
			continue
		case k%31 == 9:
			r.Counts.CheckFailed++
			r.AddStatus(200, 1)
			r.Check("/sum:status").Passed++
			r.Check(hostile+":body_contains").Failed++
		default:
			r.Counts.Success++
			r.AddStatus(200, 1)
			r.Check("/sum:status").Passed++
			r.Check(hostile+":body_contains").Passed++
		}
		r.Counts.Sent++
		_ = r.Latency.RecordValue(us)
		_ = r.Service.RecordValue(us / 2)
		nr := lat
		if k%5 == 0 {
			nr = bad
		}
		nr.Planned++
		nr.Sent++
		nr.Success++
		_ = nr.Latency.RecordValue(us)
	}
	if withTarget && i != 1 {
		r.PodUsage = []manager.PodUsage{{Namespace: "ns", Pod: "a", CPUMillicores: float64(100 + 40*i), MemoryBytes: int64(60+i) << 20}}
	}
	return r
}

// build returns the results file of the fixture, written to disk with
// results.Writer and read back with results.ReadFile like a real one.
func (fx fixture) build(t *testing.T) *results.File {
	t.Helper()
	rng := rand.New(rand.NewSource(7))
	path := filepath.Join(t.TempDir(), "run.ndjson")
	w, err := results.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	run := &results.Run{
		Type: results.TypeRun, SchemaVersion: results.SchemaVersion, Version: "v-test", Command: "imager run",
		Start: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC), Seed: 42, Target: "http://127.0.0.1:18080",
		Flags:      map[string]string{"target-url": "http://127.0.0.1:18080", "max-rps": "400", "note": hostile},
		Scenario:   "scenarios/sum.lua",
		Thresholds: []string{"p99 < 50ms", "error_rate < 0.01 " + hostile},
	}
	mustWrite(t, w, run)
	var sum manager.Summary
	for i := 0; i < fx.rounds; i++ {
		rr := synthRound(t, rng, i, fx.target)
		rr.Summarize()
		line, err := results.FromRound(rr)
		if err != nil {
			t.Fatal(err)
		}
		mustWrite(t, w, line)
		sum.Add(rr)
		sum.Elapsed += rr.Interval
	}
	if fx.summary {
		s, err := results.FromSummary(&sum)
		if err != nil {
			t.Fatal(err)
		}
		round := int64(3)
		s.Stopped, s.Passed, s.Reason = "completed", false, "threshold "+hostile+" failed"
		s.Thresholds = []results.ThresholdResult{
			{Expression: "p99 < 50ms", Passed: true, Value: s.Latency.P99},
			{Expression: "error_rate < 0.01 " + hostile, Passed: false, Value: s.ErrorRate, Round: &round},
		}
		mustWrite(t, w, s)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := results.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// mustWrite writes one line of a results file.
func mustWrite(t *testing.T, w *results.Writer, line any) {
	t.Helper()
	if err := w.Write(line); err != nil {
		t.Fatal(err)
	}
}

// render writes the report of f and returns it.
func render(t *testing.T, f *results.File) string {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, f); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.String()
}
