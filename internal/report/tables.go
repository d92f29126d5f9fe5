package report

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/results"
)

// totals is the whole run as the report shows it: the summary line's
// statistics or, when the run was cut off before writing one, the same
// statistics rebuilt from the rounds by results.File.Totals, so that the
// report and every other reader of the file agree.
type totals struct {
	results.Stats
	rounds  int
	elapsed float64
	// hist is the latency of the whole run, in microseconds; never nil.
	hist *hdrhistogram.Histogram
	// fromRounds is true when there was no summary line.
	fromRounds bool
}

// runTotals returns the totals of f.
func runTotals(f *results.File) (*totals, error) {
	s, rebuilt, err := f.Totals()
	if err != nil {
		return nil, err
	}
	h, err := results.DecodeHistogram(s.LatencyHistogram)
	if err != nil {
		return nil, fmt.Errorf("%s: summary: %w", f.Path, err)
	}
	return &totals{Stats: s.Stats, rounds: s.Rounds, elapsed: s.ElapsedSeconds, hist: h, fromRounds: rebuilt}, nil
}

// kv is one labelled value of a table or list.
type kv struct {
	Key, Value string
}

// outcomeRow is one outcome of the summary table.
type outcomeRow struct {
	Name, Color, Count, Share string
}

// quantRow is one row of quantiles: latency or service time.
type quantRow struct {
	Label  string
	Values []string
}

// thresholdRow is one threshold and its verdict.
type thresholdRow struct {
	Expression, Verdict, Class, Value, Round string
}

// countRow is one failure reason or status code and how often it occurred.
type countRow struct {
	Key, Count, Share string
}

// checkRow is one response check and its verdicts.
type checkRow struct {
	Name, Passed, Failed, PassRate, Class string
}

// nameRow is one request name.
type nameRow struct {
	Name, Planned, Success, ErrorRate, P50, P99 string
}

// quantileLabels are the column heads of the quantile table.
var quantileLabels = []string{"p50", "p90", "p95", "p99", "p99.9", "max"}

// summaryRows lists the run's totals.
func summaryRows(t *totals) []kv {
	rows := []kv{
		{"Rounds", strconv.Itoa(t.rounds)},
		{"Elapsed", seconds(t.elapsed)},
		{"Planned requests", count(t.Planned)},
		{"Sent requests", count(t.Sent)},
		{"Planned rate", rate(t.PlannedRPS)},
		{"Achieved rate", rate(t.AchievedRPS)},
		{"Error rate", percent(t.ErrorRate)},
		{"Response bytes", count(t.ResponseBytes)},
	}
	return rows
}

// outcomeRows lists every outcome with its count and share of planned.
func outcomeRows(t *totals) []outcomeRow {
	var rows []outcomeRow
	for _, o := range tally.Outcomes() {
		n := t.Outcomes[o.String()]
		rows = append(rows, outcomeRow{Name: o.String(), Color: outcomeColor(o.String()), Count: count(n), Share: share(n, t.Planned)})
	}
	return rows
}

// quantRows lists latency and, when known, service time quantiles.
func quantRows(t *totals) []quantRow {
	q := func(label string, v results.Quantiles) quantRow {
		return quantRow{Label: label, Values: []string{ms(v.P50), ms(v.P90), ms(v.P95), ms(v.P99), ms(v.P999), ms(v.Max)}}
	}
	rows := []quantRow{q("latency", t.Latency)}
	if t.fromRounds {
		// Quantiles do not merge: this is the highest of the rounds'.
		return append(rows, q("service time (upper bound)", t.ServiceTime))
	}
	return append(rows, q("service time", t.ServiceTime))
}

// thresholdRows lists the thresholds with their verdicts; without a
// summary, the run's thresholds are listed as not judged.
func thresholdRows(f *results.File) []thresholdRow {
	var rows []thresholdRow
	if f.Summary == nil {
		if f.Run != nil {
			for _, e := range f.Run.Thresholds {
				rows = append(rows, thresholdRow{Expression: e, Verdict: "not judged", Class: "cut", Value: "–", Round: "–"})
			}
		}
		return rows
	}
	for _, th := range f.Summary.Thresholds {
		r := thresholdRow{Expression: th.Expression, Verdict: "pass", Class: "pass", Value: measured(th.Value), Round: "–"}
		if th.Reason != "" {
			r.Value = th.Reason
		}
		if !th.Passed {
			r.Verdict, r.Class = "FAIL", "fail"
		}
		if th.Round != nil {
			r.Round = strconv.FormatInt(*th.Round, 10)
		}
		rows = append(rows, r)
	}
	return rows
}

// errorRows lists the most frequent failure reasons with their share of
// the failed requests.
func errorRows(t *totals) []countRow {
	failed := t.Planned - t.Outcomes[tally.Success.String()]
	var rows []countRow
	for _, e := range t.Errors {
		rows = append(rows, countRow{Key: e.Message, Count: count(e.Count), Share: share(e.Count, failed)})
	}
	return rows
}

// statusRows lists responses by status code, in code order.
func statusRows(t *totals) []countRow {
	codes := make([]string, 0, len(t.StatusCodes))
	var total int64
	for code, n := range t.StatusCodes {
		codes = append(codes, code)
		total += n
	}
	sort.Slice(codes, func(i, j int) bool {
		a, errA := strconv.Atoi(codes[i])
		b, errB := strconv.Atoi(codes[j])
		if errA != nil || errB != nil || a == b {
			return codes[i] < codes[j]
		}
		return a < b
	})
	rows := make([]countRow, 0, len(codes))
	for _, code := range codes {
		n := t.StatusCodes[code]
		rows = append(rows, countRow{Key: code, Count: count(n), Share: share(n, total)})
	}
	return rows
}

// nameRows lists the request names.
func nameRows(t *totals) []nameRow {
	rows := make([]nameRow, 0, len(t.Names))
	for _, n := range t.Names {
		rows = append(rows, nameRow{
			Name: n.Name, Planned: count(n.Planned), Success: count(n.Outcomes[tally.Success.String()]),
			ErrorRate: percent(n.ErrorRate), P50: ms(n.Latency.P50), P99: ms(n.Latency.P99),
		})
	}
	return rows
}

// checkRows lists the response checks, the worst first (lowest pass
// rate), with the overall pass rate as the first row.
func checkRows(t *totals) []checkRow {
	rate, ok := t.CheckPassRate()
	if !ok {
		return nil
	}
	passed, judged := t.CheckTotals()
	rows := []checkRow{{Name: "all checks", Passed: count(passed), Failed: count(judged - passed), PassRate: percent(rate), Class: "all"}}
	for _, c := range t.FailingChecks() {
		rows = append(rows, checkRow{Name: c.Name, Passed: count(c.Passed), Failed: count(c.Failed), PassRate: percent(c.PassRate)})
	}
	return rows
}

// flagRows lists the run's flags by name.
func flagRows(flags map[string]string) []kv {
	rows := make([]kv, 0, len(flags))
	for k, v := range flags {
		rows = append(rows, kv{Key: "-" + k, Value: v})
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows
}

// count formats a count with thousands separators.
func count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := len(s) > 0 && s[0] == '-'
	if neg {
		s = s[1:]
	}
	var out []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	if neg {
		return "-" + string(out)
	}
	return string(out)
}

// share formats n as a percentage of total; empty when total is not
// positive.
func share(n, total int64) string {
	if total <= 0 {
		return ""
	}
	return percent(float64(n) / float64(total))
}

// percent formats a ratio as a percentage.
func percent(r float64) string {
	if !isFinite(r) {
		return "n/a"
	}
	if r = finite(r) * 100; r >= 1e15 || r <= -1e15 {
		return trim(r) + "%"
	}
	return fmt.Sprintf("%.2f%%", r)
}

// measured formats a threshold's measured value with six significant
// digits, as small ratios need them.
func measured(v float64) string {
	if !isFinite(v) {
		return "n/a"
	}
	return strconv.FormatFloat(finite(v), 'g', 6, 64)
}

// ms formats milliseconds.
func ms(v float64) string {
	if !isFinite(v) {
		return "n/a"
	}
	return trim(finite(v)) + " ms"
}

// rate formats requests per second.
func rate(v float64) string {
	if !isFinite(v) {
		return "n/a"
	}
	if v = finite(v); v >= 1e15 {
		return trim(v) + " rps"
	}
	return fmt.Sprintf("%.1f rps", v)
}

// seconds formats a length of time given in seconds.
func seconds(s float64) string {
	if !isFinite(s) {
		return "n/a"
	}
	s = finite(s)
	if s <= 0 || s > 1e9 {
		return trim(s) + " s"
	}
	return (time.Duration(s * float64(time.Second))).Round(time.Millisecond).String()
}

// isFinite reports whether v is a number, not NaN or an infinity: what a
// table shows as "n/a" otherwise.
func isFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// quantNote explains the quantile table.
func quantNote(t *totals) string {
	const base = "Latency runs from each request's intended send time (or its actual send, when earlier: send windows), service time from its actual send."
	if t.fromRounds {
		return base + " Without a summary line, service time quantiles cannot be merged: each is the highest of the rounds'."
	}
	return base
}
