package report

import (
	"math"
	"strings"

	"github.com/PeladoCollado/imager/results"
)

// maxDots is the most points a series marks with a dot; beyond it the
// line alone is drawn, as dots would merge into a smear.
const maxDots = 120

// point is one value of a series; ok is false where the value is unknown,
// which breaks the line.
type point struct {
	x, y float64
	ok   bool
}

// series is one line of a line chart.
type series struct {
	label, color string
	dashed       bool
	// right plots the series against the right-hand axis.
	right bool
	// noDots draws the line alone, for a series sampled densely.
	noDots bool
	pts    []point
}

// lineSpec describes a line chart: its name (the data-chart attribute),
// title, axes and series.
type lineSpec struct {
	name, title, desc       string
	xTitle, yTitle, y2Title string
	x0, x1                  float64
	xTicks                  []xTick
	series                  []series
	// empty is shown in the plot area when no series has a point.
	empty string
}

// drawLines renders a line chart with one or two vertical axes.
func drawLines(spec lineSpec) string {
	var s svg
	s.open(spec.name, spec.title, spec.desc)
	s.heading(spec.title)
	maxL, maxR, has := seriesMax(spec.series)
	topL, ticksL := niceTicks(maxL)
	yl := newScale(0, topL, plotY1, plotY0)
	s.yAxis(yl, ticksL, false, spec.yTitle, axisCol)
	yr := yl
	if spec.y2Title != "" {
		topR, ticksR := niceTicks(maxR)
		yr = newScale(0, topR, plotY1, plotY0)
		s.yAxis(yr, ticksR, true, spec.y2Title, axisCol)
	}
	xs := newScale(spec.x0, spec.x1, plotX0, plotX1)
	s.xAxis(xs, spec.xTicks, spec.xTitle)
	items := make([]legendItem, 0, len(spec.series))
	for _, sr := range spec.series {
		items = append(items, legendItem{label: sr.label, color: sr.color, dashed: sr.dashed})
		ys := yl
		if sr.right {
			ys = yr
		}
		plotSeries(&s, sr, xs, ys)
	}
	s.legend(items)
	if !has {
		s.note(spec.empty)
	}
	return s.close()
}

// seriesMax returns the largest value plotted against each axis and
// whether any series has a point at all.
func seriesMax(all []series) (left, right float64, has bool) {
	for _, sr := range all {
		for _, p := range sr.pts {
			if !p.ok {
				continue
			}
			has = true
			if sr.right {
				right = math.Max(right, finite(p.y))
			} else {
				left = math.Max(left, finite(p.y))
			}
		}
	}
	return left, right, has
}

// plotSeries draws a series' line, broken where values are unknown, and
// its dots when there are few enough points.
func plotSeries(s *svg, sr series, xs, ys scale) {
	var d strings.Builder
	pen := false
	n := 0
	for _, p := range sr.pts {
		if !p.ok {
			pen = false
			continue
		}
		if pen {
			d.WriteString(" L")
		} else {
			if d.Len() > 0 {
				d.WriteByte(' ')
			}
			d.WriteByte('M')
		}
		d.WriteString(num(xs.at(p.x)) + " " + num(ys.at(p.y)))
		pen = true
		n++
	}
	if n == 0 {
		return
	}
	s.path(d.String(), sr.color, 2, sr.dashed)
	if n > maxDots || sr.noDots {
		return
	}
	for _, p := range sr.pts {
		if p.ok {
			s.dot(xs.at(p.x), ys.at(p.y), sr.color)
		}
	}
}

// roundAxis returns the horizontal domain of the per-round charts, half a
// round beyond the first and last, and its ticks: round numbers at a
// round step, about ten of them.
func roundAxis(rounds []*results.Round) (x0, x1 float64, ticks []xTick) {
	if len(rounds) == 0 {
		return -0.5, 0.5, nil
	}
	lo, hi := float64(rounds[0].Round), float64(rounds[0].Round)
	for _, r := range rounds {
		lo = math.Min(lo, float64(r.Round))
		hi = math.Max(hi, float64(r.Round))
	}
	step := math.Max(1, math.Ceil(niceStep((hi-lo)/10)))
	for v := math.Ceil(lo/step) * step; v <= hi && len(ticks) < 20; v += step {
		ticks = append(ticks, xTick{v: v, label: short(v)})
	}
	return lo - 0.5, hi + 0.5, ticks
}

// perRound builds a series with one point per round from f.
func perRound(rounds []*results.Round, f func(r *results.Round) (float64, bool)) []point {
	pts := make([]point, 0, len(rounds))
	for _, r := range rounds {
		y, ok := f(r)
		// A value that is not a number is unknown, not huge.
		ok = ok && !math.IsNaN(y) && !math.IsInf(y, 0)
		pts = append(pts, point{x: float64(r.Round), y: finite(y), ok: ok})
	}
	return pts
}

// rateChart plots the planned and achieved rate of every round.
func rateChart(rounds []*results.Round) string {
	x0, x1, ticks := roundAxis(rounds)
	return drawLines(lineSpec{
		name: "rate", title: "Request rate per round",
		desc:   "Planned and achieved requests per second in each round.",
		xTitle: "round", yTitle: "requests per second", x0: x0, x1: x1, xTicks: ticks,
		empty: "no rounds recorded",
		series: []series{
			{label: "planned rps", color: "#7f7f7f", dashed: true, pts: perRound(rounds, func(r *results.Round) (float64, bool) { return r.PlannedRPS, true })},
			{label: "achieved rps", color: "#1f77b4", pts: perRound(rounds, func(r *results.Round) (float64, bool) { return r.AchievedRPS, true })},
		},
	})
}

// latencyChart plots latency quantiles of every round.
func latencyChart(rounds []*results.Round) string {
	x0, x1, ticks := roundAxis(rounds)
	q := func(get func(results.Quantiles) float64) []point {
		return perRound(rounds, func(r *results.Round) (float64, bool) { return get(r.Latency), true })
	}
	return drawLines(lineSpec{
		name: "latency", title: "Latency per round",
		desc:   "Latency quantiles (p50, p90, p99, max) of each round in milliseconds, from each request's intended send time (or its actual send, when earlier).",
		xTitle: "round", yTitle: "latency (ms)", x0: x0, x1: x1, xTicks: ticks,
		empty: "no rounds recorded",
		series: []series{
			{label: "p50", color: "#2ca02c", pts: q(func(l results.Quantiles) float64 { return l.P50 })},
			{label: "p90", color: "#1f77b4", pts: q(func(l results.Quantiles) float64 { return l.P90 })},
			{label: "p99", color: "#ff7f0e", pts: q(func(l results.Quantiles) float64 { return l.P99 })},
			{label: "max", color: "#d62728", dashed: true, pts: q(func(l results.Quantiles) float64 { return l.Max })},
		},
	})
}

// mib is the number of bytes in a mebibyte.
const mib = 1 << 20

// targetChart plots the target pods' CPU and memory per round; ok is
// false when no round carries target usage.
func targetChart(rounds []*results.Round) (chart string, ok bool) {
	for _, r := range rounds {
		ok = ok || r.Target != nil
	}
	if !ok {
		return "", false
	}
	x0, x1, ticks := roundAxis(rounds)
	cpu := perRound(rounds, func(r *results.Round) (float64, bool) {
		if r.Target == nil {
			return 0, false
		}
		return r.Target.CPUMillicores, true
	})
	mem := perRound(rounds, func(r *results.Round) (float64, bool) {
		if r.Target == nil {
			return 0, false
		}
		return float64(r.Target.MemoryBytes) / mib, true
	})
	return drawLines(lineSpec{
		name: "target", title: "Target pod usage per round",
		desc:   "CPU (millicores, left axis) and memory (MiB, right axis) of the target pods, summed, as read at the end of each round.",
		xTitle: "round", yTitle: "CPU (millicores)", y2Title: "memory (MiB)", x0: x0, x1: x1, xTicks: ticks,
		empty: "no target usage recorded",
		series: []series{
			{label: "CPU millicores (left)", color: "#9467bd", pts: cpu},
			{label: "memory MiB (right)", color: "#8c564b", dashed: true, right: true, pts: mem},
		},
	}), true
}
