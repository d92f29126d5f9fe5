package results

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/PeladoCollado/imager/internal/tally"
)

// metricKind says how a metric's values are written and shown.
type metricKind uint8

const (
	kindLatency  metricKind = iota // milliseconds, written as a duration
	kindFraction                   // 0..1, or a percentage
	kindCount                      // a whole number of requests
	kindRate                       // requests per second
	kindRatio                      // 0 or more, or a percentage
)

// metricDef is one metric Stats.Metric knows.
type metricDef struct {
	kind metricKind
	get  func(*Stats) float64
}

// metricDefs holds every metric by canonical name.
var metricDefs = buildMetrics()

// metricAliases maps other spellings to canonical metric names.
var metricAliases = map[string]string{"p999": "p99.9", "service_p999": "service_p99.9"}

// buildMetrics builds the metric table.
func buildMetrics() map[string]metricDef {
	m := map[string]metricDef{
		"error_rate":     {kindFraction, func(s *Stats) float64 { return s.fraction(s.Planned - s.Outcomes["success"]) }},
		"success_rate":   {kindFraction, func(s *Stats) float64 { return s.fraction(s.Outcomes["success"]) }},
		"timeout_rate":   {kindFraction, func(s *Stats) float64 { return s.fraction(s.Outcomes["timeout"]) }},
		"achieved_ratio": {kindRatio, achievedRatio},
		"achieved_rps":   {kindRate, func(s *Stats) float64 { return s.AchievedRPS }},
		"planned_rps":    {kindRate, func(s *Stats) float64 { return s.PlannedRPS }},
		"planned":        {kindCount, func(s *Stats) float64 { return float64(s.Planned) }},
		"sent":           {kindCount, func(s *Stats) float64 { return float64(s.Sent) }},
		checksMetric:     {kindFraction, checksRate},
	}
	quantiles := []struct {
		name string
		get  func(*Quantiles) float64
	}{
		{"p50", func(q *Quantiles) float64 { return q.P50 }},
		{"p90", func(q *Quantiles) float64 { return q.P90 }},
		{"p95", func(q *Quantiles) float64 { return q.P95 }},
		{"p99", func(q *Quantiles) float64 { return q.P99 }},
		{"p99.9", func(q *Quantiles) float64 { return q.P999 }},
		{"max", func(q *Quantiles) float64 { return q.Max }},
	}
	for _, q := range quantiles {
		m[q.name] = metricDef{kindLatency, func(s *Stats) float64 { return q.get(&s.Latency) }}
		m["service_"+q.name] = metricDef{kindLatency, func(s *Stats) float64 { return q.get(&s.ServiceTime) }}
	}
	for _, o := range tally.Outcomes() {
		name := o.String()
		m[name] = metricDef{kindCount, func(s *Stats) float64 { return float64(s.Outcomes[name]) }}
	}
	return m
}

// fraction is n over the planned requests, 0 when nothing was planned.
func (s *Stats) fraction(n int64) float64 {
	if s.Planned == 0 {
		return 0
	}
	return float64(n) / float64(s.Planned)
}

// achievedRatio is achieved over planned rps; 1 when the planned rate is
// 0, since nothing was asked for and nothing fell short.
func achievedRatio(s *Stats) float64 {
	if s.PlannedRPS == 0 {
		return 1
	}
	return s.AchievedRPS / s.PlannedRPS
}

// Metrics lists the canonical names of every metric, sorted; the
// metrics of single checks, check:NAME, are not listed.
func Metrics() []string {
	out := make([]string, 0, len(metricDefs))
	for name := range metricDefs {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// lookupMetric returns the canonical name and definition of a metric.
func lookupMetric(name string) (string, metricDef, error) {
	if c, def, ok := checkMetricDef(name); ok {
		return c, def, nil
	}
	name = strings.ToLower(name)
	if c, ok := metricAliases[name]; ok {
		name = c
	}
	def, ok := metricDefs[name]
	if !ok {
		return "", metricDef{}, fmt.Errorf("unknown metric %q (known: %s, and check:NAME for one response check)", name, strings.Join(Metrics(), ", "))
	}
	return name, def, nil
}

// metricOf returns the definition of a canonical metric name, as
// lookupMetric returned it.
func metricOf(canonical string) (metricDef, bool) {
	if _, def, ok := checkMetricDef(canonical); ok {
		return def, true
	}
	def, ok := metricDefs[canonical]
	return def, ok
}

// Metric returns the value of a metric of s: latency in ms, fractions 0..1,
// counts, and rates in requests per second. Fractions of a run that
// planned nothing are 0; achieved_ratio with a planned rate of 0 is 1.
func (s *Stats) Metric(name string) (float64, error) {
	_, def, err := lookupMetric(name)
	if err != nil {
		return 0, err
	}
	return def.get(s), nil
}

// FormatMetric formats a value of a metric for people: latency with "ms",
// counts as whole numbers. An unknown metric's value is shown plainly.
func FormatMetric(metric string, v float64) string {
	_, def, err := lookupMetric(metric)
	if err != nil {
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	switch def.kind {
	case kindLatency:
		// Latency comes in whole microseconds: three decimals of a ms.
		ms := strings.TrimRight(strconv.FormatFloat(v, 'f', 3, 64), "0")
		return strings.TrimSuffix(ms, ".") + "ms"
	case kindCount:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case kindRate:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
}
