package app

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/metrics"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/script"
	"github.com/PeladoCollado/imager/types"
)

// builtIns builds the built-in request sources and load calculators.
// Scenario VMs log to log (nil: slog.Default()) and read the time from now
// (nil: the wall clock; a dry run passes a simulated one).
type builtIns struct {
	log *slog.Logger
	now func() time.Time
}

// vmConfig is the Lua VM configuration the flags ask for.
func (b builtIns) vmConfig(cfg Config) (script.VMConfig, error) {
	opts, err := cfg.ScenarioOptionMap()
	if err != nil {
		return script.VMConfig{}, fmt.Errorf("-scenario-options: %w", err)
	}
	log := b.log
	if log == nil {
		log = slog.Default()
	}
	return script.VMConfig{
		Seed:        seedOf(cfg),
		Options:     opts,
		Flags:       scenarioFlags(cfg),
		Logger:      log,
		CallTimeout: cfg.LuaCallTimeout,
		MemoryLimit: int64(cfg.LuaMemoryLimitMB) << 20,
		Now:         b.now,
	}, nil
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

// scenarioRoles loads -scenario and reports what it defines.
func (b builtIns) scenarioRoles(cfg Config) (script.Roles, error) {
	s, err := script.Load(cfg.Scenario)
	if err != nil {
		return script.Roles{}, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return script.Roles{}, err
	}
	vmc.Logger = nil // a probe: its setup's log lines would repeat
	roles, err := s.Validate(vmc)
	if err != nil {
		return roles, fmt.Errorf("-scenario: %w", err)
	}
	return roles, nil
}

// newLuaSource builds the Lua request source: cfg.LuaVMs VMs, each with
// its own state and seed.
func (b builtIns) newLuaSource(cfg Config) (*luaSource, error) {
	s, err := script.Load(cfg.Scenario)
	if err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return nil, err
	}
	src, err := script.NewRequestSource(s, vmc, cfg.LuaVMs)
	if err != nil {
		return nil, err
	}
	l := &luaSource{}
	l.cur = src
	return l, nil
}

// newLuaCalculator builds the Lua load calculator.
func (b builtIns) newLuaCalculator(cfg Config) (*luaCalculator, error) {
	s, err := script.Load(cfg.Scenario)
	if err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	vmc, err := b.vmConfig(cfg)
	if err != nil {
		return nil, err
	}
	calc, err := script.NewLoadCalculator(s, vmc)
	if err != nil {
		return nil, err
	}
	l := &luaCalculator{}
	l.cur = calc
	return l, nil
}

// swapper holds the running version of a Lua role and the reloaded
// version waiting to take over at the next round boundary.
type swapper[T interface{ Close() }] struct {
	mu      sync.Mutex
	cur     T
	next    T
	pending bool
}

// get returns the running version.
func (w *swapper[T]) get() T {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.cur
}

// offer queues v to take over at the next round, replacing any version
// still waiting.
func (w *swapper[T]) offer(v T) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.pending {
		w.next.Close()
	}
	w.next, w.pending = v, true
}

// swap makes the waiting version the running one, if there is one; carry
// may hand state from the old version to the new one first.
func (w *swapper[T]) swap(carry func(next, cur T)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.pending {
		return
	}
	if carry != nil {
		carry(w.next, w.cur)
	}
	w.cur.Close()
	w.cur, w.pending = w.next, false
	var zero T
	w.next = zero
}

// close releases both versions.
func (w *swapper[T]) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.cur.Close()
	if w.pending {
		w.next.Close()
		w.pending = false
	}
}

// luaSource is a Lua request source that a reloaded scenario can replace
// at a round boundary. Calls into it come from the scheduler's goroutine.
type luaSource struct {
	swapper[*script.RequestSource]
}

var (
	_ types.RequestSource   = (*luaSource)(nil)
	_ manager.BatchSource   = (*luaSource)(nil)
	_ manager.RoundBeginner = (*luaSource)(nil)
)

// Next implements types.RequestSource.
func (l *luaSource) Next() (types.RequestSpec, error) { return l.get().Next() }

// NextBatch implements manager.BatchSource.
func (l *luaSource) NextBatch(n int) ([]types.RequestSpec, error) { return l.get().NextBatch(n) }

// Reset implements types.RequestSource.
func (l *luaSource) Reset() error { return l.get().Reset() }

// BeginRound switches to a reloaded scenario, if one is waiting.
func (l *luaSource) BeginRound(int64) { l.swap(nil) }

// luaCalculator is a Lua load calculator that a reloaded scenario can
// replace at a round boundary; the new version continues the round count,
// elapsed time and last result.
type luaCalculator struct {
	swapper[*script.LoadCalculator]
}

var (
	_ manager.FeedbackLoadCalculator = (*luaCalculator)(nil)
	_ manager.FailingCalculator      = (*luaCalculator)(nil)
	_ manager.RoundBeginner          = (*luaCalculator)(nil)
)

// Next implements manager.LoadCalculator.
func (l *luaCalculator) Next() int { return l.get().Next() }

// Observe implements manager.FeedbackLoadCalculator.
func (l *luaCalculator) Observe(o manager.LoadObservation) { l.get().Observe(o) }

// Err implements manager.FailingCalculator.
func (l *luaCalculator) Err() error { return l.get().Err() }

// BeginRound switches to a reloaded scenario, if one is waiting.
func (l *luaCalculator) BeginRound(int64) {
	l.swap(func(next, cur *script.LoadCalculator) { next.ContinueFrom(cur) })
}

// reloader watches the scenario file and, when its content changes,
// compiles and checks the new version and queues it to take over at the
// next round. A version that fails keeps the running one.
type reloader struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics.Orchestrator
	src     *luaSource     // nil when the source is not Lua
	calc    *luaCalculator // nil when the calculator is not Lua
	sum     [sha256.Size]byte
}

// newReloader remembers the scenario's current content.
func newReloader(cfg Config, log *slog.Logger, m *metrics.Orchestrator, src *luaSource, calc *luaCalculator) (*reloader, error) {
	b, err := os.ReadFile(cfg.Scenario)
	if err != nil {
		return nil, fmt.Errorf("-scenario: %w", err)
	}
	return &reloader{cfg: cfg, log: log, metrics: m, src: src, calc: calc, sum: sha256.Sum256(b)}, nil
}

// Run checks the file every -scenario-reload-interval until ctx ends.
// Reading the file anew each time follows the symlink Kubernetes swaps when
// it updates a ConfigMap volume.
func (r *reloader) Run(ctx context.Context) error {
	t := time.NewTicker(r.cfg.ScenarioReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			r.check()
		}
	}
}

// check reloads the scenario if its content changed.
func (r *reloader) check() {
	b, err := os.ReadFile(r.cfg.Scenario)
	if err != nil {
		// Mid-swap or removed: keep running what we have.
		r.log.Warn("scenario file unreadable; keeping the running version", "scenario", r.cfg.Scenario, "error", err)
		return
	}
	sum := sha256.Sum256(b)
	if sum == r.sum {
		return
	}
	r.sum = sum
	if err := r.load(); err != nil {
		r.metrics.ScenarioReloaded(false)
		r.log.Error("scenario update rejected; keeping the running version", "scenario", r.cfg.Scenario, "error", err)
		return
	}
	r.metrics.ScenarioReloaded(true)
	r.log.Info("scenario updated; the new version takes over at the next round", "scenario", r.cfg.Scenario)
}

// load builds every Lua role from the file as it is now and queues them;
// nothing is queued unless all of them build.
func (r *reloader) load() error {
	var src *luaSource
	var calc *luaCalculator
	var err error
	if r.src != nil {
		if src, err = (builtIns{log: r.log}).newLuaSource(r.cfg); err != nil {
			return err
		}
	}
	if r.calc != nil {
		if calc, err = (builtIns{log: r.log}).newLuaCalculator(r.cfg); err != nil {
			if src != nil {
				src.close()
			}
			return err
		}
	}
	if src != nil {
		r.src.offer(src.cur)
	}
	if calc != nil {
		r.calc.offer(calc.cur)
	}
	return nil
}
