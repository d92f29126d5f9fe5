// Command sumservice runs the demo load-test target: an HTTP service whose
// GET /sum?a=X&b=Y answers with X+Y (see package sumservice). It stops
// gracefully on SIGINT or SIGTERM.
//
// Usage:
//
//	sumservice [-listen :8080]
//	sumservice -version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/sumservice"
	"github.com/PeladoCollado/imager/internal/version"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(os.Args[1:], os.Stdout, logger); err != nil {
		logger.Error("sumservice failed", "err", err)
		os.Exit(1)
	}
}

// run parses the flags and serves until a termination signal arrives;
// with -version it prints the version on stdout instead.
func run(args []string, stdout io.Writer, logger *slog.Logger) error {
	fs := flag.NewFlagSet("sumservice", flag.ContinueOnError)
	listen := fs.String("listen", ":8080", "TCP address to listen on (host:port)")
	showVersion := cli.BindVersionFlag(fs)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("parse flags: %w", err)
	}
	if *showVersion {
		return version.Print(stdout)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %v", fs.Args())
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	srv := sumservice.New(*listen)
	srv.Logger = logger
	err := srv.Run(ctx, func(addr net.Addr) {
		logger.Info("sumservice listening", "addr", addr.String(), "version", version.String())
	})
	if err != nil {
		return err
	}
	logger.Info("sumservice stopped")
	return nil
}
