package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/results"
	"github.com/PeladoCollado/imager/types"
)

// compareRound is one synthetic second of a run: success and failed (500)
// requests named name, all with the given latency.
type compareRound struct {
	success, failed int64
	latency         time.Duration
	name            string
}

// writeCompareFile writes a results file of the given rounds, with a summary
// line unless killed, and returns its path.
func writeCompareFile(t *testing.T, name string, killed bool, rounds ...compareRound) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	w, err := results.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	must(w.Write(&results.Run{Type: results.TypeRun, SchemaVersion: results.SchemaVersion, Command: "imager run", Start: base, Target: "http://svc"}))
	var sum manager.Summary
	for i, tr := range rounds {
		n := tr.success + tr.failed
		r := &manager.RoundResult{
			RoundStats: types.RoundStats{Round: int64(i), PlannedRPS: int(n), AchievedRPS: float64(n)},
			Start:      base.Add(time.Duration(i) * time.Second), Interval: time.Second, Executors: 1,
			Counts:  tally.Counts{Planned: n, Sent: n, Success: tr.success, ServerErrors: tr.failed},
			Latency: tally.NewHistogram(), Service: tally.NewHistogram(),
		}
		nr := r.Name(tr.name)
		nr.Counts = r.Counts
		for j := int64(0); j < n; j++ {
			must(r.Latency.RecordValue(tr.latency.Microseconds()))
			must(r.Service.RecordValue(tr.latency.Microseconds() / 2))
			must(nr.Latency.RecordValue(tr.latency.Microseconds()))
		}
		r.AddStatus(200, tr.success)
		r.AddStatus(500, tr.failed)
		r.Summarize()
		line, err := results.FromRound(r)
		must(err)
		must(w.Write(line))
		sum.Add(r)
		sum.Elapsed += r.Interval
	}
	if !killed {
		line, err := results.FromSummary(&sum)
		must(err)
		results.NewJudge(nil).Summary(line)
		must(w.Write(line))
	}
	must(w.Close())
	return path
}

// runCompare runs `imager compare args...` through the dispatcher.
func runCompare(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(context.Background(), append([]string{"compare"}, args...), &out, &errb)
	return code, out.String(), errb.String()
}

// compareBaseline and compareCandidate: B is 20% slower and has 500s where A had none.
func compareBaseline(t *testing.T) string {
	return writeCompareFile(t, "a.jsonl", false,
		compareRound{success: 100, latency: time.Millisecond, name: "get"},
		compareRound{success: 100, latency: time.Millisecond, name: "get"})
}

func compareCandidate(t *testing.T) string {
	return writeCompareFile(t, "b.jsonl", false,
		compareRound{success: 95, failed: 5, latency: 1200 * time.Microsecond, name: "get"},
		compareRound{success: 100, latency: 1200 * time.Microsecond, name: "put"})
}

// compareLine returns the first line of out that starts (after spaces) with
// prefix.
func compareLine(t *testing.T, out, prefix string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), prefix) {
			return l
		}
	}
	t.Fatalf("no line %q in:\n%s", prefix, out)
	return ""
}

func TestCompareTable(t *testing.T) {
	a, b := compareBaseline(t), compareCandidate(t)
	code, out, errs := runCompare(a, b)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	for prefix, want := range map[string][]string{
		"achieved_rps ":  {"100.0", "100.0", "0.0%"},
		"server_error ":  {"0", "5", "+inf%"},
		"success ":       {"200", "195", "-2.5%"},
		"error_rate ":    {"0", "0.025", "+inf%"},
		"p99 ":           {"1ms", "1.2ms", "+20.0%"},
		"p99.9 ":         {"1ms", "1.2ms", "+20.0%"},
		"service_p50 ":   {"0.5ms", "0.6ms", "+20.0%"},
		"A (baseline)":   {a, "http://svc", "2 rounds"},
		"B (candidate)":  {b},
		`name "put"`:     {"(only in B)"},
		"connection_err": {"0", "0", "0.0%"},
	} {
		l := compareLine(t, out, prefix)
		for _, w := range want {
			if !strings.Contains(l, w) {
				t.Errorf("line %q lacks %q", l, w)
			}
		}
	}
	if !strings.Contains(out, `name "get"`+"\n") || strings.Contains(out, "note:") || strings.Contains(out, "fail-if") {
		t.Errorf("output:\n%s", out)
	}
}

func TestCompareFailIf(t *testing.T) {
	a, b := compareBaseline(t), compareCandidate(t)
	code, out, errs := runCompare("-fail-if", "p99>+10%", a, b, "-fail-if=achieved_rps<-5%", "-fail-if", "error_rate > +0.05")
	if code != exitThresholds {
		t.Fatalf("exit %d, want %d; stderr %q", code, exitThresholds, errs)
	}
	if !strings.Contains(errs, "regression: p99>+10% (measured +20.0%: 1ms -> 1.2ms)") || strings.Count(errs, "regression") != 1 {
		t.Errorf("stderr %q", errs)
	}
	for prefix, want := range map[string]string{"p99>+10%": "+20.0% FAIL", "achieved_rps<-5%": "0.0% PASS", "error_rate > +0.05": "+0.025 PASS"} {
		if l := compareLine(t, out, prefix); !strings.HasSuffix(strings.Join(strings.Fields(l), " "), want) {
			t.Errorf("line %q, want it to end %q", l, want)
		}
	}

	code, _, errs = runCompare("-fail-if", "server_error>+50%", a, b)
	if code != exitThresholds || !strings.Contains(errs, "server_error>+50% (measured +inf%: 0 -> 5)") {
		t.Errorf("increase from 0: exit %d, stderr %q", code, errs)
	}
	code, _, errs = runCompare("-fail-if", "error_rate>+0.02", a, b)
	if code != exitThresholds || !strings.Contains(errs, "(measured +0.025: 0 -> 0.025)") {
		t.Errorf("absolute points: exit %d, stderr %q", code, errs)
	}
	code, out, errs = runCompare("-fail-if", "p99>+25%", "-fail-if", "error_rate>+0.05", a, b)
	if code != exitOK || errs != "" || strings.Contains(out, "FAIL") {
		t.Errorf("no regression: exit %d, stderr %q, out:\n%s", code, errs, out)
	}
	code, _, _ = runCompare("-fail-if", "p99>+10%", a, a)
	if code != exitOK {
		t.Errorf("a run against itself: exit %d", code)
	}
}

func TestCompareUsage(t *testing.T) {
	a := compareBaseline(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{a}, "want two results files"},
		{[]string{}, "got 0"},
		{[]string{a, a, a}, "got 3"},
		{[]string{"-fail-if", "p99 > fast", a, a}, `fail-if "p99 > fast": "fast" is not a change`},
		{[]string{"-fail-if", "p98>+1%", "-fail-if", "p99==+1%", a, a}, `"p98>+1%"`},
		{[]string{"-bogus", a, a}, "flag provided but not defined: -bogus"},
	} {
		code, _, errs := runCompare(c.args...)
		if code != exitUsage || !strings.Contains(errs, c.want) {
			t.Errorf("compare %q: exit %d, stderr %q; want %d and %q", c.args, code, errs, exitUsage, c.want)
		}
	}
	if code, _, errs := runCompare("-h"); code != exitOK || !strings.Contains(errs, "usage: imager compare") {
		t.Errorf("-h: exit %d, stderr %q", code, errs)
	}
}

func TestCompareUnreadable(t *testing.T) {
	a := compareBaseline(t)
	missing := filepath.Join(t.TempDir(), "missing.jsonl")
	if code, _, errs := runCompare(a, missing); code != exitFailed || !strings.Contains(errs, missing) {
		t.Errorf("missing file: exit %d, stderr %q", code, errs)
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	data, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	corrupt := lines[0] + "{not json\n" + strings.Join(lines[1:], "")
	if err := os.WriteFile(bad, []byte(corrupt), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, _, errs := runCompare(bad, a); code != exitFailed || !strings.Contains(errs, bad+":2:") {
		t.Errorf("corrupt file: exit %d, stderr %q", code, errs)
	}
}

func TestCompareKilledRun(t *testing.T) {
	a := compareBaseline(t)
	b := writeCompareFile(t, "killed.jsonl", true,
		compareRound{success: 100, latency: time.Millisecond, name: "get"},
		compareRound{success: 90, failed: 10, latency: 2 * time.Millisecond, name: "get"},
		compareRound{success: 50, latency: time.Millisecond, name: "get"})
	code, out, errs := runCompare("-fail-if", "planned<-10%", a, b)
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	if !strings.Contains(out, "note: no summary line (the run did not finish); totals rebuilt from its 3 rounds") {
		t.Errorf("no note of the rebuilt summary:\n%s", out)
	}
	for prefix, want := range map[string]string{
		"planned ":      "planned 200 250 +25.0%",
		"achieved_rps ": "achieved_rps 100.0 83.3 -16.7%",
		"server_error ": "server_error 0 10 +inf%",
		"max ":          "max 1ms 2ms +100.0%",
	} {
		if l := compareLine(t, out, prefix); strings.Join(strings.Fields(l), " ") != want {
			t.Errorf("line %q, want %q", l, want)
		}
	}
}
