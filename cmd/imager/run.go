package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"time"

	"k8s.io/klog/v2"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/sumservice"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/results"
)

// localFlags are the flags `imager run` adds to the orchestrator's.
type localFlags struct {
	executors   int
	maxInFlight int
	connections int
}

// parseRun parses `imager run` flags. Defaults differ from the
// orchestrator's where one machine calls for it: url mode, no HTTP or gRPC
// port unless asked, and warnings-only logs so the per-round lines stand out.
func parseRun(args []string, stderr io.Writer) (app.Config, localFlags, error) {
	var cfg app.Config
	var lf localFlags
	fs := flag.NewFlagSet("imager run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.BindFlags(fs)
	fs.IntVar(&lf.executors, "executors", 2, "executors to run in this process")
	fs.IntVar(&lf.maxInFlight, "max-inflight", 10000, "bound on each executor's queued-plus-in-flight requests of a job")
	fs.IntVar(&lf.connections, "connections", 0, "connections of each executor to the target (0: each job starts with its rate × min(2 × the latency of the last jobs to the target + 1ms, 20ms), 4 to 256, and grows up to rate × 20ms while it runs behind with the target holding its connections; for http jobs the mean time the target took to answer, for https the p99 latency)")
	showVersion := cli.BindVersionFlag(fs)
	if err := setDefaults(fs, map[string]string{"target-mode": app.TargetModeURL, "listen-port": "0", "grpc-port": "0", "log-level": "warn"}); err != nil {
		return cfg, lf, err
	}
	if err := fs.Parse(args); err != nil {
		return cfg, lf, err
	}
	if *showVersion {
		return cfg, lf, errVersion
	}
	if fs.NArg() > 0 {
		return cfg, lf, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	if lf.executors < 1 {
		return cfg, lf, fmt.Errorf("-executors (%d) must be at least 1", lf.executors)
	}
	if lf.connections < 0 {
		return cfg, lf, fmt.Errorf("-connections (%d) must be 0 or more", lf.connections)
	}
	if lf.maxInFlight < 1 {
		return cfg, lf, fmt.Errorf("-max-inflight (%d) must be at least 1", lf.maxInFlight)
	}
	return cfg, lf, cfg.Validate()
}

// setDefaults changes the defaults of flags already defined on fs, both
// their values and what -h shows.
func setDefaults(fs *flag.FlagSet, values map[string]string) error {
	for name, value := range values {
		f := fs.Lookup(name)
		if f == nil {
			return fmt.Errorf("no flag -%s", name)
		}
		f.DefValue = value
		if err := f.Value.Set(value); err != nil {
			return fmt.Errorf("-%s: %w", name, err)
		}
	}
	return nil
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, lf, err := parseRun(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if errors.Is(err, errVersion) {
		return printVersion(stdout)
	}
	if err != nil {
		fmt.Fprintf(stderr, "imager run: %v\n", err)
		return exitUsage
	}
	return runLocal(ctx, cfg, lf, stdout, stderr)
}

// runLocal runs a test in this process, printing a line per round and the
// summary, which is printed even when the run is interrupted or fails.
func runLocal(ctx context.Context, cfg app.Config, lf localFlags, stdout, stderr io.Writer) int {
	log, err := app.NewLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imager run: %v\n", err)
		return exitUsage
	}
	// client-go (pod and service modes) logs through klog; route it into
	// the same log, as the orchestrator does.
	klog.SetSlogLogger(log)
	fmt.Fprintf(stdout, "imager: %s from %d executor(s) against %s, rounds of %v, duration %s\n",
		describe(cfg), lf.executors, app.RedactURL(cfg.TargetURL), cfg.RoundInterval, durationText(cfg.Duration))
	err = app.Run(ctx, cfg, app.RunOptions{
		Logger:           log,
		LocalExecutors:   lf.executors,
		LocalMaxInFlight: lf.maxInFlight,
		LocalConnections: lf.connections,
		Results:          &results.Printer{W: stdout, Rounds: true},
		QuietRounds:      true,
		Command:          "imager run",
		Flags: map[string]string{"executors": strconv.Itoa(lf.executors), "max-inflight": strconv.Itoa(lf.maxInFlight),
			"connections": strconv.Itoa(lf.connections)},
	})
	return exitCode("imager run", err, stderr)
}

// exitCode maps the error of a run to the process exit code, saying why
// on stderr: 0 passed, 99 failed its verdict (thresholds; also when
// interrupted), 130 interrupted, 2 bad input, 1 could not run.
func exitCode(cmd string, err error, stderr io.Writer) int {
	var verdict *app.VerdictError
	var usage *app.UsageError
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &usage):
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitUsage
	case errors.As(err, &verdict):
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitThresholds
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "%s: interrupted\n", cmd)
		return exitInterrupted
	default:
		fmt.Fprintf(stderr, "%s: %v\n", cmd, err)
		return exitFailed
	}
}

// describe names the load profile and request source a run uses, saying
// what auto stands for when no scenario decides it.
func describe(cfg app.Config) string {
	if cfg.Scenario != "" {
		return fmt.Sprintf("scenario %s (load calculator %s, request source %s)", cfg.Scenario, cfg.LoadCalculator, cfg.RequestSourceType)
	}
	calc, src := cfg.LoadCalculator, cfg.RequestSourceType
	if calc == app.CalculatorAuto {
		calc = app.CalculatorStep
		if cfg.Rate > 0 {
			calc = app.CalculatorConstant
		}
	}
	if calc == app.CalculatorConstant {
		calc = fmt.Sprintf("constant %d rps", cfg.Rate)
	}
	if src == app.SourceAuto {
		src = app.SourceFile
		if cfg.TargetMode == app.TargetModeURL && cfg.RequestSourceFile == "" {
			src = app.SourceURL
		}
	}
	if u, err := url.Parse(cfg.TargetURL); err == nil && src == app.SourceURL {
		return fmt.Sprintf("%s load of %s %s", calc, cfg.Method, u.RequestURI())
	}
	return fmt.Sprintf("%s load of %s requests", calc, src)
}

func durationText(d time.Duration) string {
	if d == 0 {
		return "until stopped"
	}
	return d.String()
}

// demoCmd starts a sumservice on a free loopback port and runs a short
// step profile of random-sum requests against it.
func demoCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("imager demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	duration := fs.Duration("duration", 10*time.Second, "length of the demo")
	executors := fs.Int("executors", 2, "executors to run in this process")
	showVersion := cli.BindVersionFlag(fs)
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		return exitOK
	} else if err != nil {
		return exitUsage
	}
	if *showVersion {
		return printVersion(stdout)
	}
	srvCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	addrc := make(chan net.Addr, 1)
	srvDone := make(chan error, 1)
	go func() { srvDone <- sumservice.New("127.0.0.1:0").Run(srvCtx, func(a net.Addr) { addrc <- a }) }()
	defer func() { stop(); <-srvDone }()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-srvDone:
		srvDone <- err // for the deferred wait
		fmt.Fprintf(stderr, "imager demo: start sumservice: %v\n", err)
		return exitFailed
	}

	runArgs := []string{
		"-target-url=http://" + addr.String(),
		"-request-source-type=random-sum", "-random-sum-path=/sum",
		"-load-calculator=step", "-min-rps=20", "-max-rps=200", "-step-rps=20",
		"-duration=" + duration.String(), "-request-timeout=5s",
		fmt.Sprintf("-executors=%d", *executors),
	}
	fmt.Fprintf(stdout, "imager demo: sumservice listening on %s\n", addr)
	cfg, lf, err := parseRun(runArgs, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "imager demo: %v\n", err)
		return exitUsage
	}
	return runLocal(ctx, cfg, lf, stdout, stderr)
}
