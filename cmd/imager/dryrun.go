package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/PeladoCollado/imager/engine"
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
	for name, value := range map[string]string{"target-mode": app.TargetModeURL, "target-url": placeholderTarget, "listen-port": "0", "grpc-port": "0"} {
		f := fs.Lookup(name)
		f.DefValue = value
		if err := f.Value.Set(value); err != nil {
			return cfg, df, err
		}
	}
	if err := fs.Parse(args); err != nil {
		return cfg, df, err
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

// dryRunOutput is what a dry run shows, in JSON form.
type dryRunOutput struct {
	Target   string          `json:"target"`
	Interval string          `json:"roundInterval"`
	Rounds   []dryRunRound   `json:"rounds"`
	Requests []dryRunRequest `json:"requests"`
}

type dryRunRound struct {
	Index int64 `json:"index"`
	RPS   int   `json:"rps"`
	// The modelled result fed back to feedback calculators.
	P50Millis float64 `json:"modelP50Ms"`
	P99Millis float64 `json:"modelP99Ms"`
	Timeouts  int64   `json:"modelTimeouts"`
	Failed    int64   `json:"modelFailed"`
}

type dryRunRequest struct {
	Method  string   `json:"method"`
	URL     string   `json:"url"`
	Headers []string `json:"headers,omitempty"`
	Body    string   `json:"body,omitempty"`
	Wire    string   `json:"wire"`
}

func dryRunCmd(args []string, stdout, stderr io.Writer) int {
	cfg, df, err := parseDryRun(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "imager dry-run: %v\n", err)
		return exitUsage
	}
	out, err := dryRun(cfg, df)
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

// dryRun builds the source and calculator the flags name and asks them for
// the plan and sample requests, sending nothing.
func dryRun(cfg app.Config, df dryRunFlags) (*dryRunOutput, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 1 // a dry run is repeatable unless -seed says otherwise
	}
	calc, err := app.NewBuiltInLoadCalculator(cfg)
	if err != nil {
		return nil, err
	}
	src, err := app.NewBuiltInRequestSource(cfg)
	if err != nil {
		return nil, err
	}
	out := &dryRunOutput{Target: cfg.TargetURL, Interval: cfg.RoundInterval.String(), Rounds: []dryRunRound{}, Requests: []dryRunRequest{}}
	for _, r := range manager.DryRun(calc, df.model, df.rounds, cfg.RoundInterval) {
		o := r.Observation
		out.Rounds = append(out.Rounds, dryRunRound{Index: r.Index, RPS: r.RPS,
			P50Millis: millis(o.P50), P99Millis: millis(o.P99), Timeouts: o.Timeouts, Failed: o.Failed})
	}
	if fc, ok := calc.(manager.FailingCalculator); ok && fc.Err() != nil {
		return nil, fc.Err()
	}
	for range df.samples {
		spec, err := src.Next()
		if err != nil {
			return nil, fmt.Errorf("request source: %w", err)
		}
		req := manager.FromSpec(spec)
		wire, err := engine.Render(cfg.TargetURL, req)
		if err != nil {
			return nil, err
		}
		d := dryRunRequest{Method: req.Method, URL: engine.URL(cfg.TargetURL, req), Body: string(req.Body), Wire: wire}
		if d.Method == "" {
			d.Method = "GET"
		}
		for _, h := range req.Headers {
			d.Headers = append(d.Headers, h.Name+": "+h.Value)
		}
		out.Requests = append(out.Requests, d)
	}
	return out, nil
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func printDryRun(w io.Writer, cfg app.Config, df dryRunFlags, out *dryRunOutput) {
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
	fmt.Fprintf(w, "\nsample requests against %s:\n", out.Target)
	for i, r := range out.Requests {
		fmt.Fprintf(w, "\n--- request %d: %s %s\n%s\n", i+1, r.Method, r.URL, strings.TrimRight(r.Wire, "\r\n"))
	}
}
