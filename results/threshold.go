package results

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Threshold is one parsed threshold expression. The grammar is
//
//	[round:] METRIC OP VALUE
//
// with spaces allowed around every token, e.g. "p99<250ms",
// "p99 < 250ms" or "round: error_rate <= 0.01". OP is one of <, <=, >, >=
// and ==; == is refused for latency, rates and ratios, which are
// measured rather than counted. VALUE is written in the metric's kind:
//
//   - latency (p50 p90 p95 p99 p99.9 max, and service_p50 ... service_max
//     for the time from the actual send): a Go duration such as 250ms, 1us,
//     1µs or 2s; a bare number is an error, since it has no unit.
//   - fraction (error_rate, success_rate, timeout_rate): 0 to 1, or a
//     percentage such as 1%.
//   - count (planned, sent, and every outcome by name: success,
//     client_error, server_error, timeout, connection_error, dropped,
//     lost): a whole number of requests, 0 or more.
//   - rate (planned_rps, achieved_rps): requests per second, 0 or more.
//   - check pass rates (checks, the pass rate over every response check,
//     and check:NAME, that of the check named NAME): fractions as above.
//     NAME is everything between "check:" and the operator, so it may
//     hold spaces, colons and brackets; a threshold on checks that judged
//     nothing fails (see checks.go).
//   - ratio (achieved_ratio): 0 or more, or a percentage.
//
// Comparisons are exact: the measured value and VALUE are both computed
// the same way from integers, so "error_rate == 0" holds exactly when
// every planned request succeeded.
//
// A run with no responses at all has 0 latency, so a latency threshold
// passes on it; error_rate (1 when requests were planned and none
// succeeded) is the threshold that catches that case. A run that planned
// nothing has error_rate 0; "planned >= 1" or "success >= 1" catches that.
type Threshold struct {
	Expr   string  // as the user wrote it, verbatim
	Round  bool    // "round:" prefix: judged on every round
	Metric string  // canonical metric name, e.g. "p99", "error_rate"
	Op     string  // "<", "<=", ">", ">=", "=="
	Value  float64 // in the metric's unit: milliseconds for latency metrics
}

// ParseThreshold parses one threshold expression; see Threshold for the
// grammar. The error quotes the expression.
func ParseThreshold(expr string) (Threshold, error) {
	t, err := parseThreshold(expr)
	if err != nil {
		return Threshold{}, fmt.Errorf("threshold %q: %w", expr, err)
	}
	return t, nil
}

// ParseThresholds parses all; the error (errors.Join) names every bad
// expression, quoted, and no thresholds are returned with it.
func ParseThresholds(exprs []string) ([]Threshold, error) {
	out := make([]Threshold, 0, len(exprs))
	var errs []error
	for _, e := range exprs {
		t, err := ParseThreshold(e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, t)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return out, nil
}

// parseThreshold parses expr, with errors that do not yet quote it.
func parseThreshold(expr string) (Threshold, error) {
	t := Threshold{Expr: expr}
	rest := strings.TrimSpace(expr)
	if rest == "" {
		return t, errors.New("empty expression")
	}
	if after, ok := strings.CutPrefix(rest, "round"); ok {
		if after, ok = strings.CutPrefix(strings.TrimSpace(after), ":"); ok {
			t.Round, rest = true, after
		}
	}
	metric, op, value, err := splitExpr(rest)
	if err != nil {
		return t, err
	}
	name, def, err := lookupMetric(metric)
	if err != nil {
		return t, err
	}
	t.Metric, t.Op = name, op
	if op == "==" && def.kind != kindCount && def.kind != kindFraction {
		return t, fmt.Errorf("%s is measured, not counted, so == cannot hold reliably: use <, <=, > or >=", name)
	}
	t.Value, err = parseValue(def.kind, value)
	return t, err
}

// operators are matched in this order, the two-character ones first.
var operators = []string{"<=", ">=", "==", "<", ">"}

// splitExpr splits "METRIC OP VALUE", spaces optional around tokens.
// VALUE is one token: anything after it is an error.
func splitExpr(s string) (metric, op, value string, err error) {
	if metric, op, value, ok, err := splitCheckExpr(s); ok {
		return metric, op, value, err
	}
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.')
	})
	if end < 0 {
		end = len(s)
	}
	metric, s = s[:end], strings.TrimSpace(s[end:])
	if metric == "" {
		return "", "", "", fmt.Errorf("expected a metric such as p99 or error_rate, found %q", s)
	}
	for _, o := range operators {
		if rest, ok := strings.CutPrefix(s, o); ok {
			op, s = o, strings.TrimSpace(rest)
			break
		}
	}
	if op == "" {
		if s == "" {
			return "", "", "", fmt.Errorf("no operator after %q (use <, <=, >, >= or ==)", metric)
		}
		return "", "", "", fmt.Errorf("%q is not an operator (use <, <=, >, >= or ==)", strings.Fields(s)[0])
	}
	fields := strings.Fields(s)
	if len(fields) == 0 {
		return "", "", "", fmt.Errorf("no value after %q", op)
	}
	if len(fields) > 1 {
		return "", "", "", fmt.Errorf("unexpected %q after the value %q", strings.Join(fields[1:], " "), fields[0])
	}
	return metric, op, fields[0], nil
}

// parseValue parses a threshold's VALUE for a metric of kind k.
func parseValue(k metricKind, s string) (float64, error) {
	switch k {
	case kindLatency:
		if strings.Trim(s, "0123456789.+-") == "" {
			return 0, fmt.Errorf("%q needs a unit, such as %sms", s, s)
		}
		d, err := time.ParseDuration(s)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration such as 250ms", s)
		}
		if d < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		return durationMS(d), nil
	case kindFraction:
		v, pct, err := parseNumber(s, true)
		if err != nil || !(v >= 0 && v <= 1) {
			hint := ""
			if err == nil && !pct && v > 1 && v <= 100 {
				hint = fmt.Sprintf(" (write %s%% for a percentage)", s)
			}
			return 0, fmt.Errorf("%q is not a fraction between 0 and 1 such as 0.01 or 1%%%s", s, hint)
		}
		return v, nil
	case kindCount:
		v, _, err := parseNumber(s, false)
		if err == nil && v < 0 {
			return 0, fmt.Errorf("%q is negative: a count is 0 or more", s)
		}
		if err != nil || v != math.Trunc(v) {
			return 0, fmt.Errorf("%q is not a count of requests: a whole number, 0 or more", s)
		}
		return v, nil
	default:
		v, _, err := parseNumber(strings.TrimSuffix(s, "rps"), k == kindRatio)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("%q is not a number, 0 or more", s)
		}
		return v, nil
	}
}

// parseNumber parses a finite number, or when pctOK a percentage such as
// "5%" (0.05); pct reports a percentage.
func parseNumber(s string, pctOK bool) (v float64, pct bool, err error) {
	num, pct := strings.CutSuffix(s, "%")
	if pct && !pctOK {
		return 0, false, fmt.Errorf("%q: no percentage here", s)
	}
	v, err = strconv.ParseFloat(num, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, pct, fmt.Errorf("%q is not a number", s)
	}
	if pct {
		v /= 100
	}
	return v, pct, nil
}

// judge measures t's metric in s and reports whether it meets t. A
// metric unknown because t was not made by ParseThreshold fails, as 0; a
// check metric whose checks judged nothing in s fails as 0, with
// unmeasured saying why.
func (t *Threshold) judge(s *Stats) (v float64, pass bool, unmeasured string) {
	def, ok := metricOf(t.Metric)
	if !ok {
		return 0, false, ""
	}
	if why := notRun(t.Metric, s); why != "" {
		return 0, false, why
	}
	v = def.get(s)
	return v, t.holds(v), ""
}

// holds reports whether the measured value v meets the threshold.
func (t *Threshold) holds(v float64) bool { return compare(v, t.Op, t.Value) }

// compare reports whether "v op limit" is true.
func compare(v float64, op string, limit float64) bool {
	switch op {
	case "<":
		return v < limit
	case "<=":
		return v <= limit
	case ">":
		return v > limit
	case ">=":
		return v >= limit
	case "==":
		return v == limit
	}
	return false
}

// worse reports whether the passing value v is closer to failing than w.
func (t *Threshold) worse(v, w float64) bool {
	switch t.Op {
	case "<", "<=":
		return v > w
	case ">", ">=":
		return v < w
	}
	return false
}

// Judge judges a run as it goes: Round for every finished round in order,
// then Summary once. It is not safe for concurrent use.
type Judge struct {
	ts []Threshold
	// rounds holds, parallel to ts, the verdict so far of round: ones.
	rounds []roundVerdict
}

// roundVerdict is a round: threshold's verdict over the rounds so far.
type roundVerdict struct {
	judged bool
	failed bool
	round  int64   // the first failing round
	value  float64 // its value, or the worst passing value
}

// NewJudge returns a judge of the thresholds ts.
func NewJudge(ts []Threshold) *Judge {
	return &Judge{ts: ts, rounds: make([]roundVerdict, len(ts))}
}

// Round judges the round: thresholds on r; it returns the results of the
// ones that failed in this round (nil if none).
func (j *Judge) Round(r *Round) []ThresholdResult {
	var failed []ThresholdResult
	for i := range j.ts {
		t, st := &j.ts[i], &j.rounds[i]
		if !t.Round {
			continue
		}
		v, pass, unmeasured := t.judge(&r.Stats)
		if unmeasured != "" {
			continue // a round without the check's verdicts is not judged
		}
		if !pass {
			idx := r.Round
			failed = append(failed, ThresholdResult{Expression: t.Expr, Value: v, Round: &idx})
		}
		switch {
		case st.failed: // the first failure stands
		case !pass:
			st.failed, st.round, st.value = true, r.Round, v
		case !st.judged || t.worse(v, st.value):
			st.value = v
		}
		st.judged = true
	}
	return failed
}

// Summary fills s.Thresholds (one entry per threshold, in the order
// given), s.Passed and s.Reason. Whole-run thresholds are judged on
// s.Stats; a round: threshold passes when every round passed (vacuously
// when there was none): its Value is the first failing round's value,
// with Round set to that round's index, or the worst value over all
// rounds when all passed. With no thresholds at all, a run in which not
// one request succeeded, including one that planned none, fails, with
// Reason saying so. With thresholds, Reason lists the failing ones.
func (j *Judge) Summary(s *Summary) {
	s.Thresholds = nil
	var failures []string
	for i := range j.ts {
		t := &j.ts[i]
		res := ThresholdResult{Expression: t.Expr}
		if st := j.rounds[i]; t.Round {
			res.Passed, res.Value = !st.failed, st.value
			if st.failed {
				res.Round = &st.round
			}
			if !st.judged {
				// A check metric is judged only in the rounds its
				// checks ran in: in none, it never ran.
				if why := notRun(t.Metric, &Stats{}); why != "" {
					res.Passed, res.Reason = false, why
				}
			}
		} else {
			res.Value, res.Passed, res.Reason = t.judge(&s.Stats)
		}
		s.Thresholds = append(s.Thresholds, res)
		if !res.Passed {
			failures = append(failures, describeFailure(t, &res))
		}
	}
	switch {
	case len(j.ts) == 0:
		s.Passed, s.Reason = true, ""
		if s.Outcomes["success"] == 0 {
			s.Passed, s.Reason = false, noneSucceeded(&s.Stats)
		}
	case len(failures) > 0:
		s.Passed = false
		s.Reason = fmt.Sprintf("%d of %d thresholds failed: %s", len(failures), len(j.ts), strings.Join(failures, "; "))
	default:
		s.Passed, s.Reason = true, ""
	}
}

// describeFailure says what a failed threshold measured.
func describeFailure(t *Threshold, res *ThresholdResult) string {
	if res.Reason != "" {
		return fmt.Sprintf("%s (%s)", t.Expr, res.Reason)
	}
	where := ""
	if res.Round != nil {
		where = fmt.Sprintf(" in round %d", *res.Round)
	}
	return fmt.Sprintf("%s (measured %s%s)", t.Expr, FormatMetric(t.Metric, res.Value), where)
}

// noneSucceeded is the reason a run without a successful request fails,
// e.g. "no request succeeded (30 planned: 30 connection_error)".
func noneSucceeded(s *Stats) string {
	var parts []string
	for _, o := range tally.Outcomes() {
		if n := s.Outcomes[o.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("no request succeeded (%d planned)", s.Planned)
	}
	return fmt.Sprintf("no request succeeded (%d planned: %s)", s.Planned, strings.Join(parts, ", "))
}
