// The code below is the seed README's extension example, unchanged but
// for gofmt; TestSeedExtensionExampleCompiles builds it.

package main

import (
	"context"
	"errors"
	imagerapp "github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
	"log"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	cfg, err := imagerapp.ParseConfig(os.Args[1:])
	if err != nil {
		log.Fatalf("parse config: %v", err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	opts := imagerapp.RunOptions{
		RequestSourceFactory: imagerapp.RequestSourceFactoryFunc(func(cfg imagerapp.Config) (types.RequestSource, error) {
			if cfg.RequestSourceType == "db" {
				// initialize DB connection/pool once in real code and reuse it.
				return NewDBRequestSource(openDB()), nil
			}
			return imagerapp.NewBuiltInRequestSource(cfg)
		}),
		LoadCalculatorFactory: imagerapp.LoadCalculatorFactoryFunc(func(cfg imagerapp.Config) (manager.LoadCalculator, error) {
			if cfg.LoadCalculator == "random-spike" {
				return NewRandomSpikeLoadCalculator(cfg.MinRPS, cfg.MaxRPS, cfg.MinRPS, 400, 15), nil
			}
			return imagerapp.NewBuiltInLoadCalculator(cfg)
		}),
	}
	if err := imagerapp.Run(ctx, cfg, opts); err != nil && !errors.Is(err, context.Canceled) {
		log.Fatalf("run orchestrator: %v", err)
	}
}
