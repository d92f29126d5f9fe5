// Command imager runs imager on one machine, with no cluster:
//
//	imager run      orchestrator and executors in one process against -target-url
//	imager dry-run  shows the rate plan and sample requests, sending nothing
//	imager demo     starts a sumservice on loopback and runs a short step profile at it
//	imager report   renders a results file (-out) as one HTML page
//	imager compare  compares two results files; -fail-if gates a regression
//	imager version  prints the build version (as does -version on every command)
//
// Run `imager run -h` for the flags; they are the orchestrator's plus
// -executors and -max-inflight.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/PeladoCollado/imager/internal/version"
)

// Exit codes.
const (
	exitOK          = 0
	exitFailed      = 1
	exitUsage       = 2
	exitInterrupted = 130
	// exitThresholds is the exit code of a run that failed its
	// thresholds (k6's convention) and of a comparison that a -fail-if
	// failed.
	exitThresholds = 99
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

const usage = `usage: imager <command> [flags]

commands:
  run      run orchestrator and executors in this process against -target-url
  dry-run  show the rate plan and sample requests a configuration would produce; sends nothing
  demo     start a sumservice on loopback and run a short step profile against it
  report   render a results file (-out) as a self-contained HTML page
  compare  compare two results files side by side; -fail-if fails on a regression (exit 99)
  version  print the version (also: any command's -version flag)

Run 'imager <command> -h' for a command's flags.
`

// run dispatches to a subcommand and returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	switch args[0] {
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "demo":
		return demoCmd(ctx, args[1:], stdout, stderr)
	case "dry-run":
		return dryRunCmd(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr)
	case "compare":
		return compareCmd(args[1:], stdout, stderr)
	case "version", "-version", "--version":
		return printVersion(stdout)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return exitOK
	default:
		fmt.Fprintf(stderr, "imager: unknown command %q\n\n%s", args[0], usage)
		return exitUsage
	}
}

// errVersion is what a command's flag parsing returns when -version was
// given: the command prints the version and exits 0 instead of running.
var errVersion = errors.New("-version given")

// printVersion writes the version line to stdout and returns the exit
// code: what `imager version` and every command's -version do.
func printVersion(stdout io.Writer) int {
	if err := version.Print(stdout); err != nil {
		return exitFailed
	}
	return exitOK
}
