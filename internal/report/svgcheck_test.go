package report

import (
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// svgInfo is what a test reads back from one rendered chart.
type svgInfo struct {
	w, h  float64
	title string
	texts []string
	// plotted counts the data marks: lines, dots and bars.
	plotted int
	// paths holds the points of each plotted line, in drawing order.
	paths [][][2]float64
	// coords holds every coordinate of every data mark.
	coords [][2]float64
}

// svgRE finds the charts of a page; they never nest.
var svgRE = regexp.MustCompile(`(?s)<svg data-chart="([^"]*)".*?</svg>`)

// parseCharts returns the charts of a page by name, failing the test on
// a chart that is not well-formed XML.
func parseCharts(t *testing.T, page string) map[string]*svgInfo {
	t.Helper()
	out := map[string]*svgInfo{}
	for _, m := range svgRE.FindAllStringSubmatch(page, -1) {
		if _, dup := out[m[1]]; dup {
			t.Errorf("chart %q appears twice", m[1])
		}
		info, err := parseSVG(m[0])
		if err != nil {
			t.Fatalf("chart %q: %v", m[1], err)
		}
		out[m[1]] = info
	}
	return out
}

// parseSVG reads one chart's markup.
func parseSVG(markup string) (*svgInfo, error) {
	info := &svgInfo{}
	dec := xml.NewDecoder(strings.NewReader(markup))
	var inText, inTitle bool
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return info, nil
		}
		if err != nil {
			return nil, err
		}
		switch el := tok.(type) {
		case xml.StartElement:
			inText, inTitle = el.Name.Local == "text", el.Name.Local == "title"
			if err := info.element(el); err != nil {
				return nil, err
			}
		case xml.CharData:
			switch {
			case inText:
				info.texts = append(info.texts, string(el))
			case inTitle:
				info.title += string(el)
			}
		case xml.EndElement:
			inText, inTitle = false, false
		}
	}
}

// element records what a start element adds to the chart.
func (info *svgInfo) element(el xml.StartElement) error {
	a := map[string]string{}
	for _, at := range el.Attr {
		a[at.Name.Local] = at.Value
	}
	f := func(name string) float64 {
		v, _ := strconv.ParseFloat(a[name], 64)
		return v
	}
	plot := strings.HasPrefix(a["class"], "plot")
	switch {
	case el.Name.Local == "svg":
		vb := strings.Fields(a["viewBox"])
		if len(vb) == 4 {
			info.w, _ = strconv.ParseFloat(vb[2], 64)
			info.h, _ = strconv.ParseFloat(vb[3], 64)
		}
	case el.Name.Local == "path" && plot:
		pts, err := pathPoints(a["d"])
		if err != nil {
			return err
		}
		info.paths = append(info.paths, pts)
		info.coords = append(info.coords, pts...)
		info.plotted++
	case el.Name.Local == "circle" && plot:
		info.coords = append(info.coords, [2]float64{f("cx"), f("cy")})
		info.plotted++
	case el.Name.Local == "rect" && plot:
		x, y := f("x"), f("y")
		info.coords = append(info.coords, [2]float64{x, y}, [2]float64{x + f("width"), y + f("height")})
		info.plotted++
	}
	return nil
}

// pathPoints reads the points of a path made of M and L commands.
func pathPoints(d string) ([][2]float64, error) {
	var pts [][2]float64
	fields := strings.Fields(strings.NewReplacer("M", " ", "L", " ").Replace(d))
	if len(fields)%2 != 0 || len(fields) == 0 {
		return nil, &strconv.NumError{Func: "path", Num: d, Err: strconv.ErrSyntax}
	}
	for i := 0; i < len(fields); i += 2 {
		x, err := strconv.ParseFloat(fields[i], 64)
		if err != nil {
			return nil, err
		}
		y, err := strconv.ParseFloat(fields[i+1], 64)
		if err != nil {
			return nil, err
		}
		pts = append(pts, [2]float64{x, y})
	}
	return pts, nil
}

// checkInside fails the test when a data mark of the chart lies outside
// its viewBox.
func checkInside(t *testing.T, name string, info *svgInfo) {
	t.Helper()
	if info.w <= 0 || info.h <= 0 {
		t.Errorf("chart %q: bad viewBox %vx%v", name, info.w, info.h)
		return
	}
	for _, c := range info.coords {
		if !(c[0] >= 0 && c[0] <= info.w && c[1] >= 0 && c[1] <= info.h) {
			t.Errorf("chart %q: point (%v, %v) outside the viewBox %vx%v", name, c[0], c[1], info.w, info.h)
			return
		}
	}
}

// hasText reports whether one of the chart's texts contains s.
func (info *svgInfo) hasText(s string) bool {
	for _, x := range info.texts {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}

// numericTexts counts the texts that are tick labels: numbers, possibly
// with a k/M/G suffix or a percent sign.
func (info *svgInfo) numericTexts() int {
	n := 0
	for _, x := range info.texts {
		x = strings.TrimRight(x, "kMGT%")
		if _, err := strconv.ParseFloat(x, 64); err == nil {
			n++
		}
	}
	return n
}
