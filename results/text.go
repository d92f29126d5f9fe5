package results

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// The text form of results: one line per round and a summary. Scripts
// parse some summary lines, which therefore keep their shape: a line with
// "achieved rate <N> rps", an outcomes line that always holds
// "dropped <N>", and a line starting (after indentation) with "latency"
// holding "p99 <X>ms" and "p99.9 <X>ms", always in milliseconds.

// topShown is how many failure reasons the summary shows.
const topShown = 5

// PrintRun prints what a run is about to do: the seed, which a run
// needs to be repeated, and the thresholds it will be judged by.
func PrintRun(w io.Writer, r *Run) {
	fmt.Fprintf(w, "seed %d (pass -seed=%d to repeat the requests)\n", r.Seed, r.Seed)
	for _, t := range r.Thresholds {
		fmt.Fprintf(w, "threshold %s\n", t)
	}
}

// PrintRound prints the line of a finished round and, when requests
// failed, its most frequent failure reason on the next line.
func PrintRound(w io.Writer, r *Round) {
	o := r.Outcomes
	fmt.Fprintf(w, "round %3d  planned %6.0f rps  achieved %8.1f rps  ok %6d  4xx %4d  5xx %4d  timeouts %4d  conn %4d  dropped %4d  lost %4d  p50 %s  p99 %s",
		r.Round, r.PlannedRPS, r.AchievedRPS, o["success"], o["client_error"], o["server_error"], o["timeout"],
		o["connection_error"], o["dropped"], o["lost"], ms(r.Latency.P50), ms(r.Latency.P99))
	if n := o["check_failed"]; n > 0 {
		fmt.Fprintf(w, "  check_failed %4d", n)
	}
	fmt.Fprintln(w)
	if len(r.Errors) > 0 {
		e := r.Errors[0]
		fmt.Fprintf(w, "           %d× %s\n", e.Count, e.Message)
	}
	if worst := r.FailingChecks(); len(worst) > 0 && worst[0].Failed > 0 {
		c := worst[0]
		fmt.Fprintf(w, "           check %s passed %s (%d failed)\n", c.Name, percent(c.PassRate), c.Failed)
	}
}

// PrintSummary prints the totals of a run, its failure reasons, the
// per-name breakdown and the verdict.
func PrintSummary(w io.Writer, s *Summary) {
	o := s.Outcomes
	fmt.Fprintf(w, "\nsummary (%s)\n", s.Stopped)
	fmt.Fprintf(w, "  rounds         %d over %.3fs\n", s.Rounds, s.ElapsedSeconds)
	if s.SkippedRounds > 0 {
		fmt.Fprintf(w, "  skipped        %d rounds not run (planned too late, no executor or no target): their load is not in these totals\n", s.SkippedRounds)
	}
	fmt.Fprintf(w, "  requests       planned %d, sent %d\n", s.Planned, s.Sent)
	printRateAndOutcomes(w, s)
	fmt.Fprintf(w, "  failed         %d (error rate %s: every outcome but success)\n", s.Planned-o["success"], percent(s.ErrorRate))
	if len(s.StatusCodes) > 0 {
		fmt.Fprintf(w, "  status codes   %s\n", statusText(s.StatusCodes))
	}
	printLatency(w, s)
	fmt.Fprintf(w, "  service time   p50 %s  p99 %s  max %s  (from the actual send)\n",
		ms(s.ServiceTime.P50), ms(s.ServiceTime.P99), ms(s.ServiceTime.Max))
	if s.ResponseBytes > 0 {
		fmt.Fprintf(w, "  received       %d bytes of response bodies\n", s.ResponseBytes)
	}
	if c := s.Connections; c != nil {
		fmt.Fprintf(w, "  connections    opened %d, failed %d\n", c.Opened, c.Failed)
	}
	if t := s.Target; t != nil {
		fmt.Fprintf(w, "  target         peak CPU %.0fm, peak memory %d bytes, %.3f ms CPU per successful request\n",
			t.CPUMillicores, t.MemoryBytes, t.CPUMsPerRequest)
	}
	printErrors(w, s.Errors)
	printChecks(w, &s.Stats)
	printNames(w, s.Names)
	if s.Search != "" {
		fmt.Fprintf(w, "  search         %s\n", s.Search)
	}
	printThresholds(w, s)
	printVerdict(w, s)
}

// PrintCompactSummary prints the lines of PrintSummary that judge a run,
// verdict first, for a short report such as a Kubernetes termination
// message: the verdict, how the run stopped, the achieved rate, the
// outcomes, the latency line and every threshold.
func PrintCompactSummary(w io.Writer, s *Summary) {
	printVerdict(w, s)
	fmt.Fprintf(w, "  stopped        %s after %d rounds over %.3fs\n", s.Stopped, s.Rounds, s.ElapsedSeconds)
	printRateAndOutcomes(w, s)
	printLatency(w, s)
	printThresholds(w, s)
}

// printRateAndOutcomes prints the achieved rate and the outcomes lines.
func printRateAndOutcomes(w io.Writer, s *Summary) {
	o := s.Outcomes
	fmt.Fprintf(w, "  achieved rate  %.1f rps (planned %.1f rps)\n", s.AchievedRPS, s.PlannedRPS)
	fmt.Fprintf(w, "  outcomes       success %d, 4xx %d, 5xx %d, timeouts %d, connection errors %d, dropped %d, lost %d, check_failed %d\n",
		o["success"], o["client_error"], o["server_error"], o["timeout"], o["connection_error"], o["dropped"], o["lost"], o["check_failed"])
}

// printLatency prints the latency line. It always has its quantiles, for
// the scripts that parse it; with nothing measured they are 0 and the
// line says so.
func printLatency(w io.Writer, s *Summary) {
	o := s.Outcomes
	note := "from each request's intended send time, or its earlier actual send"
	if o["success"]+o["client_error"]+o["server_error"]+o["timeout"]+o["connection_error"] == 0 {
		note = "no request ended: nothing measured"
	}
	q := s.Latency
	fmt.Fprintf(w, "  latency        p50 %s  p90 %s  p95 %s  p99 %s  p99.9 %s  max %s  (%s)\n",
		ms(q.P50), ms(q.P90), ms(q.P95), ms(q.P99), ms(q.P999), ms(q.Max), note)
}

// printErrors lists the most frequent failure reasons.
func printErrors(w io.Writer, errs []ErrorCount) {
	for i, e := range errs {
		if i == topShown {
			fmt.Fprintf(w, "                 … %d more reasons in the results file\n", len(errs)-topShown)
			break
		}
		label := ""
		if i == 0 {
			label = "top errors"
		}
		fmt.Fprintf(w, "  %-14s %d× %s\n", label, e.Count, e.Message)
	}
}

// checksShown is how many checks the summary lists, worst first.
const checksShown = 10

// printChecks prints the overall pass rate of the response checks and
// each check's, worst first, at most checksShown of them.
func printChecks(w io.Writer, s *Stats) {
	rate, ok := s.CheckPassRate()
	if !ok {
		return
	}
	passed, judged := s.CheckTotals()
	fmt.Fprintf(w, "  checks         %s passed (%d of %d verdicts, %d checks)\n", percent(rate), passed, judged, len(s.Checks))
	worst := s.FailingChecks()
	width := 0
	for i, c := range worst {
		if i < checksShown {
			width = max(width, len(c.Name))
		}
	}
	for i, c := range worst {
		if i == checksShown {
			fmt.Fprintf(w, "                 … and %d more in the results file\n", len(worst)-checksShown)
			break
		}
		fmt.Fprintf(w, "                 %-*s  %8s passed  %d failed of %d\n", width, c.Name, percent(c.PassRate), c.Failed, c.Passed+c.Failed)
	}
}

// printNames prints the per-name table.
func printNames(w io.Writer, names []NameStats) {
	if len(names) == 0 {
		return
	}
	width := len("name")
	for _, n := range names {
		width = max(width, len(n.Name))
	}
	fmt.Fprintf(w, "  by name        %-*s  %8s  %8s  %7s  %10s  %10s\n", width, "name", "planned", "success", "errors", "p50", "p99")
	for _, n := range names {
		fmt.Fprintf(w, "                 %-*s  %8d  %8d  %7s  %10s  %10s\n", width, n.Name, n.Planned, n.Outcomes["success"],
			percent(n.ErrorRate), ms(n.Latency.P50), ms(n.Latency.P99))
	}
}

// printThresholds prints every threshold with its verdict.
func printThresholds(w io.Writer, s *Summary) {
	for i, t := range s.Thresholds {
		label := ""
		if i == 0 {
			label = "thresholds"
		}
		mark := "PASS"
		if !t.Passed {
			mark = "FAIL"
		}
		where := ""
		if t.Round != nil {
			where = fmt.Sprintf(" in round %d", *t.Round)
		}
		measured := "measured " + thresholdValue(t)
		if t.Reason != "" {
			measured = t.Reason
		}
		fmt.Fprintf(w, "  %-14s %s  %s  (%s%s)\n", label, mark, t.Expression, measured, where)
	}
}

// printVerdict prints the verdict line.
func printVerdict(w io.Writer, s *Summary) {
	if s.Passed {
		fmt.Fprintf(w, "  verdict        PASSED\n")
	} else {
		fmt.Fprintf(w, "  verdict        FAILED: %s\n", s.Reason)
	}
}

// thresholdValue formats a threshold's measured value in its metric's
// unit.
func thresholdValue(t ThresholdResult) string {
	th, err := ParseThreshold(t.Expression)
	if err != nil {
		return strconv.FormatFloat(t.Value, 'g', 6, 64)
	}
	return FormatMetric(th.Metric, t.Value)
}

// statusText lists status codes in order: "200 1500, 404 3".
func statusText(codes map[string]int64) string {
	keys := make([]string, 0, len(codes))
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, codes[k])
	}
	return strings.Join(parts, ", ")
}

// ms formats milliseconds with two decimals and the unit.
func ms(v float64) string { return fmt.Sprintf("%.2fms", v) }

// percent formats a fraction as a percentage.
func percent(f float64) string { return fmt.Sprintf("%.2f%%", f*100) }

// Printer prints a run's results as text as they become known; it has
// the methods of app.ResultSink. Its methods are called from one
// goroutine at a time.
type Printer struct {
	W io.Writer
	// Rounds prints a line per round; the orchestrator leaves it off, as
	// its log has a line per round already.
	Rounds bool
}

// Run prints the seed and the thresholds.
func (p *Printer) Run(r *Run) { PrintRun(p.W, r) }

// Round prints the line of a finished round, when Rounds is set.
func (p *Printer) Round(r *Round) {
	if p.Rounds {
		PrintRound(p.W, r)
	}
}

// Summary prints the totals of the run and its verdict.
func (p *Printer) Summary(s *Summary) { PrintSummary(p.W, s) }
