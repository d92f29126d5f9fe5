package results_test

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/PeladoCollado/imager/results"
)

// stats builds the counts of a round or run in which every planned
// request succeeded but timeouts, with p99 latency p99ms.
func stats(planned, timeouts int64, p99ms float64) results.Stats {
	return results.Stats{
		Counts: results.Counts{
			Planned:  planned,
			Sent:     planned,
			Outcomes: map[string]int64{"success": planned - timeouts, "timeout": timeouts},
			Latency:  results.Quantiles{P50: p99ms / 4, P90: p99ms / 2, P95: p99ms / 2, P99: p99ms, P999: p99ms, Max: p99ms},
		},
	}
}

// A Judge checks thresholds as a run goes: "round:" thresholds on every
// finished round, the others on the whole run's summary.
func ExampleJudge() {
	ts, err := results.ParseThresholds([]string{"p99 < 250ms", "error_rate <= 1%", "round: timeout <= 2"})
	if err != nil {
		fmt.Println(err)
		return
	}
	judge := results.NewJudge(ts)
	rounds := []results.Stats{stats(100, 0, 120), stats(200, 3, 180), stats(300, 3, 240)}
	for i, st := range rounds {
		for _, failed := range judge.Round(&results.Round{Round: int64(i), Stats: st}) {
			fmt.Printf("round %d failed %s: %g\n", i, failed.Expression, failed.Value)
		}
	}
	sum := &results.Summary{Rounds: len(rounds), Stats: stats(600, 6, 230)}
	judge.Summary(sum)
	for i, r := range sum.Thresholds {
		fmt.Printf("%s: passed=%v value=%s\n", r.Expression, r.Passed, results.FormatMetric(ts[i].Metric, r.Value))
	}
	fmt.Println("passed:", sum.Passed)
	fmt.Println("reason:", sum.Reason)

	_, err = results.ParseThreshold("p99 < 250")
	fmt.Println(err)
	// Output:
	// round 1 failed round: timeout <= 2: 3
	// round 2 failed round: timeout <= 2: 3
	// p99 < 250ms: passed=true value=230ms
	// error_rate <= 1%: passed=true value=0.01
	// round: timeout <= 2: passed=false value=3
	// passed: false
	// reason: 1 of 3 thresholds failed: round: timeout <= 2 (measured 3 in round 1)
	// threshold "p99 < 250": "250" needs a unit, such as 250ms
}

// A results file is written line by line as the run goes (a run line,
// one line per round, a summary) and read back with ReadFile, which is
// what `imager report` and `imager compare` do.
func ExampleReadFile() {
	dir, err := os.MkdirTemp("", "imager-results")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "results.jsonl")

	w, err := results.Create(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	lines := []any{
		&results.Run{Type: results.TypeRun, SchemaVersion: results.SchemaVersion, Command: "imager run",
			Start: start, Target: "http://127.0.0.1:8080", Seed: 7, Thresholds: []string{"p99 < 250ms"}},
		&results.Round{Type: results.TypeRound, Round: 0, Start: start, IntervalSeconds: 1, Executors: 1, Stats: stats(10, 0, 12)},
		&results.Round{Type: results.TypeRound, Round: 1, Start: start.Add(time.Second), IntervalSeconds: 1, Executors: 1, Stats: stats(20, 0, 15)},
		&results.Summary{Type: results.TypeSummary, Rounds: 2, ElapsedSeconds: 2, Stats: stats(30, 0, 15),
			Passed: true, Stopped: "completed"},
	}
	for _, line := range lines {
		if err := w.Write(line); err != nil {
			fmt.Println(err)
			return
		}
	}
	if err := w.Close(); err != nil {
		fmt.Println(err)
		return
	}

	f, err := results.ReadFile(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(f.Run.Command, f.Run.Target, "seed", f.Run.Seed, f.Run.Thresholds)
	for _, r := range f.Rounds {
		fmt.Printf("round %d: planned %d, p99 %s\n", r.Round, r.Planned, results.FormatMetric("p99", r.Latency.P99))
	}
	sum, rebuilt, err := f.Totals()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("summary:", sum.Rounds, "rounds,", sum.Planned, "planned,", sum.Outcomes["success"], "succeeded, passed", sum.Passed, "rebuilt", rebuilt)
	// Output:
	// imager run http://127.0.0.1:8080 seed 7 [p99 < 250ms]
	// round 0: planned 10, p99 12ms
	// round 1: planned 20, p99 15ms
	// summary: 2 rounds, 30 planned, 30 succeeded, passed true rebuilt false
}
