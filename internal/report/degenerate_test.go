package report

import (
	"bytes"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/types"
)

// badNumberRE finds what careless scaling or formatting would leave: NaN,
// infinities, and numbers printed with dozens of digits.
var badNumberRE = regexp.MustCompile(`\bNaN\b|[+-]?Inf\b|\d{25,}`)

// checkPage renders f and checks that every chart is present, well formed
// and inside its viewBox, and that no number went wrong.
func checkPage(t *testing.T, f *results.File, wantTarget bool) string {
	t.Helper()
	page := render(t, f)
	charts := parseCharts(t, page)
	names := []string{"rate", "latency", "outcomes", "distribution"}
	if wantTarget {
		names = append(names, "target")
	}
	for _, name := range names {
		info := charts[name]
		if info == nil {
			t.Errorf("chart %q missing", name)
			continue
		}
		if info.numericTexts() < 2 {
			t.Errorf("chart %q: no tick labels: %q", name, info.texts)
		}
		checkInside(t, name, info)
	}
	if _, ok := charts["target"]; ok != wantTarget {
		t.Errorf("target chart present: %v, want %v", ok, wantTarget)
	}
	if m := badNumberRE.FindAllString(page, 5); len(m) > 0 {
		t.Errorf("page holds bad numbers: %q", m)
	}
	return page
}

// emptyRound is a round in which nothing was planned.
func emptyRound(t *testing.T, i int64) *results.Round {
	t.Helper()
	r, err := results.FromRound(&manager.RoundResult{RoundStats: types.RoundStats{Round: i}, Start: time.Unix(1e9+i, 0), Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// emptySummary is the summary of a run in which nothing was planned.
func emptySummary(t *testing.T, rounds int) *results.Summary {
	t.Helper()
	s, err := results.FromSummary(&manager.Summary{Rounds: rounds})
	if err != nil {
		t.Fatal(err)
	}
	s.Stopped = "completed"
	return s
}

func TestDegenerateZeroRounds(t *testing.T) {
	run := &results.Run{Type: results.TypeRun, SchemaVersion: 1}
	page := checkPage(t, &results.File{Run: run, Summary: emptySummary(t, 0)}, false)
	if !strings.Contains(page, "no rounds recorded") || !strings.Contains(page, "no latency recorded") {
		t.Error("empty charts do not say why they are empty")
	}
	page = checkPage(t, &results.File{Run: run}, false)
	if !strings.Contains(page, "no summary: the run was cut off") || !strings.Contains(page, "built from the 0 round(s)") {
		t.Error("a run cut off before its first round is not reported as such")
	}
}

func TestDegenerateOneRound(t *testing.T) {
	f := fixture{rounds: 1, target: true, summary: true}.build(t)
	page := checkPage(t, f, true)
	for _, name := range []string{"rate", "latency", "outcomes", "target", "distribution"} {
		if parseCharts(t, page)[name].plotted == 0 {
			t.Errorf("one round: chart %q plots nothing", name)
		}
	}
	f.Summary = nil
	checkPage(t, f, true)
}

func TestDegenerateAllZero(t *testing.T) {
	var rounds []*results.Round
	for i := range int64(3) {
		r := emptyRound(t, i)
		r.Target = &results.TargetUsage{}
		rounds = append(rounds, r)
	}
	f := &results.File{Run: &results.Run{Type: results.TypeRun}, Rounds: rounds, Summary: emptySummary(t, 3)}
	page := checkPage(t, f, true)
	if !strings.Contains(page, "no requests were planned") {
		t.Error("the outcomes chart does not say nothing was planned")
	}
	f.Summary = nil
	checkPage(t, f, true)
}

func TestDegenerateHugeValues(t *testing.T) {
	h := tally.NewHistogram()
	_ = h.RecordValues(h.HighestTrackableValue(), math.MaxInt64/4)
	rr := &manager.RoundResult{RoundStats: types.RoundStats{Round: 1 << 40, PlannedRPS: math.MaxInt32, AchievedRPS: math.MaxFloat64},
		Start: time.Unix(0, 0), Interval: time.Hour, Latency: h, Service: h,
		PodUsage: []manager.PodUsage{{CPUMillicores: math.MaxFloat64, MemoryBytes: math.MaxInt64}}}
	rr.Counts.Planned, rr.Counts.Sent, rr.Counts.Success, rr.Counts.Lost = math.MaxInt64/2, math.MaxInt64/2, math.MaxInt64/4, math.MaxInt64/4
	rr.Summarize()
	r, err := results.FromRound(rr)
	if err != nil {
		t.Fatal(err)
	}
	r.PlannedRPS = 1e300
	r.Latency = results.Quantiles{P50: 1e300, P90: math.MaxFloat64, P99: math.MaxFloat64, Max: math.MaxFloat64}
	small := emptyRound(t, -3)
	f := &results.File{Run: &results.Run{Type: results.TypeRun}, Rounds: []*results.Round{small, r}}
	checkPage(t, f, true)
	s := emptySummary(t, 2)
	s.Stats = r.Stats
	s.ElapsedSeconds = math.MaxFloat64
	s.Thresholds = []results.ThresholdResult{{Expression: "p99 < 1ms", Value: math.MaxFloat64}}
	f.Summary = s
	checkPage(t, f, true)
}

func TestDegenerateNonFinite(t *testing.T) {
	rounds := []*results.Round{emptyRound(t, 0), nil, emptyRound(t, 1)}
	rounds[0].PlannedRPS, rounds[0].AchievedRPS = math.NaN(), math.Inf(1)
	rounds[2].Latency = results.Quantiles{P50: math.NaN(), P99: math.Inf(-1), Max: math.Inf(1)}
	rounds[2].Target = &results.TargetUsage{CPUMillicores: math.NaN()}
	s := emptySummary(t, 2)
	s.AchievedRPS, s.ErrorRate, s.ElapsedSeconds = math.NaN(), math.Inf(1), math.NaN()
	s.Thresholds = []results.ThresholdResult{{Expression: "p99 < 1ms", Value: math.NaN()}}
	// No run line at all: the page says so instead of failing.
	page := checkPage(t, &results.File{Rounds: rounds, Summary: s}, true)
	if !strings.Contains(page, "no run line") {
		t.Error("a file without a run line is not flagged")
	}
}

func TestWriteErrors(t *testing.T) {
	var b bytes.Buffer
	if err := Write(&b, nil); err == nil {
		t.Error("Write(nil) succeeded")
	}
	r := emptyRound(t, 0)
	r.LatencyHistogram = "not base64!"
	err := Write(&b, &results.File{Path: "bad.ndjson", Run: &results.Run{}, Rounds: []*results.Round{r}})
	if err == nil || !strings.Contains(err.Error(), "histogram") {
		t.Errorf("a corrupt histogram: got %v, want an error naming the histogram", err)
	}
}
