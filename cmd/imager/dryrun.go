package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// placeholderTarget stands in for -target-url in a dry run; the .invalid
// domain can never resolve, and a dry run sends nothing anyway.
const placeholderTarget = "http://target.invalid"

// dryRunFlags are the flags `imager dry-run` adds to the orchestrator's.
type dryRunFlags struct {
	rounds  int
	samples int
	format  string
	model   manager.SyntheticTarget
}

func parseDryRun(args []string, stderr io.Writer) (app.Config, dryRunFlags, error) {
	var cfg app.Config
	var df dryRunFlags
	fs := flag.NewFlagSet("imager dry-run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.BindFlags(fs)
	fs.IntVar(&df.rounds, "rounds", 10, "rounds of the rate plan to show")
	fs.IntVar(&df.samples, "samples", 5, "sample requests to show")
	fs.StringVar(&df.format, "format", "text", "output format: text or json")
	fs.DurationVar(&df.model.BaseLatency, "assume-latency", 20*time.Millisecond, "modelled median latency of the idle target, fed to feedback calculators")
	fs.IntVar(&df.model.CapacityRPS, "assume-capacity-rps", 0, "modelled target capacity: latency climbs toward it and load beyond it times out (0: unlimited)")
	fs.Float64Var(&df.model.ErrorRate, "assume-error-rate", 0, "modelled share of failed responses, 0 to 1")
	showVersion := cli.BindVersionFlag(fs)
	if err := setDefaults(fs, map[string]string{"target-mode": app.TargetModeURL, "target-url": placeholderTarget, "listen-port": "0", "grpc-port": "0"}); err != nil {
		return cfg, df, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, df, err
	}
	if *showVersion {
		return cfg, df, errVersion
	}
	switch {
	case fs.NArg() > 0:
		return cfg, df, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	case df.rounds < 0:
		return cfg, df, fmt.Errorf("-rounds (%d) must not be negative", df.rounds)
	case df.samples < 0:
		return cfg, df, fmt.Errorf("-samples (%d) must not be negative", df.samples)
	case df.format != "text" && df.format != "json":
		return cfg, df, fmt.Errorf("-format %q: want text or json", df.format)
	case df.model.ErrorRate < 0 || df.model.ErrorRate > 1:
		return cfg, df, fmt.Errorf("-assume-error-rate (%v) must be between 0 and 1", df.model.ErrorRate)
	case df.model.CapacityRPS < 0:
		return cfg, df, fmt.Errorf("-assume-capacity-rps (%d) must not be negative", df.model.CapacityRPS)
	}
	df.model.Timeout = cfg.RequestTimeout
	return cfg, df, cfg.Validate()
}

func dryRunCmd(args []string, stdout, stderr io.Writer) int {
	cfg, df, err := parseDryRun(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errVersion) {
		return printVersion(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "imager dry-run: %v\n", err)
		return exitUsage
	}
	out, err := app.DryRun(cfg, df.model, df.rounds, df.samples)
	if err != nil {
		fmt.Fprintf(stderr, "imager dry-run: %v\n", err)
		return exitFailed
	}
	if df.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			fmt.Fprintf(stderr, "imager dry-run: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
	printDryRun(stdout, cfg, df, out)
	return exitOK
}

func printDryRun(w io.Writer, cfg app.Config, df dryRunFlags, out *app.DryRunResult) {
	fmt.Fprintf(w, "dry run: nothing is sent\n")
	fmt.Fprintf(w, "%s, rounds of %s\n", describe(cfg), out.Interval)
	capacity := "unlimited"
	if df.model.CapacityRPS > 0 {
		capacity = fmt.Sprintf("%d rps", df.model.CapacityRPS)
	}
	fmt.Fprintf(w, "modelled target: latency %v, capacity %s, errors %.0f%%\n\n", df.model.BaseLatency, capacity, 100*df.model.ErrorRate)
	fmt.Fprintf(w, "round      rps   model p50   model p99  timeouts  failed\n")
	for _, r := range out.Rounds {
		fmt.Fprintf(w, "%5d %8d %9.1fms %9.1fms %9d %7d\n", r.Index, r.RPS, r.P50Millis, r.P99Millis, r.Timeouts, r.Failed)
	}
	if len(out.Rounds) < df.rounds {
		fmt.Fprintf(w, "(the load calculator ended the test after %d rounds)\n", len(out.Rounds))
	}
	for _, n := range out.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	if len(out.Requests) == 0 {
		return
	}
	fmt.Fprintf(w, "\nsample requests against %s:\n", out.Target)
	for i, r := range out.Requests {
		fmt.Fprintf(w, "\n--- request %d: %s %s\n%s\n", i+1, r.Method, r.URL, strings.TrimRight(r.Wire, "\r\n"))
		if r.Expect != nil {
			// The checks the executors judge the response by, as a
			// request file would write them.
			b, err := json.Marshal(r.Expect)
			if err != nil {
				b = []byte(err.Error())
			}
			fmt.Fprintf(w, "--- expect: %s\n", b)
		}
	}
}
