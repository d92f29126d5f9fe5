package app

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/PeladoCollado/imager/internal/cli"
	"github.com/PeladoCollado/imager/internal/requests"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// Built-in request source and load calculator names.
const (
	SourceFile      = "file"
	SourceRandomSum = "random-sum"
	SourceLua       = "lua"
	SourceURL       = "url"
	SourceAuto      = "auto"

	CalculatorConstant            = "constant"
	CalculatorStep                = "step"
	CalculatorExponential         = "exponential"
	CalculatorLogarithmic         = "logarithmic"
	CalculatorAdaptiveExponential = "adaptive-exponential"
	CalculatorLua                 = "lua"
	CalculatorAuto                = "auto"
)

// RequestSourceFactory builds the request source for a run.
type RequestSourceFactory interface {
	NewRequestSource(cfg Config) (types.RequestSource, error)
}

// RequestSourceFactoryFunc adapts a function to RequestSourceFactory.
type RequestSourceFactoryFunc func(cfg Config) (types.RequestSource, error)

var _ RequestSourceFactory = RequestSourceFactoryFunc(nil)

// NewRequestSource calls f.
func (f RequestSourceFactoryFunc) NewRequestSource(cfg Config) (types.RequestSource, error) {
	return f(cfg)
}

// LoadCalculatorFactory builds the load calculator for a run.
type LoadCalculatorFactory interface {
	NewLoadCalculator(cfg Config) (manager.LoadCalculator, error)
}

// LoadCalculatorFactoryFunc adapts a function to LoadCalculatorFactory.
type LoadCalculatorFactoryFunc func(cfg Config) (manager.LoadCalculator, error)

var _ LoadCalculatorFactory = LoadCalculatorFactoryFunc(nil)

// NewLoadCalculator calls f.
func (f LoadCalculatorFactoryFunc) NewLoadCalculator(cfg Config) (manager.LoadCalculator, error) {
	return f(cfg)
}

// NewBuiltInRequestSource builds the request source -request-source-type
// names: file (-request-source-file, default /config/requests.json),
// random-sum (-random-sum-path, -random-sum-min, -random-sum-max, -seed),
// lua (request() of -scenario), url (ad hoc requests: -method to the path
// and query of -target-url, with -H and -body or -body-file), or auto: lua
// when -scenario defines request(), else file when -request-source-file
// is given or the target mode is not url, else url. Scenario VMs log to
// the logger of the run that handed cfg to a factory (RunOptions.Logger),
// and to slog.Default() for a Config from elsewhere. Within a run the
// scenario is loaded once and the run releases the VMs when it ends.
func NewBuiltInRequestSource(cfg Config) (types.RequestSource, error) {
	return builtInsOf(cfg).requestSource(cfg)
}

func (b *builtIns) requestSource(cfg Config) (types.RequestSource, error) {
	kind := cfg.RequestSourceType
	if kind == SourceAuto {
		if cfg.Scenario != "" {
			roles, err := b.scenarioRoles(cfg)
			if err != nil {
				return nil, err
			}
			if roles.Request {
				kind = SourceLua
			}
		}
		if kind == SourceAuto {
			kind = SourceFile
			if cfg.mayUseAdHoc() {
				kind = SourceURL
			}
		}
	}
	switch kind {
	case SourceFile:
		src, err := requests.NewFileSource(cfg.requestFile())
		if err != nil {
			return nil, fmt.Errorf("-request-source-file: %w", err)
		}
		return src, nil
	case SourceURL:
		return newAdHocSource(cfg)
	case SourceRandomSum:
		src, err := requests.NewRandomSumSource(cfg.RandomSumPath, cfg.RandomSumMin, cfg.RandomSumMax, seedOf(cfg))
		if err != nil {
			return nil, fmt.Errorf("-random-sum-path, -random-sum-min, -random-sum-max: %w", err)
		}
		return src, nil
	case SourceLua:
		return b.newLuaSource(cfg)
	default:
		return nil, fmt.Errorf("unknown -request-source-type %q (built in: %s, %s, %s, %s, %s)", cfg.RequestSourceType,
			SourceFile, SourceRandomSum, SourceLua, SourceURL, SourceAuto)
	}
}

// NewBuiltInLoadCalculator builds the calculator -load-calculator names,
// after checking -min-rps, -max-rps and (for step) -step-rps: constant
// (-rate), step, exponential, logarithmic, adaptive-exponential, lua
// (rps(round) of -scenario), or auto: lua when -scenario defines
// rps(round), else constant when -rate is set, else step. Scenario VMs log
// and are released as NewBuiltInRequestSource says.
func NewBuiltInLoadCalculator(cfg Config) (manager.LoadCalculator, error) {
	return builtInsOf(cfg).loadCalculator(cfg)
}

func (b *builtIns) loadCalculator(cfg Config) (manager.LoadCalculator, error) {
	kind, err := b.calculatorKind(cfg)
	if err != nil {
		return nil, err
	}
	if kind == CalculatorConstant {
		if cfg.Rate <= 0 {
			return nil, fmt.Errorf("-load-calculator=%s needs -rate greater than 0 (got %d)", CalculatorConstant, cfg.Rate)
		}
		return manager.NewConstantLoadCalculator(cfg.Rate), nil
	}
	switch kind {
	case CalculatorStep, CalculatorExponential, CalculatorLogarithmic, CalculatorAdaptiveExponential:
		err := manager.ValidateRange(cfg.MinRPS, cfg.MaxRPS)
		if kind == CalculatorStep {
			err = errors.Join(err, manager.ValidateStep(cfg.StepRPS))
		}
		if err != nil {
			return nil, fmt.Errorf("-load-calculator=%s: %w", kind, flagErrors(err))
		}
	}
	switch kind {
	case CalculatorStep:
		return manager.NewStepFunctionLoadCalculator(cfg.MinRPS, cfg.MaxRPS, cfg.StepRPS), nil
	case CalculatorExponential:
		return manager.NewExponentialLoadCalculator(cfg.MinRPS, cfg.MaxRPS), nil
	case CalculatorLogarithmic:
		return manager.NewLogarithmicLoadCalculator(cfg.MinRPS, cfg.MaxRPS), nil
	case CalculatorAdaptiveExponential:
		if cfg.AdaptiveMaxLatencyMillis < 0 {
			return nil, fmt.Errorf("-adaptive-max-latency-ms (%d) must not be negative", cfg.AdaptiveMaxLatencyMillis)
		}
		return manager.NewAdaptiveExponentialLoadCalculator(cfg.MinRPS, cfg.MaxRPS, cfg.AdaptiveMaxLatencyMillis), nil
	case CalculatorLua:
		return b.newLuaCalculator(cfg)
	default:
		return nil, fmt.Errorf("unknown -load-calculator %q (built in: %s, %s, %s, %s, %s, %s, %s)", cfg.LoadCalculator,
			CalculatorConstant, CalculatorStep, CalculatorExponential, CalculatorLogarithmic, CalculatorAdaptiveExponential, CalculatorLua, CalculatorAuto)
	}
}

// calculatorKind resolves -load-calculator=auto: lua when -scenario
// defines rps(round), else constant when -rate is set, else step. -rate
// beside a scenario that sets the rate itself is refused, not ignored.
func (b *builtIns) calculatorKind(cfg Config) (string, error) {
	if cfg.LoadCalculator != CalculatorAuto {
		return cfg.LoadCalculator, nil
	}
	if cfg.Scenario != "" {
		roles, err := b.scenarioRoles(cfg)
		if err != nil {
			return "", err
		}
		if roles.RPS {
			if cfg.Rate > 0 {
				return "", fmt.Errorf("-rate %d and -scenario %s conflict: the scenario's rps(round) sets the rate (drop -rate, or pass -load-calculator=%s to use it instead)",
					cfg.Rate, cfg.Scenario, CalculatorConstant)
			}
			return CalculatorLua, nil
		}
	}
	if cfg.Rate > 0 {
		return CalculatorConstant, nil
	}
	return CalculatorStep, nil
}

// seedOf returns -seed, or a clock-derived seed when it is 0.
func seedOf(cfg Config) int64 {
	if cfg.Seed != 0 {
		return cfg.Seed
	}
	return time.Now().UnixNano()
}

// NewLogger builds the logger -log-format and -log-level ask for.
func NewLogger(cfg Config, w io.Writer) (*slog.Logger, error) {
	return cli.NewLogger(w, cfg.LogFormat, cfg.LogLevel)
}
