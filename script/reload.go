package script

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// ReloadObserver is told the outcome of every change of the scenario file
// that Session.Watch sees (*metrics.Orchestrator is one).
type ReloadObserver interface {
	ScenarioReloaded(accepted bool)
}

// WatchConfig configures Session.Watch.
type WatchConfig struct {
	// Interval is how often the file is read; it must be positive.
	Interval time.Duration
	// Logger receives a line for every change seen; nil means
	// slog.Default().
	Logger *slog.Logger
	// Observer, when set, is told whether each change was accepted.
	Observer ReloadObserver
}

// Watch reads the scenario file every Interval until ctx ends. When its
// content differs from the version last seen, Watch compiles it and builds
// a new version of every request source and load calculator the session
// has built, each with the VM settings of the running one, and queues them
// to take over at their next BeginRound. Nothing is queued unless all of
// them build: a version that fails is rejected and the running one stays.
// Reading the file anew each time follows the symlink Kubernetes swaps
// when it updates a ConfigMap volume. Watch returns nil when ctx ends, and
// the load error when the session's scenario never loaded.
func (s *Session) Watch(ctx context.Context, cfg WatchConfig) error {
	first, err := s.Scenario()
	if err != nil {
		return err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &watcher{s: s, cfg: cfg, sum: first.SHA256()}
	t := time.NewTicker(cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			w.check()
		}
	}
}

// watcher is the state of one Watch: the hash of the version last seen.
type watcher struct {
	s   *Session
	cfg WatchConfig
	sum [sha256.Size]byte
}

// check reloads the scenario if its content changed. The one read gives
// both the hash and the code compiled.
func (w *watcher) check() {
	path, log := w.s.path, w.cfg.Logger
	f, err := readScenarioFile(path)
	if err != nil {
		// Mid-swap or removed: keep running what we have.
		log.Warn("scenario file unreadable; keeping the running version", "scenario", path, "error", err)
		return
	}
	sum := f.sum()
	if sum == w.sum {
		return
	}
	w.sum = sum
	err = w.s.reload(f)
	if w.cfg.Observer != nil {
		w.cfg.Observer.ScenarioReloaded(err == nil)
	}
	if err != nil {
		log.Error("scenario update rejected; keeping the running version", "scenario", path, "error", err)
		return
	}
	log.Info("scenario updated; the new version takes over at the next round", "scenario", path)
}

// reload compiles f and offers a new version of every role built, or none.
func (s *Session) reload(f *scenarioFile) error {
	sc, err := f.compile()
	if err != nil {
		return err
	}
	s.mu.Lock()
	sources := append([]*ReloadableSource(nil), s.sources...)
	calcs := append([]*ReloadableCalculator(nil), s.calcs...)
	s.mu.Unlock()
	// Building runs the new version's top level and setup: outside the
	// lock, so that a slow setup holds up no other caller.
	var newSources []*RequestSource
	var newCalcs []*LoadCalculator
	discard := func() {
		closeAll(newSources)
		closeAll(newCalcs)
	}
	for _, r := range sources {
		src, err := NewRequestSource(sc, r.cfg, r.vms)
		if err != nil {
			discard()
			return err
		}
		newSources = append(newSources, src)
	}
	for _, r := range calcs {
		calc, err := NewLoadCalculator(sc, r.cfg)
		if err != nil {
			discard()
			return err
		}
		newCalcs = append(newCalcs, calc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		discard()
		return errSessionClosed
	}
	for i, r := range sources {
		r.offer(newSources[i])
	}
	for i, r := range calcs {
		r.offer(newCalcs[i])
	}
	return nil
}

// closeAll closes every element of vs.
func closeAll[T interface{ Close() }](vs []T) {
	for _, v := range vs {
		v.Close()
	}
}

// swapper holds the running version of a reloadable role and the reloaded
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

// ReloadableSource is a Lua request source, built by a Session, that a
// reloaded scenario replaces at a round boundary. Like every
// types.RequestSource, it is for one goroutine at a time.
type ReloadableSource struct {
	swapper[*RequestSource]
	cfg VMConfig
	vms int
}

var (
	_ types.BatchSource = (*ReloadableSource)(nil)
	_ types.RoundHook   = (*ReloadableSource)(nil)
)

// Next implements types.RequestSource.
func (l *ReloadableSource) Next() (types.RequestSpec, error) { return l.get().Next() }

// NextBatch implements types.BatchSource.
func (l *ReloadableSource) NextBatch(n int) ([]types.RequestSpec, error) {
	return l.get().NextBatch(n)
}

// Reset implements types.RequestSource.
func (l *ReloadableSource) Reset() error { return l.get().Reset() }

// BeginRound switches to a reloaded scenario, if one is waiting.
func (l *ReloadableSource) BeginRound(int64) { l.swap(nil) }

// ReloadableCalculator is a Lua load calculator, built by a Session, that
// a reloaded scenario replaces at a round boundary; the new version
// continues the round count, elapsed time and last result (see
// LoadCalculator.ContinueFrom).
type ReloadableCalculator struct {
	swapper[*LoadCalculator]
	cfg VMConfig
}

var (
	_ types.Calculator     = (*ReloadableCalculator)(nil)
	_ types.LoadCalculator = (*ReloadableCalculator)(nil)
	_ types.Observer       = (*ReloadableCalculator)(nil)
	_ types.RoundHook      = (*ReloadableCalculator)(nil)
)

// NextRate implements types.Calculator.
func (l *ReloadableCalculator) NextRate(round int64) (int, bool, error) {
	return l.get().NextRate(round)
}

// Next implements types.LoadCalculator (see LoadCalculator.Next).
func (l *ReloadableCalculator) Next() int { return l.get().Next() }

// Observe implements types.Observer.
func (l *ReloadableCalculator) Observe(o types.RoundStats) { l.get().Observe(o) }

// Err returns the error that ended the test, or nil.
func (l *ReloadableCalculator) Err() error { return l.get().Err() }

// BeginRound switches to a reloaded scenario, if one is waiting.
func (l *ReloadableCalculator) BeginRound(int64) {
	l.swap(func(next, cur *LoadCalculator) { next.ContinueFrom(cur) })
}
