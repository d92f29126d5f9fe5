// Command imagerext is an orchestrator built outside the imager module. It
// proves that github.com/PeladoCollado/imager/orchestrator/app can be
// imported as a library: the program parses the ordinary orchestrator
// flags, adds one request source ("csv-table") and one load calculator
// ("sawtooth") of its own through the factory options, and leaves every
// other name to the built-ins.
//
// Usage (the flags are those of the imager orchestrator):
//
//	imagerext -target-mode=url -target-url=http://127.0.0.1:8080 \
//	    -request-source-type=csv-table -request-source-file=table.csv \
//	    -load-calculator=sawtooth -min-rps=10 -max-rps=30 -step-rps=10
//
// Because the program also runs one executor in-process, it sends traffic
// without any executor connecting over gRPC.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// Names this program adds to -request-source-type and -load-calculator.
const (
	sourceCSVTable     = "csv-table"
	calculatorSawtooth = "sawtooth"
)

// localExecutors is how many executors run inside this process. Remote
// executors may still join over -grpc-port when it is set.
const localExecutors = 1

func main() {
	os.Exit(run(os.Args[1:]))
}

// run is main without the exit, returning the process exit code: 0 when
// the test completed or was interrupted, 1 when it failed and 2 for bad
// flags.
func run(args []string) int {
	cfg, err := app.ParseConfig(args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagerext: %v\n", err)
		return 2
	}
	log, err := app.NewLogger(cfg, os.Stderr)
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagerext: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts := app.RunOptions{
		RequestSourceFactory:  app.RequestSourceFactoryFunc(newRequestSource),
		LoadCalculatorFactory: app.LoadCalculatorFactoryFunc(newLoadCalculator),
		Logger:                log,
		LocalExecutors:        localExecutors,
	}
	log.Info("imagerext starting", "imager_version", app.Version,
		"request_source", cfg.RequestSourceType, "load_calculator", cfg.LoadCalculator)
	if err := app.Run(ctx, cfg, opts); err != nil && !errors.Is(err, context.Canceled) {
		log.Error("imagerext failed", "error", err)
		return 1
	}
	return 0
}

// newRequestSource builds the csv-table source from -request-source-file
// and hands every other -request-source-type to the built-in factory.
func newRequestSource(cfg app.Config) (types.RequestSource, error) {
	if cfg.RequestSourceType == sourceCSVTable {
		src, err := loadCSVTable(cfg.RequestSourceFile)
		if err != nil {
			return nil, fmt.Errorf("-request-source-type=%s: %w", sourceCSVTable, err)
		}
		return src, nil
	}
	return app.NewBuiltInRequestSource(cfg)
}

// newLoadCalculator builds the sawtooth calculator from -min-rps, -max-rps
// and -step-rps and hands every other -load-calculator to the built-in
// factory.
func newLoadCalculator(cfg app.Config) (manager.LoadCalculator, error) {
	if cfg.LoadCalculator == calculatorSawtooth {
		calc, err := newSawtooth(cfg.MinRPS, cfg.MaxRPS, cfg.StepRPS)
		if err != nil {
			return nil, fmt.Errorf("-load-calculator=%s: %w", calculatorSawtooth, err)
		}
		return calc, nil
	}
	return app.NewBuiltInLoadCalculator(cfg)
}
