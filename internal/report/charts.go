package report

import (
	"math"
	"strconv"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/results"
)

// outcomeColors gives every outcome its own colour, by outcome name.
var outcomeColors = map[string]string{
	"success":          "#2ca02c",
	"client_error":     "#ff7f0e",
	"server_error":     "#d62728",
	"timeout":          "#9467bd",
	"connection_error": "#8c564b",
	"dropped":          "#e377c2",
	"lost":             "#17becf",
	"check_failed":     "#bcbd22",
}

// outcomeColor returns the colour of an outcome, grey for one unknown.
func outcomeColor(name string) string {
	if c, ok := outcomeColors[name]; ok {
		return c
	}
	return "#7f7f7f"
}

// outcomesChart draws one bar per round, stacked by outcome from success
// at the bottom, in the order tally.Outcomes gives.
func outcomesChart(rounds []*results.Round) string {
	var s svg
	const title = "Outcomes per round"
	s.open("outcomes", title, "Planned requests of each round, stacked by outcome.")
	s.heading(title)
	var top float64
	for _, r := range rounds {
		top = math.Max(top, roundTotal(r))
	}
	top, ticks := niceTicks(top)
	ys := newScale(0, top, plotY1, plotY0)
	s.yAxis(ys, ticks, false, "requests", axisCol)
	x0, x1, xt := roundAxis(rounds)
	xs := newScale(x0, x1, plotX0, plotX1)
	s.xAxis(xs, xt, "round")
	width := math.Min(48, math.Max(1, 0.8*(plotX1-plotX0)/(x1-x0)))
	var items []legendItem
	for _, o := range tally.Outcomes() {
		items = append(items, legendItem{label: o.String(), color: outcomeColor(o.String())})
	}
	s.legend(items)
	drawn := false
	for _, r := range rounds {
		cx := xs.at(float64(r.Round))
		var base float64
		for _, o := range tally.Outcomes() {
			n := finite(float64(r.Outcomes[o.String()]))
			if n <= 0 {
				continue
			}
			yTop, yBase := ys.at(base+n), ys.at(base)
			s.rect(cx-width/2, yTop, width, math.Max(yBase-yTop, 0.5), outcomeColor(o.String()), "plot "+o.String())
			base += n
			drawn = true
		}
	}
	switch {
	case len(rounds) == 0:
		s.note("no rounds recorded")
	case !drawn:
		s.note("no requests were planned")
	}
	return s.close()
}

// roundTotal is the sum of a round's outcome counts: its planned requests.
func roundTotal(r *results.Round) float64 {
	var sum float64
	for _, o := range tally.Outcomes() {
		if n := float64(r.Outcomes[o.String()]); n > 0 {
			sum += n
		}
	}
	return sum
}

// Percentile distribution: points per decade of 1/(1−q), and the range of
// decades shown (2 is up to 99%, 7 up to 99.99999%).
const (
	distPerDecade = 24
	minDecades    = 2
	maxDecades    = 7
)

// decades is how many decades of 1/(1−q) the distribution shows for n
// values: beyond log10(n) the histogram holds nothing new.
func decades(n int64) int {
	if n <= 1 {
		return minDecades
	}
	d := int(math.Ceil(math.Log10(float64(n))))
	return min(max(d, minDecades), maxDecades)
}

// pctLabel names the percentile at decade d: 0%, 90%, 99%, 99.9%…
func pctLabel(d int) string {
	if d == 0 {
		return "0%"
	}
	return strconv.FormatFloat(100-math.Pow(10, float64(2-d)), 'f', max(0, d-2), 64) + "%"
}

// distributionPoints samples the latency of h, in milliseconds, at
// percentiles spaced evenly in log10(1/(1−q)); the last point is the
// maximum, at the right edge.
func distributionPoints(h *hdrhistogram.Histogram, d int) []point {
	if h == nil || h.TotalCount() == 0 {
		return nil
	}
	n := d * distPerDecade
	ps := make([]float64, n)
	for k := range ps {
		ps[k] = 100 * (1 - math.Pow(10, -float64(k)/distPerDecade))
	}
	vals := h.ValueAtPercentilesSlice(ps)
	pts := make([]point, 0, n+1)
	for k, v := range vals {
		pts = append(pts, point{x: float64(k) / distPerDecade, y: float64(v) / 1000, ok: true})
	}
	return append(pts, point{x: float64(d), y: float64(h.Max()) / 1000, ok: true})
}

// distributionChart plots the latency percentile distribution of h (in
// microseconds) the way HdrHistogram plots do: the horizontal axis is
// 1/(1−q) on a log scale, labelled in percentiles. label names the data.
func distributionChart(h *hdrhistogram.Histogram, label string) string {
	var n int64
	if h != nil {
		n = h.TotalCount()
	}
	d := decades(n)
	ticks := make([]xTick, 0, d+1)
	for i := 0; i <= d; i++ {
		ticks = append(ticks, xTick{v: float64(i), label: pctLabel(i)})
	}
	return drawLines(lineSpec{
		name: "distribution", title: "Latency by percentile",
		desc:   "Latency in milliseconds at each percentile of the whole run; the horizontal axis is 1/(1-q) on a log scale, as HdrHistogram plots it.",
		xTitle: "percentile", yTitle: "latency (ms)", x0: 0, x1: float64(d), xTicks: ticks,
		empty: "no latency recorded",
		series: []series{
			{label: label, color: "#1f77b4", noDots: true, pts: distributionPoints(h, d)},
		},
	})
}
