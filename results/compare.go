package results

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Comparison sets a baseline run (A) against a candidate (B), metric by
// metric, for the whole runs and for every request name either has.
type Comparison struct {
	A, B Side
	// Rows compare the whole runs, in Sections order.
	Rows []Row
	// Names compare the requests of each name, sorted by name.
	Names []NameRows
}

// Side is one of the two runs compared.
type Side struct {
	Path string
	Run  *Run
	// Summary is the file's summary line or, when Rebuilt, the merge of its
	// rounds (see MergeRounds).
	Summary *Summary
	Rebuilt bool
}

// Row compares one metric of both runs.
type Row struct {
	// Section groups rows: "rate", "requests", "latency", "service time"
	// or "checks".
	Section string
	// Metric is the name Stats.Metric knows the row by; FormatMetric
	// formats its values.
	Metric string
	A, B   float64
	// Change is RelativeChange(A, B).
	Change float64
	// Unmeasured is "A" or "B" when that run has no value for the metric
	// (a response check it did not run), "AB" when neither has; such a
	// side's value is 0 and Change compares against it.
	Unmeasured string
}

// NameRows compares the requests of one name; a name only one run has
// compares against zeros.
type NameRows struct {
	Name     string
	InA, InB bool
	Rows     []Row
}

// section is one group of compared metrics.
type section struct {
	name    string
	metrics []string
}

// The metrics compared: runSections for whole runs, nameSections per
// request name, which has no rates or service time.
var (
	requestMetrics = []string{"planned", "sent", "success", "client_error", "server_error", "timeout", "connection_error", "dropped", "lost", "check_failed", "error_rate"}
	latencyMetrics = []string{"p50", "p90", "p95", "p99", "p99.9", "max"}
	runSections    = []section{
		{"rate", []string{"planned_rps", "achieved_rps"}},
		{"requests", requestMetrics},
		{"latency", latencyMetrics},
		{"service time", []string{"service_p50", "service_p99"}},
	}
	nameSections = []section{{"requests", requestMetrics}, {"latency", latencyMetrics}}
)

// Compare compares a baseline file a with a candidate b. A file without a
// summary line (a killed run) is summed up from its rounds.
func Compare(a, b *File) (*Comparison, error) {
	c := &Comparison{}
	for _, p := range []struct {
		side *Side
		f    *File
	}{{&c.A, a}, {&c.B, b}} {
		s, rebuilt, err := p.f.Totals()
		if err != nil {
			return nil, err
		}
		*p.side = Side{Path: p.f.Path, Run: p.f.Run, Summary: s, Rebuilt: rebuilt}
	}
	c.Rows = compareStats(runSections, &c.A.Summary.Stats, &c.B.Summary.Stats)
	c.Rows = append(c.Rows, compareChecks(&c.A.Summary.Stats, &c.B.Summary.Stats)...)
	na, nb := namesOf(&c.A.Summary.Stats), namesOf(&c.B.Summary.Stats)
	var names []string
	for n := range na {
		names = append(names, n)
	}
	for n := range nb {
		if _, ok := na[n]; !ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		ca, inA := na[n]
		cb, inB := nb[n]
		sa, sb := Stats{Counts: ca}, Stats{Counts: cb}
		c.Names = append(c.Names, NameRows{Name: n, InA: inA, InB: inB, Rows: compareStats(nameSections, &sa, &sb)})
	}
	return c, nil
}

// namesOf indexes the per-name counts of s.
func namesOf(s *Stats) map[string]Counts {
	m := make(map[string]Counts, len(s.Names))
	for _, n := range s.Names {
		m[n.Name] = n.Counts
	}
	return m
}

// compareStats builds the rows of the given sections.
func compareStats(sections []section, a, b *Stats) []Row {
	var rows []Row
	for _, sec := range sections {
		for _, m := range sec.metrics {
			va, vb := metricDefs[m].get(a), metricDefs[m].get(b)
			rows = append(rows, Row{Section: sec.name, Metric: m, A: va, B: vb, Change: RelativeChange(va, vb)})
		}
	}
	return rows
}

// compareChecks compares the pass rates of the response checks, when
// either run has any: overall ("checks"), then each check by name
// ("check:NAME"), sorted.
func compareChecks(a, b *Stats) []Row {
	if len(a.Checks) == 0 && len(b.Checks) == 0 {
		return nil
	}
	metrics := []string{checksMetric}
	seen := map[string]bool{}
	for _, c := range append(append([]CheckStats(nil), a.Checks...), b.Checks...) {
		seen[c.Name] = true
	}
	for _, name := range sortedKeys(seen) {
		metrics = append(metrics, checkPrefix+name)
	}
	var rows []Row
	for _, m := range metrics {
		def, _ := metricOf(m)
		va, vb := def.get(a), def.get(b)
		r := Row{Section: "checks", Metric: m, A: va, B: vb, Change: RelativeChange(va, vb)}
		if notRun(m, a) != "" {
			r.Unmeasured += "A"
		}
		if notRun(m, b) != "" {
			r.Unmeasured += "B"
		}
		rows = append(rows, r)
	}
	return rows
}

// RelativeChange is (b − a) / a: 0 when they are equal (both 0 too), and
// +Inf for an increase from 0 (−Inf for a decrease from 0).
func RelativeChange(a, b float64) float64 {
	switch {
	case a == b:
		return 0
	case a == 0 && b > 0:
		return math.Inf(1)
	case a == 0:
		return math.Inf(-1)
	}
	return (b - a) / math.Abs(a)
}

// FormatChange formats a relative change as a signed percentage with one
// decimal: "+12.3%", "-4.0%", "+inf%", and "0.0%" for no change.
func FormatChange(c float64) string {
	switch {
	case c == 0:
		return "0.0%"
	case math.IsInf(c, 1):
		return "+inf%"
	case math.IsInf(c, -1):
		return "-inf%"
	}
	return fmt.Sprintf("%+.1f%%", c*100)
}

// FailIf is one parsed -fail-if expression of `imager compare`:
//
//	METRIC OP CHANGE
//
// METRIC is anything Stats.Metric knows, OP one of >, >=, < and <=, and
// CHANGE either relative, a signed percentage such as +10% or -5% (the
// relative change of B against A, (B − A) / A, +Inf for an increase from
// 0), or absolute, a signed amount in the metric's unit such as +0.05
// (error_rate 0.05 points up) or +20ms (latency needs a unit). "p99>+10%"
// fails when B's p99 is more than 10% above A's; "achieved_rps<-5%" fails
// when it fell by more than 5%; "error_rate>+0.05" fails when B − A >
// 0.05. Changes and limits are compared rounded to nine decimals.
type FailIf struct {
	Expr   string // as the user wrote it, verbatim
	Metric string // canonical metric name
	Op     string // "<", "<=", ">", ">="
	// Relative says Limit is a relative change (0.1 for +10%); otherwise
	// it is B − A in the metric's unit (milliseconds for latency).
	Relative bool
	Limit    float64
}

// ParseFailIf parses one -fail-if expression; the error quotes it.
func ParseFailIf(expr string) (FailIf, error) {
	f, err := parseFailIf(expr)
	if err != nil {
		return FailIf{}, fmt.Errorf("fail-if %q: %w", expr, err)
	}
	return f, nil
}

// ParseFailIfs parses all; the error (errors.Join) names every bad
// expression, quoted, and no expressions are returned with it.
func ParseFailIfs(exprs []string) ([]FailIf, error) {
	out := make([]FailIf, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		f, err := ParseFailIf(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, f)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// parseFailIf parses expr, with errors that do not yet quote it.
func parseFailIf(expr string) (FailIf, error) {
	f := FailIf{Expr: expr}
	if strings.TrimSpace(expr) == "" {
		return f, errors.New("empty expression")
	}
	metric, op, value, err := splitExpr(expr)
	if err != nil {
		return f, err
	}
	name, def, err := lookupMetric(metric)
	if err != nil {
		return f, err
	}
	if op == "==" {
		return f, errors.New("use >, >=, < or <=: a change is never exactly anything")
	}
	f.Metric, f.Op = name, op
	if num, ok := strings.CutSuffix(value, "%"); ok {
		f.Relative = true
		f.Limit, err = strconv.ParseFloat(num, 64)
		if err != nil || math.IsNaN(f.Limit) || math.IsInf(f.Limit, 0) {
			return f, fmt.Errorf("%q is not a change such as +10%% or -5%%", value)
		}
		f.Limit /= 100
		return f, nil
	}
	if def.kind == kindLatency {
		if strings.Trim(value, "0123456789.+-") == "" {
			return f, fmt.Errorf("%q needs a unit, such as %sms, or %% for a relative change", value, value)
		}
		d, err := time.ParseDuration(value)
		if err != nil {
			return f, fmt.Errorf("%q is not a change such as +10%% or +20ms", value)
		}
		f.Limit = durationMS(d)
		return f, nil
	}
	f.Limit, err = strconv.ParseFloat(value, 64)
	if err != nil || math.IsNaN(f.Limit) || math.IsInf(f.Limit, 0) {
		return f, fmt.Errorf("%q is not a change such as +10%% or +0.05", value)
	}
	return f, nil
}

// FailIfResult is the verdict of one -fail-if.
type FailIfResult struct {
	FailIf FailIf
	// A and B are the metric's values; Change is the change measured as
	// the expression asks, relative or absolute.
	A, B, Change float64
	Failed       bool
}

// Check judges the -fail-if expressions on the whole runs, in order.
func (c *Comparison) Check(fs []FailIf) []FailIfResult {
	out := make([]FailIfResult, 0, len(fs))
	for _, f := range fs {
		r := FailIfResult{FailIf: f}
		def, ok := metricOf(f.Metric)
		if !ok { // not made by ParseFailIf
			r.Failed = true
			out = append(out, r)
			continue
		}
		r.A, r.B = def.get(&c.A.Summary.Stats), def.get(&c.B.Summary.Stats)
		r.Change = r.B - r.A
		if f.Relative {
			r.Change = RelativeChange(r.A, r.B)
		}
		r.Change = roundChange(r.Change)
		r.Failed = compare(r.Change, f.Op, roundChange(f.Limit))
		out = append(out, r)
	}
	return out
}

// roundChange rounds a change to nine decimals, so that float noise in
// B − A does not tip a comparison at the limit: 1ms to 1.2ms is exactly
// +20%, not +19.999999999999996%.
func roundChange(v float64) float64 { return math.Round(v*1e9) / 1e9 }

// ChangeText formats the measured change: a percentage for a relative
// expression, a signed amount in the metric's unit for an absolute one.
func (r *FailIfResult) ChangeText() string {
	if r.FailIf.Relative {
		return FormatChange(r.Change)
	}
	if r.Change < 0 {
		return "-" + FormatMetric(r.FailIf.Metric, -r.Change)
	}
	return "+" + FormatMetric(r.FailIf.Metric, r.Change)
}
