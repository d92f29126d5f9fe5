// Package report renders a results file as one self-contained HTML page:
// the run's header and verdict, a summary table, charts of the rate, the
// latency, the outcomes and the target's usage per round, the latency
// percentile distribution of the whole run, and tables of thresholds,
// failure reasons, request names and status codes.
//
// The page fetches nothing: its style is inline, its charts are inline SVG
// drawn here, and it uses no JavaScript, so it can be mailed, archived or
// opened offline. Everything taken from the results file is escaped.
package report

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strconv"
	"time"

	"github.com/PeladoCollado/imager/results"
)

// Write renders f as an HTML page to w. A file without a summary line (a
// run that was cut off) is reported from its rounds alone. It fails only
// when a latency histogram in f cannot be decoded, or on a write error.
func Write(w io.Writer, f *results.File) error {
	if f == nil {
		return errors.New("report: no results file")
	}
	p, err := build(f)
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := pageTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// page is what the template renders.
type page struct {
	Title      string
	Header     []kv
	Flags      []kv
	Verdict    verdict
	Notes      []string
	Summary    []kv
	Outcomes   []outcomeRow
	QuantHeads []string
	Quantiles  []quantRow
	QuantNote  string
	Charts     []chart
	TargetNote string
	Thresholds []thresholdRow
	Errors     []countRow
	Names      []nameRow
	Checks     []checkRow
	Statuses   []countRow
}

// verdict is the run's outcome as the page states it.
type verdict struct {
	// Class is pass, fail or cut; Text the headline and Detail the rest.
	Class, Text, Detail string
}

// chart is one rendered chart with a caption.
type chart struct {
	Name    string
	SVG     template.HTML
	Caption string
}

// build gathers everything the page shows.
func build(f *results.File) (*page, error) {
	rounds := sortedRounds(f.Rounds)
	t, err := runTotals(&results.File{Path: f.Path, Run: f.Run, Rounds: rounds, Summary: f.Summary})
	if err != nil {
		return nil, err
	}
	run := f.Run
	var notes []string
	if run == nil {
		run = &results.Run{}
		notes = append(notes, "The file has no run line: what was run is unknown.")
	}
	p := &page{
		Title:      "imager report",
		Header:     headerRows(run),
		Flags:      flagRows(run.Flags),
		Verdict:    verdictOf(f.Summary, len(rounds)),
		Summary:    summaryRows(t),
		Outcomes:   outcomeRows(t),
		QuantHeads: quantileLabels,
		Quantiles:  quantRows(t),
		QuantNote:  quantNote(t),
		Thresholds: thresholdRows(f),
		Errors:     errorRows(t),
		Names:      nameRows(t),
		Checks:     checkRows(t),
		Statuses:   statusRows(t),
	}
	if run.Target != "" {
		p.Title = "imager report: " + run.Target
	}
	p.Charts = charts(rounds, t, p)
	p.Notes = notes
	return p, nil
}

// charts renders the charts; when no round has target usage the target
// chart is left out and p.TargetNote says so.
func charts(rounds []*results.Round, t *totals, p *page) []chart {
	distLabel := fmt.Sprintf("whole run (%s latencies)", count(t.hist.TotalCount()))
	distCaption := "From the summary's latency histogram."
	if t.fromRounds {
		distLabel = fmt.Sprintf("rounds merged (%s latencies)", count(t.hist.TotalCount()))
		distCaption = "Merged from the rounds' latency histograms: the run has no summary line."
	}
	out := []chart{
		{Name: "rate", SVG: template.HTML(rateChart(rounds)), Caption: "Planned rate (dashed) against the rate at which requests actually went out."},
		{Name: "latency", SVG: template.HTML(latencyChart(rounds)), Caption: "Latency from each request's intended send time (or its actual send, when earlier), so a stalled client shows as latency (no coordinated omission)."},
		{Name: "outcomes", SVG: template.HTML(outcomesChart(rounds)), Caption: "Every planned request ends in exactly one outcome; bars add up to the round's planned requests."},
	}
	if svg, ok := targetChart(rounds); ok {
		out = append(out, chart{Name: "target", SVG: template.HTML(svg), Caption: "Summed over the target pods; gaps are rounds without a reading."})
	} else {
		p.TargetNote = "No round recorded the target pods' CPU and memory (url mode, or no metrics API), so there is no target usage chart."
	}
	return append(out, chart{Name: "distribution", SVG: template.HTML(distributionChart(t.hist, distLabel)), Caption: distCaption})
}

// sortedRounds returns the rounds in round order, leaving out nil ones.
func sortedRounds(in []*results.Round) []*results.Round {
	out := make([]*results.Round, 0, len(in))
	for _, r := range in {
		if r != nil {
			out = append(out, r)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Round < out[j].Round })
	return out
}

// headerRows describes what was run.
func headerRows(run *results.Run) []kv {
	start := "unknown"
	if !run.Start.IsZero() {
		start = run.Start.UTC().Format(time.RFC3339)
	}
	rows := []kv{
		{"Command", orUnknown(run.Command)},
		{"Version", orUnknown(run.Version)},
		{"Started", start},
		{"Target", orUnknown(run.Target)},
		{"Seed", strconv.FormatInt(run.Seed, 10)},
	}
	if run.Scenario != "" {
		rows = append(rows, kv{"Scenario", run.Scenario}, kv{"Scenario SHA-256", orUnknown(run.ScenarioSHA256)})
	}
	return append(rows, kv{"Schema version", strconv.Itoa(run.SchemaVersion)})
}

// orUnknown returns s, or "unknown" when it is empty.
func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// verdictOf states how the run ended.
func verdictOf(s *results.Summary, rounds int) verdict {
	if s == nil {
		return verdict{Class: "cut", Text: "no summary: the run was cut off",
			Detail: fmt.Sprintf("This report is built from the %d round(s) written before the run stopped.", rounds)}
	}
	v := verdict{Class: "pass", Text: "PASSED"}
	if !s.Passed {
		v.Class, v.Text = "fail", "FAILED"
		if s.Reason != "" {
			v.Text += ": " + s.Reason
		}
	}
	if s.Stopped != "" {
		v.Detail = "The run ended: " + s.Stopped + "."
	}
	if s.Search != "" {
		v.Detail += " Search: " + s.Search + "."
	}
	if s.Error != "" {
		v.Detail += " Error: " + s.Error
	}
	return v
}
