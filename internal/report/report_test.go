package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/results"
)

// legends are the legend labels each chart must show.
var legends = map[string][]string{
	"rate":         {"planned rps", "achieved rps"},
	"latency":      {"p50", "p90", "p99", "max"},
	"outcomes":     {"success", "client_error", "server_error", "timeout", "connection_error", "dropped", "lost", "check_failed"},
	"target":       {"CPU millicores (left)", "memory MiB (right)"},
	"distribution": {"whole run ("},
}

// checkChart fails the test unless the chart has a title, its legend,
// tick labels and data marks inside its viewBox.
func checkChart(t *testing.T, name string, info *svgInfo) {
	t.Helper()
	if info == nil {
		t.Errorf("chart %q missing", name)
		return
	}
	if strings.TrimSpace(info.title) == "" {
		t.Errorf("chart %q has no title", name)
	}
	for _, l := range legends[name] {
		if !info.hasText(l) {
			t.Errorf("chart %q: legend %q missing from %q", name, l, info.texts)
		}
	}
	if n := info.numericTexts(); n < 4 {
		t.Errorf("chart %q: %d numeric tick labels, want at least 4: %q", name, n, info.texts)
	}
	if info.plotted == 0 {
		t.Errorf("chart %q plots nothing", name)
	}
	checkInside(t, name, info)
}

func TestWriteFullRun(t *testing.T) {
	page := render(t, fixture{rounds: 8, target: true, summary: true}.build(t))
	charts := parseCharts(t, page)
	for name := range legends {
		checkChart(t, name, charts[name])
	}
	if len(charts) != len(legends) {
		t.Errorf("got %d charts, want %d", len(charts), len(legends))
	}
	// One line per series, one bar per outcome that occurred in a round.
	if got := len(charts["rate"].paths); got != 2 {
		t.Errorf("rate chart draws %d lines, want 2", got)
	}
	if got := len(charts["latency"].paths); got != 4 {
		t.Errorf("latency chart draws %d lines, want 4", got)
	}
	// The second round has no target reading: the CPU line breaks there.
	if got := len(charts["target"].paths); got != 2 {
		t.Errorf("target chart draws %d paths, want 2", got)
	}
	if got := charts["outcomes"].plotted; got < 8*4 {
		t.Errorf("outcomes chart draws %d bars, want at least %d", got, 8*4)
	}
	for _, want := range []string{
		"FAILED: threshold &lt;script&gt;", "imager run", "v-test", "2025-03-01T12:00:00Z", "http://127.0.0.1:18080",
		"-max-rps", "scenarios/sum.lua", "timeout awaiting response headers", "/sum", "p99 &lt; 50ms",
		"<table class=\"checks\">", "<code>/sum:status</code>", "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;:body_contains</code>",
		"check_failed",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "PASSED") {
		t.Error("a failed run is reported as PASSED")
	}
}

func TestDistributionIsMonotonic(t *testing.T) {
	page := render(t, fixture{rounds: 5, summary: true}.build(t))
	d := parseCharts(t, page)["distribution"]
	if d == nil || len(d.paths) != 1 {
		t.Fatalf("distribution chart: want one line, got %+v", d)
	}
	pts := d.paths[0]
	if len(pts) < 2*distPerDecade {
		t.Fatalf("distribution has %d points", len(pts))
	}
	for i := 1; i < len(pts); i++ {
		// x grows with the percentile, latency never falls: y (downwards)
		// never grows.
		if pts[i][0] <= pts[i-1][0] || pts[i][1] > pts[i-1][1] {
			t.Fatalf("point %d %v after %v: not a percentile distribution", i, pts[i], pts[i-1])
		}
	}
	for _, tick := range []string{"0%", "90%", "99%"} {
		if !d.hasText(tick) {
			t.Errorf("distribution lacks the %s tick: %q", tick, d.texts)
		}
	}
	// The last point is the maximum: at the top of the plot area's scale.
	if last := pts[len(pts)-1]; last[1] < plotY0 || last[1] > plotY0+float64(plotY1-plotY0)/2 {
		t.Errorf("last point %v is not near the top of the plot", last)
	}
}

// fetchRE finds anything that would make a browser fetch or navigate.
var fetchRE = regexp.MustCompile(`(?i)(\s(src|href|xlink:href|action|poster|srcset|data)\s*=|url\s*\(|@import|<(link|script|img|iframe|object|embed|image|use|base|form)\b)`)

func TestNoFetchesAndEscaping(t *testing.T) {
	page := render(t, fixture{rounds: 4, target: true, summary: true}.build(t))
	if m := fetchRE.FindAllString(page, -1); len(m) > 0 {
		t.Errorf("page references external resources: %q", m)
	}
	// Every http(s) URL on the page is text, never an attribute value.
	for _, m := range regexp.MustCompile(`="[^"]*https?:`).FindAllString(page, -1) {
		t.Errorf("an attribute holds a URL: %q", m)
	}
	if strings.Contains(page, "ZgotmplZ") {
		t.Error("html/template rejected a value of the page")
	}
	if strings.Contains(page, hostile) || strings.Contains(strings.ToLower(page), "<script") {
		t.Error("a hostile name reached the page unescaped")
	}
	escaped := "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;"
	if n := strings.Count(page, escaped); n < 4 {
		t.Errorf("escaped hostile string appears %d times, want it in the flags, reason, names, errors and thresholds", n)
	}
}

func TestCutOffRunUsesRounds(t *testing.T) {
	full := fixture{rounds: 6, summary: true}.build(t)
	cut := fixture{rounds: 6}.build(t)
	page := render(t, cut)
	if !strings.Contains(page, "no summary: the run was cut off") {
		t.Error("the verdict does not say the run was cut off")
	}
	charts := parseCharts(t, page)
	for _, name := range []string{"rate", "latency", "outcomes", "distribution"} {
		if charts[name] == nil || charts[name].plotted == 0 {
			t.Errorf("chart %q missing or empty", name)
		}
	}
	if !charts["distribution"].hasText("rounds merged (") {
		t.Errorf("distribution legend %q does not say it merged the rounds", charts["distribution"].texts)
	}
	// The totals merged from the rounds match the summary of the same run.
	want, err := runTotals(full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := runTotals(cut)
	if err != nil {
		t.Fatal(err)
	}
	if got.Planned != want.Planned || got.Sent != want.Sent || got.hist.TotalCount() != want.hist.TotalCount() {
		t.Errorf("merged totals planned %d sent %d latencies %d, summary %d %d %d",
			got.Planned, got.Sent, got.hist.TotalCount(), want.Planned, want.Sent, want.hist.TotalCount())
	}
	for _, o := range tally.Outcomes() {
		if got.Outcomes[o.String()] != want.Outcomes[o.String()] {
			t.Errorf("outcome %s: merged %d, summary %d", o, got.Outcomes[o.String()], want.Outcomes[o.String()])
		}
	}
	if got.Latency != want.Latency || got.ErrorRate != want.ErrorRate {
		t.Errorf("merged latency %+v error rate %v, summary %+v %v", got.Latency, got.ErrorRate, want.Latency, want.ErrorRate)
	}
	if len(got.Names) != len(want.Names) || got.Names[0].Latency != want.Names[0].Latency {
		t.Errorf("merged names %+v, summary %+v", got.Names, want.Names)
	}
	if !strings.Contains(page, "not judged") {
		t.Error("the run's thresholds are not listed as not judged")
	}
}

func TestNoTargetChartWithoutUsage(t *testing.T) {
	page := render(t, fixture{rounds: 3, summary: true}.build(t))
	if strings.Contains(page, `data-chart="target"`) {
		t.Error("a target chart without target usage")
	}
	if !strings.Contains(page, "so there is no target usage chart") {
		t.Error("the page does not say why the target chart is missing")
	}
}

func TestVerdictPassed(t *testing.T) {
	f := fixture{rounds: 2, summary: true}.build(t)
	f.Summary.Passed, f.Summary.Reason = true, ""
	page := render(t, f)
	if !strings.Contains(page, `<div class="verdict pass">PASSED</div>`) {
		t.Error("a passed run is not reported as PASSED")
	}
}

func TestChecksTable(t *testing.T) {
	f := fixture{rounds: 4, summary: true}.build(t)
	p, err := build(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Checks) != 3 || p.Checks[0].Name != "all checks" || p.Checks[1].Name != hostile+":body_contains" ||
		p.Checks[2].Name != "/sum:status" || p.Checks[2].Failed != "0" || p.Checks[2].PassRate != percent(1) {
		t.Fatalf("check rows %+v, want all checks, then the failing check, then the passing one", p.Checks)
	}
	c, _ := f.Summary.Check(hostile + ":body_contains")
	if c.Failed == 0 || p.Checks[1].Failed != count(c.Failed) || p.Checks[1].PassRate != percent(c.PassRate) {
		t.Errorf("failing check row %+v, summary %+v", p.Checks[1], c)
	}
	if n := f.Summary.Outcomes["check_failed"]; n != c.Failed {
		t.Errorf("check_failed %d, want the %d failed verdicts", n, c.Failed)
	}
	page := render(t, f)
	charts := parseCharts(t, page)
	if !charts["outcomes"].hasText("check_failed") {
		t.Error("the outcomes chart has no check_failed legend")
	}
	if !strings.Contains(page, `fill="`+outcomeColor("check_failed")+`"`) {
		t.Error("no check_failed bar in the outcomes chart")
	}
}

func TestThresholdReasonShown(t *testing.T) {
	f := &results.File{Summary: &results.Summary{Thresholds: []results.ThresholdResult{
		{Expression: "check:gone >= 0.9", Reason: `check "gone" never ran`},
	}}}
	rows := thresholdRows(f)
	if len(rows) != 1 || rows[0].Value != `check "gone" never ran` || rows[0].Verdict != "FAIL" {
		t.Errorf("rows %+v", rows)
	}
}
