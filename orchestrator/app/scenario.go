package app

import (
	"context"
	"encoding/hex"
	"fmt"
	"log/slog"
	"time"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/script"
)

// builtIns builds the built-in request sources and load calculators of
// one run. Scenario VMs log to log and read the time from now (nil: the
// wall clock; a dry run passes a simulated one). The run's -scenario is
// read and compiled once, by scenario, which every Lua source and
// calculator of the run is built from and which owns them.
type builtIns struct {
	log      *slog.Logger
	now      func() time.Time
	scenario *script.Session // nil without -scenario
}

// newBuiltIns makes the built-ins of a run of cfg; log nil means
// slog.Default(). close releases what they built.
func newBuiltIns(cfg Config, log *slog.Logger, now func() time.Time) *builtIns {
	if log == nil {
		log = slog.Default()
	}
	b := &builtIns{log: log, now: now}
	if cfg.Scenario != "" {
		b.scenario = script.NewSession(cfg.Scenario)
	}
	return b
}

// builtInsOf returns the built-ins of the run cfg was handed out by (Run
// and DryRun attach theirs), or, for a Config from elsewhere, built-ins of
// its own that log to slog.Default().
func builtInsOf(cfg Config) *builtIns {
	if cfg.builtIns != nil {
		return cfg.builtIns
	}
	return newBuiltIns(cfg, nil, nil)
}

// session returns the scenario session of cfg.Scenario: the run's, unless
// a custom factory changed -scenario before falling back to the built-ins.
func (b *builtIns) session(cfg Config) *script.Session {
	if b.scenario != nil && b.scenario.Path() == cfg.Scenario {
		return b.scenario
	}
	return script.NewSession(cfg.Scenario)
}

// close releases the Lua VMs of every source and calculator built.
func (b *builtIns) close() {
	if b.scenario != nil {
		b.scenario.Close()
	}
}

// scenarioUsed reports whether a Lua source or calculator was built from
// the run's -scenario.
func (b *builtIns) scenarioUsed() bool {
	return b.scenario != nil && b.scenario.Used()
}

// watchScenario reloads the run's scenario when its file changes (see
// script.Session.Watch), until ctx ends.
func (b *builtIns) watchScenario(ctx context.Context, cfg Config, m *metrics.Orchestrator) error {
	return b.scenario.Watch(ctx, script.WatchConfig{Interval: cfg.ScenarioReloadInterval, Logger: b.log, Observer: m})
}

// vmConfig is the Lua VM configuration the flags ask for.
func (b *builtIns) vmConfig(cfg Config) (script.VMConfig, error) {
	opts, err := cfg.ScenarioOptionMap()
	if err != nil {
		return script.VMConfig{}, fmt.Errorf("-scenario-options: %w", err)
	}
	return script.VMConfig{
		Seed:        seedOf(cfg),
		Options:     opts,
		Flags:       scenarioFlags(cfg),
		Logger:      b.log,
		CallTimeout: cfg.LuaCallTimeout,
		MemoryLimit: int64(cfg.LuaMemoryLimitMB) << 20,
		Now:         b.now,
	}, nil
}

// scenarioProblems checks the flags of the Lua scenario and its VMs.
func (c Config) scenarioProblems() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if _, err := c.ScenarioOptionMap(); err != nil {
		bad("-scenario-options: %v", err)
	}
	if c.ScenarioReloadInterval < 0 {
		bad("-scenario-reload-interval (%v) must not be negative", c.ScenarioReloadInterval)
	}
	if c.LuaCallTimeout <= 0 {
		bad("-lua-call-timeout (%v) must be positive", c.LuaCallTimeout)
	}
	if c.LuaMemoryLimitMB <= 0 {
		bad("-lua-memory-limit-mb (%d) must be positive", c.LuaMemoryLimitMB)
	}
	if c.LuaVMs < 1 || c.LuaVMs > 64 {
		bad("-lua-vms (%d) must be between 1 and 64", c.LuaVMs)
	}
	if c.Scenario == "" && (c.RequestSourceType == SourceLua || c.LoadCalculator == CalculatorLua) {
		bad("-request-source-type=lua and -load-calculator=lua need -scenario")
	}
	return errs
}

// scenarioFlags are the built-in flag values a scenario's setup(options)
// sees as options.flags. Durations are in seconds. request-source-file is
// the file the file source would read: empty in url mode when not given.
func scenarioFlags(cfg Config) map[string]any {
	file := cfg.RequestSourceFile
	if file == "" && cfg.TargetMode != TargetModeURL {
		file = DefaultRequestSourceFile
	}
	return map[string]any{
		"min-rps":                 cfg.MinRPS,
		"max-rps":                 cfg.MaxRPS,
		"step-rps":                cfg.StepRPS,
		"adaptive-max-latency-ms": cfg.AdaptiveMaxLatencyMillis,
		"duration":                cfg.Duration.Seconds(),
		"round-interval":          cfg.RoundInterval.Seconds(),
		"request-timeout":         cfg.RequestTimeout.Seconds(),
		"target-url":              cfg.TargetURL,
		"target-mode":             cfg.TargetMode,
		"seed":                    cfg.Seed,
		"random-sum-path":         cfg.RandomSumPath,
		"random-sum-min":          cfg.RandomSumMin,
		"random-sum-max":          cfg.RandomSumMax,
		"request-source-file":     file,
	}
}

// scenarioRoles loads -scenario, once per run, and reports what it
// defines.
func (b *builtIns) scenarioRoles(cfg Config) (script.Roles, error) {
	sess := b.session(cfg)
	if _, err := sess.Scenario(); err != nil {
		return script.Roles{}, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return script.Roles{}, err
	}
	roles, err := sess.Roles(vmc)
	if err != nil {
		return roles, fmt.Errorf("-scenario: %w", err)
	}
	return roles, nil
}

// scenarioSHA256 is the SHA-256 of -scenario as the run loaded it.
func (b *builtIns) scenarioSHA256(cfg Config) (string, error) {
	sc, err := b.session(cfg).Scenario()
	if err != nil {
		return "", fmt.Errorf("-scenario: %w", err)
	}
	sum := sc.SHA256()
	return hex.EncodeToString(sum[:]), nil
}

// newLuaSource builds the Lua request source: cfg.LuaVMs VMs, each with
// its own state and seed.
func (b *builtIns) newLuaSource(cfg Config) (*script.ReloadableSource, error) {
	sess := b.session(cfg)
	if _, err := sess.Scenario(); err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return nil, err
	}
	src, err := sess.RequestSource(vmc, cfg.LuaVMs)
	return src, flagErrors(err)
}

// newLuaCalculator builds the Lua load calculator.
func (b *builtIns) newLuaCalculator(cfg Config) (*script.ReloadableCalculator, error) {
	sess := b.session(cfg)
	if _, err := sess.Scenario(); err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return nil, err
	}
	calc, err := sess.LoadCalculator(vmc)
	return calc, flagErrors(err)
}
