package results

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// roundSpec describes a synthetic one-second round: every request has
// the given name and latency; failed ones are 500s.
type roundSpec struct {
	success, failed int64
	latency         time.Duration
	name            string
	// checkFailed requests failed a response check; checks holds each
	// check's passed and failed verdicts.
	checkFailed int64
	checks      map[string][2]int64
}

// synthRound builds round idx of a run starting at base.
func synthRound(base time.Time, idx int64, sp roundSpec) *manager.RoundResult {
	n := sp.success + sp.failed + sp.checkFailed
	r := &manager.RoundResult{
		RoundStats: types.RoundStats{Round: idx, PlannedRPS: int(n), AchievedRPS: float64(n)},
		Start:      base.Add(time.Duration(idx) * time.Second), Interval: time.Second, Executors: 1,
		Counts:  tally.Counts{Planned: n, Sent: n, Success: sp.success, ServerErrors: sp.failed, CheckFailed: sp.checkFailed},
		Latency: tally.NewHistogram(), Service: tally.NewHistogram(),
	}
	for name, pf := range sp.checks {
		c := r.Check(name)
		c.Passed, c.Failed = pf[0], pf[1]
	}
	nr := r.Name(sp.name)
	nr.Counts = r.Counts
	for i := int64(0); i < n; i++ {
		_ = r.Latency.RecordValue(sp.latency.Microseconds())
		_ = r.Service.RecordValue(sp.latency.Microseconds() / 2)
		_ = nr.Latency.RecordValue(sp.latency.Microseconds())
	}
	r.AddStatus(200, sp.success)
	r.AddStatus(500, sp.failed)
	r.AddError("HTTP 500", sp.failed)
	return r
}

// writeRun writes a results file of rounds, with a summary line unless
// killed, and returns its path.
func writeRun(t *testing.T, name string, killed bool, specs ...roundSpec) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.Write(&Run{Type: TypeRun, SchemaVersion: SchemaVersion, Command: "imager run", Start: base, Target: "http://x"}))
	var sum manager.Summary
	for i, sp := range specs {
		r := synthRound(base, int64(i), sp)
		r.Summarize()
		line, err := FromRound(r)
		must(err)
		must(w.Write(line))
		sum.Add(r)
		sum.Elapsed += r.Interval
	}
	if !killed {
		line, err := FromSummary(&sum)
		must(err)
		NewJudge(nil).Summary(line)
		must(w.Write(line))
	}
	must(w.Close())
	return path
}

// compareFiles reads and compares two files.
func compareFiles(t *testing.T, a, b string) *Comparison {
	t.Helper()
	fa, err := ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	fb, err := ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Compare(fa, fb)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// row finds a metric's row.
func row(t *testing.T, rows []Row, metric string) Row {
	t.Helper()
	for _, r := range rows {
		if r.Metric == metric {
			return r
		}
	}
	t.Fatalf("no row %q", metric)
	return Row{}
}

func TestRelativeChange(t *testing.T) {
	for _, c := range []struct {
		a, b float64
		want string
	}{
		{100, 112.3, "+12.3%"}, {100, 96, "-4.0%"}, {0, 5, "+inf%"}, {0, 0, "0.0%"},
		{7, 7, "0.0%"}, {4, 0, "-100.0%"}, {0.01, 0.03, "+200.0%"},
	} {
		if got := FormatChange(RelativeChange(c.a, c.b)); got != c.want {
			t.Errorf("change %v -> %v = %s, want %s", c.a, c.b, got, c.want)
		}
	}
	if !math.IsInf(RelativeChange(0, 1), 1) {
		t.Error("an increase from 0 is not +Inf")
	}
}

func TestCompare(t *testing.T) {
	a := writeRun(t, "a.jsonl", false,
		roundSpec{success: 99, failed: 1, latency: time.Millisecond, name: "get"},
		roundSpec{success: 100, latency: time.Millisecond, name: "get"})
	b := writeRun(t, "b.jsonl", false,
		roundSpec{success: 97, failed: 3, latency: 1200 * time.Microsecond, name: "get"},
		roundSpec{success: 60, latency: 1200 * time.Microsecond, name: "post"})
	c := compareFiles(t, a, b)
	if c.A.Rebuilt || c.B.Rebuilt || c.A.Path != a || c.B.Run.Target != "http://x" {
		t.Errorf("sides %+v %+v", c.A, c.B)
	}
	checks := []struct {
		metric string
		a, b   float64
		change string
	}{
		{"planned_rps", 100, 80, "-20.0%"}, {"achieved_rps", 100, 80, "-20.0%"},
		{"planned", 200, 160, "-20.0%"}, {"success", 199, 157, "-21.1%"},
		{"server_error", 1, 3, "+200.0%"}, {"timeout", 0, 0, "0.0%"},
		{"error_rate", 0.005, 3.0 / 160, "+275.0%"},
		{"p50", 1, 1.2, "+20.0%"}, {"max", 1, 1.2, "+20.0%"},
		{"service_p99", 0.5, 0.6, "+20.0%"},
	}
	for _, ch := range checks {
		r := row(t, c.Rows, ch.metric)
		if r.A != ch.a || r.B != ch.b || FormatChange(r.Change) != ch.change {
			t.Errorf("%s: A %v B %v change %s; want %v %v %s", ch.metric, r.A, r.B, FormatChange(r.Change), ch.a, ch.b, ch.change)
		}
	}
	if len(c.Rows) != 21 || c.Rows[0].Section != "rate" || c.Rows[len(c.Rows)-1].Section != "service time" {
		t.Errorf("%d rows, first %+v, last %+v", len(c.Rows), c.Rows[0], c.Rows[len(c.Rows)-1])
	}
	if len(c.Names) != 2 || c.Names[0].Name != "get" || !c.Names[0].InA || !c.Names[0].InB ||
		c.Names[1].Name != "post" || c.Names[1].InA || !c.Names[1].InB {
		t.Fatalf("names %+v", c.Names)
	}
	if r := row(t, c.Names[1].Rows, "planned"); r.A != 0 || r.B != 60 || FormatChange(r.Change) != "+inf%" {
		t.Errorf("post planned %+v", r)
	}
	if r := row(t, c.Names[0].Rows, "p99"); r.A != 1 || r.B != 1.2 {
		t.Errorf("get p99 %+v", r)
	}
}

func TestParseFailIf(t *testing.T) {
	for _, c := range []struct {
		expr     string
		want     FailIf
		relative bool
	}{
		{"p99>+10%", FailIf{Metric: "p99", Op: ">", Limit: 0.1, Relative: true}, true},
		{"achieved_rps < -5%", FailIf{Metric: "achieved_rps", Op: "<", Limit: -0.05, Relative: true}, true},
		{"error_rate>+0.05", FailIf{Metric: "error_rate", Op: ">", Limit: 0.05}, false},
		{"p50 >= +20ms", FailIf{Metric: "p50", Op: ">=", Limit: 20}, false},
		{"dropped > 10", FailIf{Metric: "dropped", Op: ">", Limit: 10}, false},
	} {
		c.want.Expr = c.expr
		got, err := ParseFailIf(c.expr)
		if err != nil || got != c.want {
			t.Errorf("ParseFailIf(%q) = %+v, %v; want %+v", c.expr, got, err, c.want)
		}
	}
	for _, c := range []struct{ expr, want string }{
		{"", "empty expression"}, {"p98>+10%", `unknown metric "p98"`}, {"p99", "no operator"},
		{"p99 == +10%", "use >, >=, < or <="}, {"p99 > +10", "needs a unit"},
		{"p99 > fast", "not a change"}, {"error_rate > lots", "not a change"},
		{"p99 > x%", "not a change"}, {"p99 > +10% now", "unexpected"},
	} {
		_, err := ParseFailIf(c.expr)
		if err == nil || !strings.HasPrefix(err.Error(), "fail-if "+quote(c.expr)) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseFailIf(%q) error = %v, want %q", c.expr, err, c.want)
		}
	}
	if _, err := ParseFailIfs([]string{"p99>+1%", "x>1", "p99>y"}); err == nil ||
		!strings.Contains(err.Error(), `"x>1"`) || !strings.Contains(err.Error(), `"p99>y"`) {
		t.Errorf("ParseFailIfs error = %v", err)
	}
}

// quote quotes like %q.
func quote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"` }

func TestCheck(t *testing.T) {
	a := writeRun(t, "a.jsonl", false, roundSpec{success: 100, latency: time.Millisecond, name: "x"})
	b := writeRun(t, "b.jsonl", false, roundSpec{success: 93, failed: 7, latency: 1200 * time.Microsecond, name: "x"})
	c := compareFiles(t, a, b)
	for _, tc := range []struct {
		expr, change string
		failed       bool
	}{
		{"p99>+10%", "+20.0%", true},
		{"p99>+25%", "+20.0%", false},
		{"p99>=+20%", "+20.0%", true},
		{"p99 > +0.1ms", "+0.2ms", true},
		{"p99 > +300us", "+0.2ms", false},
		{"error_rate>+0.05", "+0.07", true},
		{"error_rate>+0.1", "+0.07", false},
		{"error_rate > +50%", "+inf%", true}, // from 0 to 0.07
		{"server_error > +0", "+7", true},
		{"achieved_rps<-5%", "0.0%", false},
		{"success < -5%", "-7.0%", true},
		{"timeout > +0%", "0.0%", false},
	} {
		f, err := ParseFailIf(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		res := c.Check([]FailIf{f})[0]
		if res.Failed != tc.failed || res.ChangeText() != tc.change {
			t.Errorf("%q: failed %v change %s (A %v B %v); want %v %s", tc.expr, res.Failed, res.ChangeText(), res.A, res.B, tc.failed, tc.change)
		}
	}
}

func TestCompareKilledRun(t *testing.T) {
	specs := []roundSpec{
		{success: 50, failed: 5, latency: time.Millisecond, name: "a"},
		{success: 80, latency: 2 * time.Millisecond, name: "b"},
		{success: 10, failed: 10, latency: 1500 * time.Microsecond, name: "a"},
	}
	whole := writeRun(t, "whole.jsonl", false, specs...)
	killed := writeRun(t, "killed.jsonl", true, specs...)
	c := compareFiles(t, whole, killed)
	if c.A.Rebuilt || !c.B.Rebuilt || c.B.Summary.Rounds != 3 || !strings.Contains(c.B.Summary.Reason, "rebuilt from 3 rounds") {
		t.Fatalf("rebuilt %v %v, summary %+v", c.A.Rebuilt, c.B.Rebuilt, c.B.Summary)
	}
	for _, r := range c.Rows {
		if r.A != r.B {
			t.Errorf("%s: whole run %v, rebuilt %v", r.Metric, r.A, r.B)
		}
	}
	for _, n := range c.Names {
		for _, r := range n.Rows {
			if r.A != r.B {
				t.Errorf("name %s %s: whole run %v, rebuilt %v", n.Name, r.Metric, r.A, r.B)
			}
		}
	}
	s := c.B.Summary
	if s.AchievedRPS != 155.0/3 || s.ElapsedSeconds != 3 || s.StatusCodes["500"] != 15 || s.Errors[0].Count != 15 || s.Passed {
		t.Errorf("rebuilt summary %+v", s)
	}
	if q := s.ServiceTime; q.P50 != 1 || q.Max != 1 {
		t.Errorf("service time %+v, want the highest round's, 1ms", q)
	}
	empty, err := MergeRounds(nil)
	if err != nil || empty.Planned != 0 || empty.AchievedRPS != 0 || len(empty.Outcomes) != len(tally.Outcomes()) {
		t.Errorf("MergeRounds(nil) = %+v, %v", empty, err)
	}
}
