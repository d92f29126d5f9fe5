package results

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
)

func TestPrintSummaryKeepsParsedLines(t *testing.T) {
	s := &Summary{Type: TypeSummary, Rounds: 2, ElapsedSeconds: 2, Stopped: "completed", Stats: Stats{
		Counts: Counts{Planned: 40, Sent: 40, Outcomes: map[string]int64{"success": 38, "client_error": 0, "server_error": 0,
			"timeout": 0, "connection_error": 2, "dropped": 0, "lost": 0}, ErrorRate: 0.05,
			Latency: Quantiles{P50: 1.5, P90: 2, P95: 3, P99: 12.25, P999: 40, Max: 41}},
		AchievedRPS: 20, PlannedRPS: 20, StatusCodes: map[string]int64{"200": 38},
		Errors: []ErrorCount{{Message: "dial tcp: connection refused", Count: 2}},
		Names:  []NameStats{{Name: "home", Counts: Counts{Planned: 40, Outcomes: map[string]int64{"success": 38}, ErrorRate: 0.05}}},
	}}
	if out := summaryText(s); strings.Contains(out, "skipped") {
		t.Errorf("a run with no skipped round mentions skipped rounds:\n%s", out)
	}
	s.SkippedRounds = 3
	j := NewJudge(mustParse(t, "p99 < 10ms", "round: error_rate <= 0.1"))
	j.Round(&Round{Round: 0, Stats: Stats{Counts: Counts{Planned: 20, Outcomes: map[string]int64{"success": 20}}}})
	j.Summary(s)
	var b bytes.Buffer
	PrintSummary(&b, s)
	out := b.String()
	for _, re := range []string{
		`(?m)^  achieved rate  20\.0 rps`,
		`(?m)^  skipped        3 rounds not run \(planned too late, no executor or no target\)`,
		`(?m)^  outcomes .*connection errors 2, dropped 0, lost 0, check_failed 0$`,
		`(?m)^  latency        p50 1\.50ms  p90 2\.00ms  p95 3\.00ms  p99 12\.25ms  p99\.9 40\.00ms  max 41\.00ms`,
		`(?m)^  failed         2 \(error rate 5\.00%`,
		`(?m)^  top errors     2× dial tcp: connection refused$`,
		`(?m)^                 home +40 +38 +5\.00%`,
		`(?m)^  thresholds     FAIL  p99 < 10ms  \(measured 12\.25ms\)$`,
		`(?m)^                 PASS  round: error_rate <= 0\.1  \(measured 0\)$`,
		`(?m)^  verdict        FAILED: 1 of 2 thresholds failed: p99 < 10ms \(measured 12\.25ms\)$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("summary does not match %s:\n%s", re, out)
		}
	}
}

func TestPrintRoundShowsTopReason(t *testing.T) {
	var b bytes.Buffer
	PrintRound(&b, &Round{Round: 3, Stats: Stats{PlannedRPS: 10, AchievedRPS: 10,
		Counts: Counts{Planned: 10, Outcomes: map[string]int64{"timeout": 10}},
		Errors: []ErrorCount{{Message: "timeout: no response headers within 1s", Count: 10}}}})
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "round   3  planned     10 rps") || !strings.Contains(lines[0], "timeouts   10") ||
		strings.TrimSpace(lines[1]) != "10× timeout: no response headers within 1s" {
		t.Errorf("round lines:\n%s", b.String())
	}
}

// summaryText is PrintSummary's output for s.
func summaryText(s *Summary) string {
	var b bytes.Buffer
	PrintSummary(&b, s)
	return b.String()
}

func mustParse(t *testing.T, exprs ...string) []Threshold {
	t.Helper()
	ts, err := ParseThresholds(exprs)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func TestPrintCompactSummaryVerdictFirst(t *testing.T) {
	s := &Summary{Type: TypeSummary, Rounds: 2, ElapsedSeconds: 2, Stopped: "completed", Stats: Stats{
		Counts: Counts{Planned: 40, Sent: 40, Outcomes: map[string]int64{"success": 40},
			Latency: Quantiles{P50: 1.5, P99: 12.25}},
		AchievedRPS: 20, PlannedRPS: 20,
		Errors: []ErrorCount{{Message: "not in the compact form", Count: 1}},
	}}
	NewJudge(mustParse(t, "p99 < 10ms")).Summary(s)
	var b bytes.Buffer
	PrintCompactSummary(&b, s)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	want := []string{
		"  verdict        FAILED: 1 of 1 thresholds failed: p99 < 10ms (measured 12.25ms)",
		"  stopped        completed after 2 rounds over 2.000s",
		"  achieved rate  20.0 rps (planned 20.0 rps)",
		"  outcomes       success 40, 4xx 0, 5xx 0, timeouts 0, connection errors 0, dropped 0, lost 0, check_failed 0",
		"  latency        p50 1.50ms  p90 0.00ms  p95 0.00ms  p99 12.25ms  p99.9 0.00ms  max 0.00ms  (from each request's intended send time, or its earlier actual send)",
		"  thresholds     FAIL  p99 < 10ms  (measured 12.25ms)",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Errorf("compact summary:\n%s\nwant:\n%s", b.String(), strings.Join(want, "\n"))
	}
}
