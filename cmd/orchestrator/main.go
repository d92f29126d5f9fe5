// Command orchestrator runs the imager orchestrator: it plans rounds, sends
// jobs to the executors that connect over gRPC and publishes metrics. Run it
// with -h for every flag; -version prints the build version and exits.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"k8s.io/klog/v2"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/version"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/results"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the exit: it runs the orchestrator with args,
// printing the summary on stdout and logging to stderr, and returns the
// exit code.
func run(args []string, stdout, stderr io.Writer) int {
	cfg, showVersion, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "orchestrator: %v\n", err)
		return 2
	}
	if showVersion {
		if err := version.Print(stdout); err != nil {
			return 1
		}
		return 0
	}
	log, err := app.NewLogger(cfg, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "orchestrator: %v\n", err)
		return 2
	}
	// client-go logs through klog; route it into the same structured log.
	klog.SetSlogLogger(log)
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	log.Info("orchestrator starting", "version", version.String(), "target_mode", cfg.TargetMode,
		"target_url", app.RedactURL(cfg.TargetURL), "load_calculator", cfg.LoadCalculator, "request_source", cfg.RequestSourceType)
	// Rounds go to the log at info level; below it, the summary's printer
	// shows them, so each round is shown once at any level.
	printRounds := !log.Enabled(ctx, slog.LevelInfo)
	err = app.Run(ctx, cfg, app.RunOptions{Logger: log, Results: &results.Printer{W: stdout, Rounds: printRounds}, QuietRounds: printRounds})
	var verdict *app.VerdictError
	var usage *app.UsageError
	switch {
	case errors.As(err, &verdict):
		log.Error("test failed", "reason", verdict.Summary.Reason)
		return exitThresholds
	case err == nil, errors.Is(err, context.Canceled):
		// A stop (SIGTERM) that passed its thresholds is a clean end.
		return 0
	case errors.As(err, &usage):
		log.Error("orchestrator cannot run", "error", err)
		return 2
	default:
		log.Error("orchestrator failed", "error", err)
		return 1
	}
}

// parseFlags parses the orchestrator's flags (app.Config's and -version)
// from args, writing usage and flag errors to stderr. With -version the
// configuration is not validated, so that it works with no other flag.
func parseFlags(args []string, stderr io.Writer) (cfg app.Config, showVersion bool, err error) {
	fs := flag.NewFlagSet("orchestrator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg.BindFlags(fs)
	versionFlag := cli.BindVersionFlag(fs)
	if err := fs.Parse(args); err != nil {
		return cfg, false, err
	}
	if *versionFlag {
		return cfg, true, nil
	}
	if fs.NArg() > 0 {
		return cfg, false, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	return cfg, false, cfg.Validate()
}

// exitThresholds is the exit code of a test that failed its thresholds
// (or, with none, in which no request succeeded), as in k6.
const exitThresholds = 99
