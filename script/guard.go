package script

import (
	"context"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// guardTick is how often a running call is checked against its limits.
const guardTick = 10 * time.Millisecond

// heapMetric is the runtime metric the memory guard samples: the bytes
// held by heap objects, live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// limitKind says which limit a call broke.
type limitKind int

const (
	limitNone limitKind = iota
	limitTime
	limitMemory
)

// guard bounds the calls into one VM in time and memory. A call is
// bracketed by begin and end; while calls are running, a reusable timer
// fires every guardTick and checks the running call. A call that runs
// longer than the time limit, or during which the process heap grew by
// more than the memory limit, gets the VM's context cancelled: gopher-lua
// checks the context before every instruction, so the call fails at once.
//
// begin and end cost two uncontended lock round trips and a clock read;
// the heap is sampled only by the timer, and only for calls that are still
// running at a tick, so short calls never read it. A call's heap growth is
// therefore measured from the first tick that sees it (at most guardTick
// after it began), and the guard acts at tick granularity: it is a sampler,
// not a hard cap, and a single huge allocation can overshoot the limit
// before the next tick.
//
// The precise part of the memory limit is budget: the built-ins that can
// build a large string or table charge their result to it before
// allocating, and a charge past the limit breaks the call at once. Each
// tick corrects the budget with the measured heap growth, so that garbage
// the collector freed stops counting (see sample).
type guard struct {
	timeout time.Duration
	memory  uint64
	cancel  context.CancelFunc
	timer   *time.Timer
	epoch   time.Time
	budget  *lualib.Budget

	mu      sync.Mutex
	armed   bool          // the timer is pending or its callback running
	active  bool          // a call is running
	seq     uint64        // counts calls
	start   time.Duration // when the running call began, since epoch
	broke   limitKind     // the limit the running call broke
	seen    uint64        // the call the last tick saw
	base    uint64        // heap bytes when the running call was first seen
	early   int64         // budget charged before the running call was first seen
	samples []metrics.Sample
}

// newGuard returns a guard that cancels via cancel. Call stop when done.
func newGuard(timeout time.Duration, memory int64, cancel context.CancelFunc) *guard {
	g := &guard{
		timeout: timeout,
		memory:  uint64(memory),
		cancel:  cancel,
		epoch:   time.Now(),
		samples: []metrics.Sample{{Name: heapMetric}},
	}
	g.budget = lualib.NewBudget(memory, g.overBudget)
	g.timer = time.AfterFunc(time.Hour, g.tick)
	g.timer.Stop()
	return g
}

// begin marks the start of a call and makes sure the timer runs.
func (g *guard) begin() {
	now := time.Since(g.epoch)
	g.mu.Lock()
	g.active = true
	g.seq++
	g.start = now
	g.broke = limitNone
	g.budget.Reset()
	if !g.armed {
		g.armed = true
		g.timer.Reset(guardTick)
	}
	g.mu.Unlock()
}

// end marks the end of the running call and reports the limit it broke, if
// any. The timer stops by itself at its next tick.
func (g *guard) end() limitKind {
	g.mu.Lock()
	g.active = false
	broke := g.broke
	g.mu.Unlock()
	return broke
}

// tick checks the running call, cancels it when it broke a limit, and
// re-arms the timer while calls keep running.
func (g *guard) tick() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.active || g.broke != limitNone {
		g.armed = false
		return
	}
	if time.Since(g.epoch)-g.start > g.timeout {
		g.fire(limitTime)
		return
	}
	if g.memory > 0 && g.sample() {
		g.fire(limitMemory)
		return
	}
	g.timer.Reset(guardTick)
}

// sample reads the heap and reports whether the running call grew it by
// more than the limit. It also corrects the call's budget: what the call
// used is what it charged before the first sample (assumed still live),
// plus the heap growth since, plus what it charged after this sample's
// charge snapshot (charges between the snapshot and the heap read count
// twice, which errs on the safe side). g.mu is held.
func (g *guard) sample() bool {
	charged := g.budget.Charged()
	heap := g.heap()
	if g.seen != g.seq {
		g.seen, g.base, g.early = g.seq, heap, charged
		return false
	}
	growth := uint64(0)
	if heap > g.base {
		growth = heap - g.base
	}
	if growth > g.memory {
		return true
	}
	g.budget.SetOffset(g.early + int64(growth) - charged)
	return false
}

// overBudget breaks the running call when a built-in's charge passed the
// memory limit. It runs on the VM's goroutine.
func (g *guard) overBudget() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.active && g.broke == limitNone {
		g.broke = limitMemory // the timer stops by itself at its next tick
		g.cancel()
	}
}

// fire records the broken limit and cancels the VM's context. g.mu is held.
func (g *guard) fire(kind limitKind) {
	g.broke = kind
	g.armed = false
	g.cancel()
}

// heap samples the process's heap object bytes. g.mu is held.
func (g *guard) heap() uint64 {
	return readHeap(g.samples)
}

// readHeap reads heapMetric into samples (one element) and returns it.
func readHeap(samples []metrics.Sample) uint64 {
	metrics.Read(samples)
	if samples[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return samples[0].Value.Uint64()
}

// stop stops the timer for good.
func (g *guard) stop() {
	g.mu.Lock()
	g.active = false
	g.timer.Stop()
	g.armed = false
	g.mu.Unlock()
}
