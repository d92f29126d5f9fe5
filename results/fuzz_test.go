package results

import (
	"encoding/json"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
)

// canonical writes t back as an expression: the canonical metric name,
// the operator, and the value in the metric's unit.
func canonical(t Threshold) string {
	v := strconv.FormatFloat(t.Value, 'g', -1, 64)
	if mustMetric(t.Metric).kind == kindLatency {
		v = strconv.FormatFloat(t.Value, 'f', -1, 64) + "ms"
	}
	prefix := ""
	if t.Round {
		prefix = "round: "
	}
	return prefix + t.Metric + " " + t.Op + " " + v
}

func thresholdSeeds() []fuzzseed.Seed {
	var seeds []fuzzseed.Seed
	for i, e := range []string{
		"p99<250ms", "round: error_rate <= 0.01", "success_rate>=99.5%", "P99.9 < 1µs", "service_max<=2s",
		"timeout == 0", "achieved_rps >= 95rps", "achieved_ratio>0.9", "round:planned_rps>1e3",
		"p99 < 250", "error_rate <= 5", "p99 == 1ms", "p99 < 1ms extra", "round p99<1ms", "",
		"max < 9223372036854775807ns", "error_rate <= 0x1p-4",
		"checks >= 0.99", "round: check:search:status>=99.9%", `check:json:["a b"] < 1`, "check:x<==0.5", "check: >= 1",
	} {
		seeds = append(seeds, fuzzseed.Seed{Name: "expr-" + strconv.Itoa(i), Args: []any{e}})
	}
	return seeds
}

func TestThresholdSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzThreshold", thresholdSeeds())
}

// FuzzThreshold parses threshold expressions: parsing never panics, an
// error quotes the expression, and an accepted threshold written back in
// canonical form parses to the same threshold.
func FuzzThreshold(f *testing.F) {
	f.Fuzz(func(t *testing.T, expr string) {
		th, err := ParseThreshold(expr)
		if err != nil {
			if !strings.Contains(err.Error(), strconv.Quote(expr)) {
				t.Fatalf("error %q does not quote the expression", err)
			}
			return
		}
		if th.Expr != expr {
			t.Fatalf("Expr %q, want the expression verbatim %q", th.Expr, expr)
		}
		if _, ok := metricOf(th.Metric); !ok || math.IsNaN(th.Value) || math.IsInf(th.Value, 0) || th.Value < 0 {
			t.Fatalf("%q parsed to %+v", expr, th)
		}
		back := canonical(th)
		again, err := ParseThreshold(back)
		if err != nil {
			t.Fatalf("%q parsed to %+v; written back as %q: %v", expr, th, back, err)
		}
		same := again.Round == th.Round && again.Metric == th.Metric && again.Op == th.Op
		if mustMetric(th.Metric).kind == kindLatency {
			// Milliseconds pass through nanoseconds: equal to within the
			// float's precision.
			same = same && math.Abs(again.Value-th.Value) <= 1e-12*max(1, th.Value)
		} else {
			same = same && again.Value == th.Value
		}
		if !same {
			t.Fatalf("%q parsed to %+v; written back as %q it parses to %+v", expr, th, back, again)
		}
	})
}

// resultsLines returns a results file of rounds made by synthRound.
func resultsLines(t testing.TB, specs ...roundSpec) string {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	lines := []any{&Run{Type: TypeRun, SchemaVersion: SchemaVersion, Command: "imager run", Start: base, Target: "http://x"}}
	for i, sp := range specs {
		rr := synthRound(base, int64(i), sp)
		rr.Summarize()
		r, err := FromRound(rr)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, r)
	}
	var b strings.Builder
	for _, l := range lines {
		j, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

func mergeRoundsSeeds(t testing.TB) []fuzzseed.Seed {
	two := resultsLines(t, roundSpec{success: 20, latency: 3 * time.Millisecond, name: "home"},
		roundSpec{success: 15, failed: 5, latency: 40 * time.Millisecond, name: "sum"})
	return []fuzzseed.Seed{
		{Name: "two-rounds", Args: []any{two}},
		{Name: "one-round", Args: []any{resultsLines(t, roundSpec{success: 1, latency: time.Millisecond})}},
		{Name: "no-start", Args: []any{strings.Replace(two, `"round":0,"start":"2025-01-02T03:04:05Z"`, `"round":0`, 1)}},
		{Name: "bad-histogram", Args: []any{strings.Replace(two, `"latency_histogram":"HISTF`, `"latency_histogram":"HISTx`, 1)}},
		{Name: "checks", Args: []any{resultsLines(t,
			roundSpec{success: 9, checkFailed: 1, latency: time.Millisecond, checks: map[string][2]int64{"status": {10, 0}, "body_contains": {9, 1}}},
			roundSpec{success: 5, latency: time.Millisecond, checks: map[string][2]int64{"status": {5, 0}}})}},
	}
}

func TestMergeRoundsSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzMergeRounds", mergeRoundsSeeds(t))
}

// FuzzMergeRounds rebuilds the totals of a results file with no summary
// line: it never panics, the counts add up to the rounds', and the order
// of the rounds does not change the totals.
func FuzzMergeRounds(f *testing.F) {
	f.Fuzz(func(t *testing.T, data string) {
		// Every name of every round costs a histogram encoding (about a
		// millisecond): small files keep the fuzzer fast.
		if len(data) > 8<<10 {
			return
		}
		file, err := Read("fuzz.ndjson", strings.NewReader(data))
		if err != nil {
			return
		}
		a, err := MergeRounds(file.Rounds)
		if err != nil {
			return
		}
		var planned, sent int64
		for _, r := range file.Rounds {
			planned += r.Planned
			sent += r.Sent
		}
		if a.Planned != planned || a.Sent != sent || a.Rounds != len(file.Rounds) {
			t.Fatalf("totals %d planned, %d sent over %d rounds; the rounds say %d, %d over %d",
				a.Planned, a.Sent, a.Rounds, planned, sent, len(file.Rounds))
		}
		reversed := slices.Clone(file.Rounds)
		slices.Reverse(reversed)
		z, err := MergeRounds(reversed)
		if err != nil {
			t.Fatalf("merge in reverse order: %v", err)
		}
		if !reflect.DeepEqual(a.Counts, z.Counts) || !maps.Equal(a.StatusCodes, z.StatusCodes) ||
			!reflect.DeepEqual(a.Errors, z.Errors) || !reflect.DeepEqual(a.Names, z.Names) ||
			a.ServiceTime != z.ServiceTime || a.ResponseBytes != z.ResponseBytes || a.ElapsedSeconds != z.ElapsedSeconds ||
			!reflect.DeepEqual(a.Connections, z.Connections) || !reflect.DeepEqual(a.Checks, z.Checks) {
			t.Fatalf("the order of the rounds changed the totals:\n%+v\n%+v", a, z)
		}
	})
}

// mustMetric returns the definition of a canonical metric name.
func mustMetric(name string) metricDef {
	def, _ := metricOf(name)
	return def
}
