package results

import (
	"fmt"
	"sort"
	"strings"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Response checks in results: the per-check counts of a round or run, and
// the metrics thresholds and comparisons name them by.
//
//   - "checks" is the overall pass rate: the verdicts that passed over all
//     verdicts, summed across every check (a response judged by three
//     checks gives three verdicts).
//   - "check:NAME" is the pass rate of the check named NAME, exactly as
//     docs/CHECKS.md names it (case and punctuation included).
//
// Both are fractions. A threshold on either fails when the checks it
// names judged nothing: its ThresholdResult says "no response check ran"
// or "check NAME never ran" rather than a measured value.

// checksMetric is the overall pass rate metric; checkPrefix starts the
// metric of one check.
const (
	checksMetric = "checks"
	checkPrefix  = "check:"
)

// checksFrom lists the checks of m that judged something, sorted by name.
func checksFrom(m map[string]*tally.CheckCount) []CheckStats {
	var out []CheckStats
	for name, c := range m {
		if c == nil || c.Passed+c.Failed <= 0 {
			continue
		}
		out = append(out, newCheckStats(name, c.Passed, c.Failed))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// newCheckStats returns a check's counts with its pass rate.
func newCheckStats(name string, passed, failed int64) CheckStats {
	c := CheckStats{Name: name, Passed: passed, Failed: failed}
	if n := passed + failed; n > 0 {
		c.PassRate = float64(passed) / float64(n)
	}
	return c
}

// checksSum adds up the checks of round lines.
type checksSum map[string]*tally.CheckCount

// add adds the checks cs.
func (m checksSum) add(cs []CheckStats) {
	for _, c := range cs {
		sum := m[c.Name]
		if sum == nil {
			sum = &tally.CheckCount{}
			m[c.Name] = sum
		}
		sum.Passed += c.Passed
		sum.Failed += c.Failed
	}
}

// CheckTotals returns the verdicts of every check of s: how many passed
// and how many were given.
func (s *Stats) CheckTotals() (passed, judged int64) {
	for _, c := range s.Checks {
		passed += c.Passed
		judged += c.Passed + c.Failed
	}
	return passed, judged
}

// CheckPassRate is the overall pass rate of s's checks, the "checks"
// metric; ok is false when no check judged anything (the rate is then 0).
func (s *Stats) CheckPassRate() (rate float64, ok bool) {
	passed, judged := s.CheckTotals()
	if judged == 0 {
		return 0, false
	}
	return float64(passed) / float64(judged), true
}

// Check returns the counts of the check named name, and whether s has it.
func (s *Stats) Check(name string) (CheckStats, bool) {
	for _, c := range s.Checks {
		if c.Name == name {
			return c, true
		}
	}
	return CheckStats{}, false
}

// FailingChecks returns the checks of s ordered worst first: lowest pass
// rate, then most failures, then by name.
func (s *Stats) FailingChecks() []CheckStats {
	out := append([]CheckStats(nil), s.Checks...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.PassRate != b.PassRate {
			return a.PassRate < b.PassRate
		}
		if a.Failed != b.Failed {
			return a.Failed > b.Failed
		}
		return a.Name < b.Name
	})
	return out
}

// checksRate is the "checks" metric: 0 when no check ran.
func checksRate(s *Stats) float64 {
	v, _ := s.CheckPassRate()
	return v
}

// checkMetricDef returns the definition of "check:NAME", and ok false for
// any other metric. The check's name is kept as written.
func checkMetricDef(metric string) (name string, def metricDef, ok bool) {
	if len(metric) < len(checkPrefix) || !strings.EqualFold(metric[:len(checkPrefix)], checkPrefix) {
		return "", metricDef{}, false
	}
	check := metric[len(checkPrefix):]
	return checkPrefix + check, metricDef{kindFraction, func(s *Stats) float64 {
		c, _ := s.Check(check)
		return c.PassRate
	}}, true
}

// notRun says why the check metric could not be measured in s, or "" when
// it could (or is not a check metric).
func notRun(metric string, s *Stats) string {
	if metric == checksMetric {
		if _, ok := s.CheckPassRate(); !ok {
			return "no response check ran"
		}
		return ""
	}
	if check, ok := strings.CutPrefix(metric, checkPrefix); ok {
		if _, ok := s.Check(check); !ok {
			return fmt.Sprintf("check %q never ran", check)
		}
	}
	return ""
}

// splitCheckExpr splits "check:NAME OP VALUE", scanning from the right so
// that NAME may hold any character, operators and spaces included: VALUE
// is what follows the last '<', '>' or '='. ok is false when s does not
// start with "check:" (any case).
func splitCheckExpr(s string) (metric, op, value string, ok bool, err error) {
	s = strings.TrimSpace(s)
	if len(s) < len(checkPrefix) || !strings.EqualFold(s[:len(checkPrefix)], checkPrefix) {
		return "", "", "", false, nil
	}
	i := strings.LastIndexAny(s, "<>=")
	if i < 0 {
		return "", "", "", true, fmt.Errorf("no operator after %q (use <, <=, >, >= or ==)", s)
	}
	value, head := strings.TrimSpace(s[i+1:]), s[:i+1]
	for _, o := range operators {
		if rest, found := strings.CutSuffix(head, o); found {
			op, head = o, rest
			break
		}
	}
	name := strings.TrimSpace(head[len(checkPrefix):])
	switch {
	case op == "":
		return "", "", "", true, fmt.Errorf("%q is not an operator (use <, <=, >, >= or ==)", s[i:i+1])
	case name == "":
		return "", "", "", true, fmt.Errorf("%q names no check: write check:NAME, e.g. check:status", s)
	case value == "":
		return "", "", "", true, fmt.Errorf("no value after %q", op)
	case len(strings.Fields(value)) > 1:
		f := strings.Fields(value)
		return "", "", "", true, fmt.Errorf("unexpected %q after the value %q", strings.Join(f[1:], " "), f[0])
	}
	return checkPrefix + name, op, value, true, nil
}
