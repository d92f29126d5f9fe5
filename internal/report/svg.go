package report

import (
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units. Every chart has the same viewBox, so
// the page lays them out alike; the plot area leaves room for the legend
// above, the tick labels and axis titles around it.
const (
	chartW  = 900
	chartH  = 340
	padL    = 78
	padR    = 78
	padT    = 58
	padB    = 56
	plotX0  = padL
	plotX1  = chartW - padR
	plotY0  = padT
	plotY1  = chartH - padB
	maxAbs  = 1e300 // values are clamped to ±maxAbs so scaling stays finite
	charPx  = 6.6   // estimated width of one character of 12px text
	fontPx  = 12
	axisCol = "#444"
	gridCol = "#e3e3e3"
)

// svg accumulates the markup of one chart.
type svg struct {
	b strings.Builder
}

// open starts the svg element with its name, accessible title and
// description; text is escaped.
func (s *svg) open(name, title, desc string) {
	fmt.Fprintf(&s.b, `<svg data-chart="%s" viewBox="0 0 %d %d" width="%d" height="%d" role="img" font-family="sans-serif" font-size="%d">`,
		esc(name), chartW, chartH, chartW, chartH, fontPx)
	fmt.Fprintf(&s.b, "<title>%s</title><desc>%s</desc>", esc(title), esc(desc))
	fmt.Fprintf(&s.b, `<rect x="0" y="0" width="%d" height="%d" fill="#fff"/>`, chartW, chartH)
}

// close ends the svg element and returns the markup.
func (s *svg) close() string {
	s.b.WriteString("</svg>")
	return s.b.String()
}

// text writes a text element; anchor is start, middle or end.
func (s *svg) text(x, y float64, anchor, fill, str string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="%s" fill="%s">%s</text>`,
		num(x), num(y), anchor, fill, esc(str))
}

// vtext writes text rotated to read bottom to top, centred on (x, y).
func (s *svg) vtext(x, y float64, fill, str string) {
	fmt.Fprintf(&s.b, `<text x="%s" y="%s" text-anchor="middle" fill="%s" transform="rotate(-90 %s %s)">%s</text>`,
		num(x), num(y), fill, num(x), num(y), esc(str))
}

// line writes a straight line.
func (s *svg) line(x1, y1, x2, y2 float64, stroke string, width float64) {
	fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="%s"/>`,
		num(x1), num(y1), num(x2), num(y2), stroke, num(width))
}

// rect writes a filled rectangle.
func (s *svg) rect(x, y, w, h float64, fill, class string) {
	fmt.Fprintf(&s.b, `<rect class="%s" x="%s" y="%s" width="%s" height="%s" fill="%s"/>`,
		class, num(x), num(y), num(w), num(h), fill)
}

// path writes an unfilled path.
func (s *svg) path(d, stroke string, width float64, dashed bool) {
	dash := ""
	if dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(&s.b, `<path class="plot" d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"%s/>`,
		d, stroke, num(width), dash)
}

// dot writes a point marker.
func (s *svg) dot(x, y float64, fill string) {
	fmt.Fprintf(&s.b, `<circle class="plot" cx="%s" cy="%s" r="3" fill="%s"/>`, num(x), num(y), fill)
}

// heading writes the chart's title above its legend.
func (s *svg) heading(title string) {
	fmt.Fprintf(&s.b, `<text x="%d" y="20" font-size="15" font-weight="bold" fill="#111">%s</text>`, plotX0, esc(title))
}

// note writes a message in the middle of the plot area, for a chart with
// nothing to plot.
func (s *svg) note(msg string) {
	s.text((plotX0+plotX1)/2, (plotY0+plotY1)/2, "middle", "#777", msg)
}

// legendItem is one entry of a chart's legend.
type legendItem struct {
	label, color string
	dashed       bool
}

// legend writes the legend above the plot area, wrapping onto a second
// row when the entries do not fit on one.
func (s *svg) legend(items []legendItem) {
	x, y := float64(plotX0), 40.0
	for _, it := range items {
		w := 26 + charPx*float64(len([]rune(it.label))) + 16
		if x+w > chartW-8 && x > plotX0 {
			x, y = plotX0, y+16
		}
		if it.dashed {
			fmt.Fprintf(&s.b, `<line x1="%s" y1="%s" x2="%s" y2="%s" stroke="%s" stroke-width="2.5" stroke-dasharray="6 4"/>`,
				num(x), num(y-4), num(x+20), num(y-4), it.color)
		} else {
			s.rect(x, y-10, 20, 10, it.color, "swatch")
		}
		s.text(x+26, y, "start", "#222", it.label)
		x += w
	}
}

// scale maps a domain [d0, d1] linearly onto a range [r0, r1]. d1 > d0
// always holds (see newScale), so mapping never divides by zero; values
// outside the domain are clamped into the range.
type scale struct {
	d0, d1, r0, r1 float64
}

// newScale returns a scale, widening an empty or inverted domain.
func newScale(d0, d1, r0, r1 float64) scale {
	d0, d1 = finite(d0), finite(d1)
	if !(d1 > d0) {
		d1 = d0 + 1
	}
	return scale{d0: d0, d1: d1, r0: r0, r1: r1}
}

// at maps v onto the range.
func (sc scale) at(v float64) float64 {
	v = math.Min(math.Max(finite(v), sc.d0), sc.d1)
	return sc.r0 + (v-sc.d0)/(sc.d1-sc.d0)*(sc.r1-sc.r0)
}

// finite replaces NaN with 0 and clamps v to ±maxAbs.
func finite(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return math.Min(math.Max(v, -maxAbs), maxAbs)
}

// niceStep returns a round step (1, 2, 2.5 or 5 times a power of ten) of
// at least raw.
func niceStep(raw float64) float64 {
	if !(raw > 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= raw {
			return m * p
		}
	}
	return 10 * p
}

// niceTicks returns a round top at or above max and the ticks from 0 to
// it, about five of them. A non-positive max gives 0..1.
func niceTicks(max float64) (top float64, ticks []float64) {
	max = finite(max)
	if !(max > 0) {
		max = 1
	}
	step := niceStep(max / 5)
	top = math.Ceil(max/step) * step
	if math.IsInf(top, 0) || top < max {
		top = max
	}
	for i := 0; i <= 12; i++ {
		v := float64(i) * step
		if v > top*(1+1e-9) {
			break
		}
		ticks = append(ticks, v)
	}
	return top, ticks
}

// yAxis draws horizontal grid lines and the tick labels of a vertical
// axis on the left (right=false) or right side, and the axis title.
func (s *svg) yAxis(sc scale, ticks []float64, right bool, title, color string) {
	for _, t := range ticks {
		y := sc.at(t)
		if !right {
			s.line(plotX0, y, plotX1, y, gridCol, 1)
			s.text(plotX0-6, y+4, "end", color, short(t))
		} else {
			s.text(plotX1+6, y+4, "start", color, short(t))
		}
	}
	x, edge := float64(plotX0), 18.0
	if right {
		x, edge = plotX1, chartW-10
	}
	s.line(x, plotY0, x, plotY1, axisCol, 1)
	s.vtext(edge, (plotY0+plotY1)/2, color, title)
}

// xTick is one labelled position on the horizontal axis.
type xTick struct {
	v     float64
	label string
}

// xAxis draws the horizontal axis line, its ticks and its title.
func (s *svg) xAxis(sc scale, ticks []xTick, title string) {
	s.line(plotX0, plotY1, plotX1, plotY1, axisCol, 1)
	for _, t := range ticks {
		x := sc.at(t.v)
		s.line(x, plotY1, x, plotY1+5, axisCol, 1)
		s.text(x, plotY1+19, "middle", axisCol, t.label)
	}
	s.text((plotX0+plotX1)/2, chartH-10, "middle", "#222", title)
}

// num formats a coordinate with one decimal.
func num(v float64) string {
	return strconv.FormatFloat(finite(v), 'f', 1, 64)
}

// short formats a tick value compactly: 950, 12.5k, 3M, 1.2e+21.
func short(v float64) string {
	a := math.Abs(v)
	switch {
	case a >= 1e15:
		return strconv.FormatFloat(v, 'g', 3, 64)
	case a >= 1e12:
		return trim(v/1e12) + "T"
	case a >= 1e9:
		return trim(v/1e9) + "G"
	case a >= 1e6:
		return trim(v/1e6) + "M"
	case a >= 1e4:
		return trim(v/1e3) + "k"
	}
	return trim(v)
}

// trim formats v with at most three decimals and no trailing zeros; a
// value of 10¹⁵ or more in exponent form.
func trim(v float64) string {
	if math.Abs(v) >= 1e15 {
		return strconv.FormatFloat(v, 'g', 4, 64)
	}
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	if s == "-0" {
		return "0"
	}
	return s
}

// esc escapes text for HTML and SVG.
func esc(s string) string { return html.EscapeString(s) }
