package results

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// checkedRounds are two rounds with response checks: 10% of round 0's
// bodies fail "search:body_contains", round 1 passes every check.
var checkedRounds = []roundSpec{
	{success: 90, checkFailed: 10, latency: time.Millisecond, name: "search",
		checks: map[string][2]int64{"search:status": {100, 0}, "search:body_contains": {90, 10}}},
	{success: 50, latency: time.Millisecond, name: "search",
		checks: map[string][2]int64{"search:status": {50, 0}, "search:body_contains": {50, 0}}},
}

func TestChecksInFileAndMerge(t *testing.T) {
	path := writeRun(t, "checks.ndjson", false, checkedRounds...)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want0 := []CheckStats{
		{Name: "search:body_contains", Passed: 90, Failed: 10, PassRate: 0.9},
		{Name: "search:status", Passed: 100, Failed: 0, PassRate: 1},
	}
	if got := f.Rounds[0].Checks; !reflect.DeepEqual(got, want0) {
		t.Errorf("round 0 checks %+v, want %+v", got, want0)
	}
	if got := f.Rounds[0].Outcomes["check_failed"]; got != 10 {
		t.Errorf("round 0 check_failed %d, want 10", got)
	}
	wantSum := []CheckStats{
		{Name: "search:body_contains", Passed: 140, Failed: 10, PassRate: 140.0 / 150},
		{Name: "search:status", Passed: 150, Failed: 0, PassRate: 1},
	}
	if got := f.Summary.Checks; !reflect.DeepEqual(got, wantSum) {
		t.Errorf("summary checks %+v, want %+v", got, wantSum)
	}
	merged, err := MergeRounds(f.Rounds)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(merged.Checks, wantSum) {
		t.Errorf("merged checks %+v, want the summary's %+v", merged.Checks, wantSum)
	}
	if merged.Outcomes["check_failed"] != 10 {
		t.Errorf("merged check_failed %d, want 10", merged.Outcomes["check_failed"])
	}
}

func TestNoChecksOmitted(t *testing.T) {
	path := writeRun(t, "plain.ndjson", false, roundSpec{success: 5, latency: time.Millisecond})
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(f.Summary)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), `"checks"`) {
		t.Errorf("a run without checks writes a checks field: %s", b)
	}
	if f.Summary.Checks != nil || f.Rounds[0].Checks != nil {
		t.Errorf("checks %v %v read from a file without any", f.Summary.Checks, f.Rounds[0].Checks)
	}
}

// checkStats returns stats whose checks are given as name → passed, failed.
func checkStats(checks map[string][2]int64) Stats {
	st := testStats(map[string]int64{"success": 1})
	for name, pf := range checks {
		st.Checks = append(st.Checks, newCheckStats(name, pf[0], pf[1]))
	}
	return st
}

func TestCheckThresholds(t *testing.T) {
	st := checkStats(map[string][2]int64{"search:status": {1000, 0}, "search:json:[\"a b\"]": {990, 10}})
	cases := []struct {
		expr   string
		pass   bool
		value  float64
		reason string
	}{
		{"checks >= 0.99", true, 1990.0 / 2000, ""},
		{"checks>=99.9%", false, 1990.0 / 2000, ""},
		{"check:search:status >= 0.999", true, 1, ""},
		{`check:search:json:["a b"] >= 0.999`, false, 0.99, ""},
		{`check:search:json:["a b"]>=99%`, true, 0.99, ""},
		{"check:search:Status >= 0.5", false, 0, `check "search:Status" never ran`},
		{"check:nope < 1", false, 0, `check "nope" never ran`},
	}
	for _, c := range cases {
		th, err := ParseThreshold(c.expr)
		if err != nil {
			t.Fatalf("%q: %v", c.expr, err)
		}
		v, pass, reason := th.judge(&st)
		if pass != c.pass || v != c.value || reason != c.reason {
			t.Errorf("%q: measured %v pass %v reason %q; want %v %v %q", c.expr, v, pass, reason, c.value, c.pass, c.reason)
		}
	}
	none := testStats(map[string]int64{"success": 1})
	th, _ := ParseThreshold("checks >= 0")
	if _, pass, reason := th.judge(&none); pass || reason != "no response check ran" {
		t.Errorf("checks with no check run: pass %v, reason %q", pass, reason)
	}
}

func TestParseCheckThresholdErrors(t *testing.T) {
	for expr, want := range map[string]string{
		"check: >= 0.9":       "names no check",
		"check:x 0.9":         "no operator",
		"check:x >= 2":        "not a fraction",
		"check:x >=":          "no value",
		"check:x >= 0.9 more": "unexpected",
		"check:x = 0.9":       "is not an operator",
		"checkz >= 0.9":       "unknown metric",
	} {
		_, err := ParseThreshold(expr)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want one containing %q", expr, err, want)
		}
	}
}

func TestJudgeCheckThresholds(t *testing.T) {
	j := NewJudge(mustParse(t, "checks >= 0.99", "check:search:body_contains >= 0.95", "check:gone >= 0.9",
		"round: check:search:body_contains >= 0.95", "round: check:gone >= 0.9"))
	path := writeRun(t, "checks.ndjson", false, checkedRounds...)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range f.Rounds {
		j.Round(r)
	}
	j.Summary(f.Summary)
	got := map[string]ThresholdResult{}
	for _, r := range f.Summary.Thresholds {
		got[r.Expression] = r
	}
	if r := got["checks >= 0.99"]; r.Passed || r.Value != 290.0/300 {
		t.Errorf("checks >= 0.99: %+v, want a failure at 290/300", r)
	}
	if r := got["check:search:body_contains >= 0.95"]; r.Passed || r.Value != 140.0/150 {
		t.Errorf("whole-run check: %+v, want a failure at 140/150", r)
	}
	if r := got["round: check:search:body_contains >= 0.95"]; r.Passed || r.Round == nil || *r.Round != 0 || r.Value != 0.9 {
		t.Errorf("round check: %+v, want a failure in round 0 at 0.9", r)
	}
	for _, e := range []string{"check:gone >= 0.9", "round: check:gone >= 0.9"} {
		if r := got[e]; r.Passed || r.Reason != `check "gone" never ran` {
			t.Errorf("%s: %+v, want a failure because it never ran", e, r)
		}
	}
	text := summaryText(f.Summary)
	for _, want := range []string{
		`FAIL  check:gone >= 0.9  (check "gone" never ran)`,
		`check:gone >= 0.9 (check "gone" never ran)`,
		"checks         96.67% passed (290 of 300 verdicts, 2 checks)",
		"search:body_contains    93.33% passed  10 failed of 150",
		"check_failed 10",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks %q:\n%s", want, text)
		}
	}
	if i, k := strings.Index(text, "search:body_contains "), strings.Index(text, "search:status "); i < 0 || k < i {
		t.Errorf("the failing check is not listed first:\n%s", text)
	}
}

func TestPrintRoundShowsCheckFailures(t *testing.T) {
	path := writeRun(t, "checks.ndjson", true, checkedRounds...)
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	PrintRound(&b, f.Rounds[0])
	PrintRound(&b, f.Rounds[1])
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[0], "check_failed   10") ||
		!strings.Contains(lines[1], "check search:body_contains passed 90.00% (10 failed)") ||
		strings.Contains(lines[2], "check") {
		t.Errorf("round lines:\n%s", b.String())
	}
}

func TestSummaryListsAtMostTenChecks(t *testing.T) {
	m := map[string][2]int64{}
	for i := range 13 {
		m[string(rune('a'+i))] = [2]int64{100 - int64(i), int64(i)}
	}
	st := checkStats(m)
	var b strings.Builder
	printChecks(&b, &st)
	out := b.String()
	if !strings.Contains(out, "… and 3 more") || !strings.Contains(out, " m ") || strings.Contains(out, " a ") {
		t.Errorf("checks section:\n%s", out)
	}
	if strings.Index(out, " m ") > strings.Index(out, " l ") {
		t.Errorf("worst check not first:\n%s", out)
	}
}

func TestCompareChecks(t *testing.T) {
	a := writeRun(t, "a.ndjson", false, checkedRounds[1])
	b := writeRun(t, "b.ndjson", false, checkedRounds[0],
		roundSpec{success: 5, latency: time.Millisecond, checks: map[string][2]int64{"new": {4, 1}}})
	c := compareFiles(t, a, b)
	if r := row(t, c.Rows, "check_failed"); r.A != 0 || r.B != 10 || r.Section != "requests" {
		t.Errorf("check_failed row %+v", r)
	}
	want := []Row{
		{Section: "checks", Metric: "checks", A: 1, B: 194.0 / 205},
		{Section: "checks", Metric: "check:new", A: 0, B: 0.8, Unmeasured: "A"},
		{Section: "checks", Metric: "check:search:body_contains", A: 1, B: 0.9},
		{Section: "checks", Metric: "check:search:status", A: 1, B: 1},
	}
	var got []Row
	for _, r := range c.Rows {
		if r.Section == "checks" {
			r.Change = 0
			got = append(got, r)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("check rows\n%+v\nwant\n%+v", got, want)
	}
	fs, err := ParseFailIfs([]string{"check:search:body_contains < -5%", "checks < -0.01"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.Check(fs) {
		if !r.Failed {
			t.Errorf("%s: %+v, want a regression", r.FailIf.Expr, r)
		}
	}
	plain := writeRun(t, "p.ndjson", false, roundSpec{success: 1, latency: time.Millisecond})
	for _, r := range compareFiles(t, plain, plain).Rows {
		if r.Section == "checks" {
			t.Errorf("runs without checks compare checks: %+v", r)
		}
	}
}
