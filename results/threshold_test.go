package results

import (
	"fmt"
	"strings"
	"testing"
)

// testStats returns stats with the given outcome counts; planned is their
// sum.
func testStats(outcomes map[string]int64) Stats {
	st := Stats{Counts: Counts{Outcomes: map[string]int64{}}}
	for _, name := range []string{"success", "client_error", "server_error", "timeout", "connection_error", "dropped", "lost"} {
		st.Outcomes[name] = outcomes[name]
		st.Planned += outcomes[name]
	}
	st.Sent = st.Planned - st.Outcomes["dropped"]
	st.ErrorRate = st.fraction(st.Planned - st.Outcomes["success"])
	return st
}

func TestParseThresholdForms(t *testing.T) {
	cases := []struct {
		expr   string
		round  bool
		metric string
		op     string
		value  float64
	}{
		{"p99<250ms", false, "p99", "<", 250},
		{"p99 < 250ms", false, "p99", "<", 250},
		{"  p50<=  2s ", false, "p50", "<=", 2000},
		{"p90 > 1us", false, "p90", ">", 0.001},
		{"p95>=1µs", false, "p95", ">=", 0.001},
		{"p99.9 < 1.5s", false, "p99.9", "<", 1500},
		{"p999 < 10ms", false, "p99.9", "<", 10},
		{"max<1m", false, "max", "<", 60000},
		{"service_p99 < 20ms", false, "service_p99", "<", 20},
		{"round: error_rate <= 0.01", true, "error_rate", "<=", 0.01},
		{"round:error_rate<1%", true, "error_rate", "<", 0.01},
		{"round :p99<1s", true, "p99", "<", 1000},
		{"error_rate == 0", false, "error_rate", "==", 0},
		{"timeout_rate <= 0.5", false, "timeout_rate", "<=", 0.5},
		{"success_rate >= 99.5%", false, "success_rate", ">=", 0.995},
		{"dropped == 0", false, "dropped", "==", 0},
		{"dropped <= 10", false, "dropped", "<=", 10},
		{"lost==0", false, "lost", "==", 0},
		{"connection_error < 3", false, "connection_error", "<", 3},
		{"planned >= 1", false, "planned", ">=", 1},
		{"sent > 100", false, "sent", ">", 100},
		{"achieved_ratio >= 0.95", false, "achieved_ratio", ">=", 0.95},
		{"achieved_ratio >= 95%", false, "achieved_ratio", ">=", 0.95},
		{"achieved_rps >= 100", false, "achieved_rps", ">=", 100},
		{"achieved_rps >= 100rps", false, "achieved_rps", ">=", 100},
		{"P99 < 1s", false, "p99", "<", 1000},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Errorf("ParseThreshold(%q): %v", c.expr, err)
			continue
		}
		want := Threshold{Expr: c.expr, Round: c.round, Metric: c.metric, Op: c.op, Value: c.value}
		if th != want {
			t.Errorf("ParseThreshold(%q) = %+v, want %+v", c.expr, th, want)
		}
	}
}

func TestParseThresholdErrors(t *testing.T) {
	cases := []struct{ expr, want string }{
		{"", "empty expression"},
		{"   ", "empty expression"},
		{"round:", "expected a metric"},
		{"< 5ms", "expected a metric"},
		{"p98 < 5ms", `unknown metric "p98"`},
		{"p99", `no operator after "p99"`},
		{"p99 = 5ms", `"=" is not an operator`},
		{"p99 != 5ms", `"!=" is not an operator`},
		{"p99 <", `no value after "<"`},
		{"p99 < fast", `"fast" is not a duration such as 250ms`},
		{"p99 < 250", `"250" needs a unit, such as 250ms`},
		{"p99 < -5ms", `"-5ms" is negative`},
		{"p99 < 250ms please", `unexpected "please" after the value "250ms"`},
		{"p99 == 250ms", "== cannot hold"},
		{"achieved_rps == 5", "== cannot hold"},
		{"error_rate < 5", `"5" is not a fraction between 0 and 1 such as 0.01 or 1% (write 5% for a percentage)`},
		{"error_rate < -0.1", "not a fraction between 0 and 1"},
		{"error_rate < 150%", "not a fraction between 0 and 1"},
		{"error_rate < NaN", "not a fraction"},
		{"error_rate < lots", "not a fraction"},
		{"dropped <= -1", `"-1" is negative`},
		{"dropped <= 2.5", "not a count of requests"},
		{"dropped <= 5%", "not a count of requests"},
		{"achieved_ratio >= -1", "not a number, 0 or more"},
		{"achieved_rps >= Inf", "not a number"},
		{"round: p99 < 1ms junk", "unexpected"},
	}
	for _, c := range cases {
		_, err := ParseThreshold(c.expr)
		if err == nil {
			t.Errorf("ParseThreshold(%q): no error, want %q", c.expr, c.want)
			continue
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, fmt.Sprintf("threshold %q: ", c.expr)) || !strings.Contains(msg, c.want) {
			t.Errorf("ParseThreshold(%q) error = %q, want it to quote the expression and say %q", c.expr, msg, c.want)
		}
	}
	_, err := ParseThreshold("p99 < fast")
	if want := `threshold "p99 < fast": "fast" is not a duration such as 250ms`; err == nil || err.Error() != want {
		t.Errorf("error = %v, want %q", err, want)
	}
}

func TestParseThresholds(t *testing.T) {
	ts, err := ParseThresholds([]string{"p99 < 1s", "round: dropped == 0"})
	if err != nil || len(ts) != 2 || ts[1].Metric != "dropped" || !ts[1].Round {
		t.Fatalf("ParseThresholds = %+v, %v", ts, err)
	}
	ts, err = ParseThresholds([]string{"p99 < 1s", "p99 < fast", "bogus > 1"})
	if err == nil || ts != nil {
		t.Fatalf("ParseThresholds with bad expressions = %+v, %v; want nil and an error", ts, err)
	}
	for _, want := range []string{`"p99 < fast"`, `"bogus > 1"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	if strings.Contains(err.Error(), `"p99 < 1s"`) {
		t.Errorf("error %q names a good expression", err)
	}
}

func TestOperators(t *testing.T) {
	// Each operator against a value below, at and above the limit 0.5.
	want := map[string][3]bool{
		"<": {true, false, false}, "<=": {true, true, false}, ">": {false, false, true},
		">=": {false, true, true}, "==": {false, true, false},
	}
	for op, w := range want {
		th, err := ParseThreshold("error_rate " + op + " 0.5")
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range []float64{0.25, 0.5, 0.75} {
			if got := th.holds(v); got != w[i] {
				t.Errorf("%q holds(%v) = %v, want %v", th.Expr, v, got, w[i])
			}
		}
	}
}

func TestMetric(t *testing.T) {
	st := testStats(map[string]int64{"success": 90, "timeout": 4, "dropped": 3, "server_error": 3})
	st.Latency = Quantiles{P50: 1, P90: 2, P95: 3, P99: 4, P999: 5, Max: 6}
	st.ServiceTime = Quantiles{P50: 0.5, P99: 3.5, Max: 5.5}
	st.PlannedRPS, st.AchievedRPS = 50, 40
	want := map[string]float64{
		"p50": 1, "p90": 2, "p95": 3, "p99": 4, "p99.9": 5, "p999": 5, "max": 6,
		"service_p50": 0.5, "service_p99": 3.5, "service_max": 5.5,
		"error_rate": 0.1, "success_rate": 0.9, "timeout_rate": 0.04,
		"achieved_ratio": 0.8, "achieved_rps": 40, "planned_rps": 50,
		"planned": 100, "sent": 97, "success": 90, "timeout": 4, "dropped": 3,
		"server_error": 3, "client_error": 0, "connection_error": 0, "lost": 0,
	}
	for name, w := range want {
		if got, err := st.Metric(name); err != nil || got != w {
			t.Errorf("Metric(%q) = %v, %v; want %v", name, got, err, w)
		}
	}
	if _, err := st.Metric("p98"); err == nil || !strings.Contains(err.Error(), `unknown metric "p98"`) {
		t.Errorf("Metric(p98) error = %v", err)
	}
	empty := testStats(nil)
	for name, w := range map[string]float64{"error_rate": 0, "success_rate": 0, "timeout_rate": 0, "achieved_ratio": 1, "p99": 0} {
		if got, _ := empty.Metric(name); got != w {
			t.Errorf("nothing planned: Metric(%q) = %v, want %v", name, got, w)
		}
	}
}

// TestExactComparison checks that a measured fraction equal to the
// written one compares equal, with no rounding surprise.
func TestExactComparison(t *testing.T) {
	for _, c := range []struct {
		expr    string
		success int64
		planned int64
		want    bool
	}{
		{"error_rate == 0", 1000, 1000, true},
		{"error_rate == 0", 999, 1000, false},
		{"error_rate <= 0.01", 99, 100, true},
		{"error_rate <= 0.01", 297, 300, true},
		{"error_rate < 0.01", 297, 300, false},
		{"error_rate <= 1%", 990, 1000, true},
		{"success_rate >= 0.7", 7, 10, true},
	} {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatal(err)
		}
		st := testStats(map[string]int64{"success": c.success, "timeout": c.planned - c.success})
		if v, pass, _ := th.judge(&st); pass != c.want {
			t.Errorf("%q with %d/%d succeeded: measured %v, pass %v, want %v", c.expr, c.success, c.planned, v, pass, c.want)
		}
	}
	th, _ := ParseThreshold("p99 <= 1us")
	st := testStats(map[string]int64{"success": 1})
	st.Latency.P99 = durationMS(1000) // 1µs as QuantilesOf computes it
	if _, pass, _ := th.judge(&st); !pass {
		t.Errorf("p99 of exactly 1µs fails %q", th.Expr)
	}
}

// testRound returns round idx with the given error rate out of 100
// planned requests and p99 latency.
func testRound(idx int64, failed int64, p99 float64) *Round {
	r := &Round{Type: TypeRound, Round: idx, Stats: testStats(map[string]int64{"success": 100 - failed, "server_error": failed})}
	r.Latency.P99 = p99
	return r
}

func TestJudgeRounds(t *testing.T) {
	ts, err := ParseThresholds([]string{"round: error_rate <= 0.05", "round: p99 < 100ms", "error_rate < 0.1", "round: dropped == 0"})
	if err != nil {
		t.Fatal(err)
	}
	j := NewJudge(ts)
	rounds := []*Round{testRound(0, 1, 20), testRound(1, 8, 90), testRound(2, 2, 50), testRound(3, 20, 95)}
	var perRound [][]ThresholdResult
	for _, r := range rounds {
		perRound = append(perRound, j.Round(r))
	}
	if perRound[0] != nil || perRound[2] != nil {
		t.Errorf("rounds 0 and 2 passed but Round returned %+v and %+v", perRound[0], perRound[2])
	}
	for _, i := range []int{1, 3} {
		got := perRound[i]
		if len(got) != 1 || got[0].Expression != "round: error_rate <= 0.05" || got[0].Passed ||
			got[0].Round == nil || *got[0].Round != int64(i) || got[0].Value != float64(rounds[i].Outcomes["server_error"])/100 {
			t.Errorf("round %d: Round returned %+v", i, got)
		}
	}

	s := &Summary{Type: TypeSummary, Stats: testStats(map[string]int64{"success": 369, "server_error": 31}), Passed: true}
	j.Summary(s)
	if len(s.Thresholds) != 4 {
		t.Fatalf("Thresholds = %+v, want 4", s.Thresholds)
	}
	first := s.Thresholds[0]
	if first.Passed || first.Round == nil || *first.Round != 1 || first.Value != 0.08 {
		t.Errorf("round error_rate = %+v, want failed in round 1 with 0.08", first)
	}
	if p := s.Thresholds[1]; !p.Passed || p.Round != nil || p.Value != 95 {
		t.Errorf("round p99 = %+v, want passed with the worst value 95", p)
	}
	if w := s.Thresholds[2]; !w.Passed || w.Value != 31.0/400 {
		t.Errorf("whole-run error_rate = %+v, want passed with 0.0775", w)
	}
	if d := s.Thresholds[3]; !d.Passed || d.Value != 0 {
		t.Errorf("round dropped = %+v, want passed with 0", d)
	}
	if s.Passed || s.Reason != "1 of 4 thresholds failed: round: error_rate <= 0.05 (measured 0.08 in round 1)" {
		t.Errorf("Passed %v, Reason %q", s.Passed, s.Reason)
	}
}

func TestJudgeWorstValueOfGreaterThan(t *testing.T) {
	th, err := ParseThreshold("round: success >= 50")
	if err != nil {
		t.Fatal(err)
	}
	j := NewJudge([]Threshold{th})
	for i, failed := range []int64{10, 40, 5} {
		if res := j.Round(testRound(int64(i), failed, 1)); res != nil {
			t.Fatalf("round %d failed: %+v", i, res)
		}
	}
	s := &Summary{Stats: testStats(map[string]int64{"success": 245})}
	j.Summary(s)
	if r := s.Thresholds[0]; !r.Passed || r.Value != 60 || !s.Passed || s.Reason != "" {
		t.Errorf("result %+v, passed %v, reason %q; want passed with the lowest success, 60", r, s.Passed, s.Reason)
	}
}

func TestJudgeAllFailed(t *testing.T) {
	allFailed := func() *Summary {
		return &Summary{Stats: testStats(map[string]int64{"connection_error": 30}), Passed: true}
	}
	s := allFailed()
	NewJudge(nil).Summary(s)
	if s.Passed || s.Reason != "no request succeeded (30 planned: 30 connection_error)" || s.Thresholds != nil {
		t.Errorf("no thresholds: passed %v, reason %q, thresholds %+v", s.Passed, s.Reason, s.Thresholds)
	}

	mixed := &Summary{Stats: testStats(map[string]int64{"timeout": 2, "dropped": 1})}
	NewJudge(nil).Summary(mixed)
	if mixed.Reason != "no request succeeded (3 planned: 2 timeout, 1 dropped)" {
		t.Errorf("reason %q", mixed.Reason)
	}

	// With thresholds the verdict is theirs alone: a latency threshold
	// passes on 0 latency, error_rate catches the failure.
	ts, err := ParseThresholds([]string{"p99 < 250ms", "error_rate <= 0.01"})
	if err != nil {
		t.Fatal(err)
	}
	s = allFailed()
	NewJudge(ts).Summary(s)
	if !s.Thresholds[0].Passed || s.Thresholds[0].Value != 0 || s.Thresholds[1].Passed || s.Thresholds[1].Value != 1 {
		t.Errorf("thresholds %+v", s.Thresholds)
	}
	if s.Passed || s.Reason != "1 of 2 thresholds failed: error_rate <= 0.01 (measured 1)" {
		t.Errorf("passed %v, reason %q", s.Passed, s.Reason)
	}

	ok := &Summary{Stats: testStats(map[string]int64{"success": 1, "timeout": 99})}
	NewJudge(nil).Summary(ok)
	if !ok.Passed || ok.Reason != "" {
		t.Errorf("one success, no thresholds: passed %v, reason %q", ok.Passed, ok.Reason)
	}
}

func TestJudgeNothingPlanned(t *testing.T) {
	s := &Summary{Stats: testStats(nil), Passed: true}
	NewJudge(nil).Summary(s)
	if s.Passed || s.Reason != "no request succeeded (0 planned)" {
		t.Errorf("no thresholds: passed %v, reason %q", s.Passed, s.Reason)
	}
	ts, err := ParseThresholds([]string{"error_rate <= 0.01", "round: p99 < 1ms", "planned >= 1"})
	if err != nil {
		t.Fatal(err)
	}
	s = &Summary{Stats: testStats(nil)}
	NewJudge(ts).Summary(s) // no rounds at all: round thresholds pass vacuously
	got := fmt.Sprint(s.Thresholds[0].Passed, s.Thresholds[1].Passed, s.Thresholds[2].Passed)
	if got != "true true false" || s.Passed || !strings.Contains(s.Reason, "planned >= 1 (measured 0)") {
		t.Errorf("passed %s, summary passed %v, reason %q", got, s.Passed, s.Reason)
	}
}
