package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/results"
)

// compareUsage is the help of `imager compare`.
const compareUsage = `usage: imager compare [-fail-if EXPR]... A B

Compares two results files (written by -out): A, the baseline, and B, the
candidate, side by side with the relative change of each metric. A file
without a summary line (a killed run) is summed up from its rounds.

-fail-if 'METRIC OP CHANGE' fails the comparison (exit 99) when the change
of METRIC from A to B crosses CHANGE: a relative change such as +10% or
-5%, or an absolute one in the metric's unit such as +0.05 or +20ms.
  p99>+10%           B's p99 is more than 10% above A's
  achieved_rps<-5%   the achieved rate fell by more than 5%
  error_rate>+0.05   the error rate rose by more than 0.05 (5 points)
METRIC is any row of the table; OP is >, >=, < or <=.

Exit codes: 0 no regression, 99 a -fail-if failed, 2 usage error,
1 a file could not be read.

`

// errCompareFlag marks an error the flag package has already printed.
var errCompareFlag = errors.New("bad flag")

// failIfList is the repeatable -fail-if flag.
type failIfList []string

func (l *failIfList) String() string { return strings.Join(*l, ", ") }

func (l *failIfList) Set(v string) error {
	*l = append(*l, v)
	return nil
}

// parseCompare parses the arguments of `imager compare`; flags may come
// before, between or after the two files.
func parseCompare(args []string, stderr io.Writer) ([]results.FailIf, []string, error) {
	fs := flag.NewFlagSet("imager compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var exprs failIfList
	fs.Var(&exprs, "fail-if", "fail (exit 99) when 'METRIC OP CHANGE' holds, e.g. 'p99>+10%' (repeatable)")
	showVersion := cli.BindVersionFlag(fs)
	fs.Usage = func() {
		fmt.Fprint(stderr, compareUsage)
		fs.PrintDefaults()
	}
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, nil, fmt.Errorf("%w: %w", errCompareFlag, err)
		}
		if fs.NArg() == 0 {
			break
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if *showVersion {
		return nil, nil, errVersion
	}
	if len(files) != 2 {
		return nil, nil, fmt.Errorf("want two results files, A (the baseline) and B (the candidate); got %d", len(files))
	}
	fails, err := results.ParseFailIfs(exprs)
	if err != nil {
		return nil, nil, err
	}
	return fails, files, nil
}

// compareCmd runs `imager compare` and returns its exit code.
func compareCmd(args []string, stdout, stderr io.Writer) int {
	fails, paths, err := parseCompare(args, stderr)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errVersion):
		return printVersion(stdout)
	case errors.Is(err, errCompareFlag):
		return exitUsage
	case err != nil:
		fmt.Fprintf(stderr, "imager compare: %v\n", err)
		return exitUsage
	}
	var files [2]*results.File
	for i, p := range paths {
		if files[i], err = results.ReadFile(p); err != nil {
			fmt.Fprintf(stderr, "imager compare: %v\n", err)
			return exitFailed
		}
	}
	c, err := results.Compare(files[0], files[1])
	if err != nil {
		fmt.Fprintf(stderr, "imager compare: %v\n", err)
		return exitFailed
	}
	printComparison(stdout, c)
	checked := c.Check(fails)
	printFailIfs(stdout, checked)
	code := exitOK
	for _, r := range checked {
		if r.Failed {
			fmt.Fprintf(stderr, "imager compare: regression: %s (measured %s: %s -> %s)\n", r.FailIf.Expr, r.ChangeText(),
				results.FormatMetric(r.FailIf.Metric, r.A), results.FormatMetric(r.FailIf.Metric, r.B))
			code = exitThresholds
		}
	}
	return code
}

// printComparison prints the two runs side by side.
func printComparison(w io.Writer, c *results.Comparison) {
	for _, s := range []struct {
		label string
		side  *results.Side
	}{{"A (baseline) ", &c.A}, {"B (candidate)", &c.B}} {
		fmt.Fprintf(w, "%s  %s", s.label, s.side.Path)
		if r := s.side.Run; r != nil {
			fmt.Fprintf(w, "  (%s, %s, %d rounds)", r.Start.Format("2006-01-02 15:04:05Z07:00"), r.Target, s.side.Summary.Rounds)
		}
		fmt.Fprintln(w)
		if s.side.Rebuilt {
			fmt.Fprintf(w, "  note: no summary line (the run did not finish); totals rebuilt from its %d rounds,\n"+
				"  service-time quantiles are the highest round's\n", s.side.Summary.Rounds)
		}
	}
	t := &compareTable{}
	t.add("", "A", "B", "change")
	addCompareRows(t, "", c.Rows)
	for _, n := range c.Names {
		head := fmt.Sprintf("name %q", n.Name)
		switch {
		case !n.InA:
			head += " (only in B)"
		case !n.InB:
			head += " (only in A)"
		}
		t.add(head)
		addCompareRows(t, "  ", n.Rows)
	}
	fmt.Fprintln(w)
	t.print(w)
}

// addCompareRows adds rows to t under their section headings, indented.
func addCompareRows(t *compareTable, indent string, rows []results.Row) {
	section := ""
	for _, r := range rows {
		if r.Section != section {
			section = r.Section
			t.add(indent + section)
		}
		a, b, change := results.FormatMetric(r.Metric, r.A), results.FormatMetric(r.Metric, r.B), results.FormatChange(r.Change)
		if strings.Contains(r.Unmeasured, "A") {
			a, change = "-", ""
		}
		if strings.Contains(r.Unmeasured, "B") {
			b, change = "-", ""
		}
		t.add(indent+"  "+r.Metric, a, b, change)
	}
}

// printFailIfs prints the verdict of each -fail-if.
func printFailIfs(w io.Writer, rs []results.FailIfResult) {
	if len(rs) == 0 {
		return
	}
	t := &compareTable{}
	t.add("fail-if", "change", "verdict")
	for _, r := range rs {
		verdict := "PASS"
		if r.Failed {
			verdict = "FAIL"
		}
		t.add("  "+r.FailIf.Expr, r.ChangeText(), verdict)
	}
	fmt.Fprintln(w)
	t.print(w)
}

// compareTable lays out lines of cells: the first column left-aligned, the
// others right-aligned. A line of one cell is a heading.
type compareTable struct{ lines [][]string }

func (t *compareTable) add(cells ...string) { t.lines = append(t.lines, cells) }

func (t *compareTable) print(w io.Writer) {
	var width []int
	for _, l := range t.lines {
		if len(l) == 1 {
			continue
		}
		for i, c := range l {
			if i == len(width) {
				width = append(width, 0)
			}
			width[i] = max(width[i], len([]rune(c)))
		}
	}
	for _, l := range t.lines {
		var b strings.Builder
		for i, c := range l {
			switch {
			case len(l) == 1:
				b.WriteString(c)
			case i == 0:
				fmt.Fprintf(&b, "%-*s", width[0], c)
			default:
				fmt.Fprintf(&b, "  %*s", width[i], c)
			}
		}
		fmt.Fprintln(w, strings.TrimRight(b.String(), " "))
	}
}
