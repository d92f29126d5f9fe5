package lualib

import (
	"fmt"
	"sync/atomic"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// ctxCheckEvery is how many loop steps a long built-in runs between checks
// of the call's context (its time limit).
const ctxCheckEvery = 1024

// Budget is the memory one call into Lua may still allocate. The host makes
// one per VM, resets it when a call begins, and hands it to the modules
// through Env.Budget; every built-in that can build a large string or table
// charges the size of its result before allocating it, so that a result
// larger than what the call has left fails with a Lua error instead of
// being built.
//
// The charges are an upper bound of what the call allocated (garbage
// included). A host that samples the real heap growth of the call may
// correct the account with SetOffset, so that garbage the collector has
// freed stops counting. Charged and SetOffset may run on another goroutine
// than the call; the rest is for the VM's goroutine.
type Budget struct {
	limit   int64
	charged atomic.Int64 // bytes charged since Reset
	offset  atomic.Int64 // correction added to charged by the host's sampler
	onOver  func()
	over    string // the message of the charge that broke the limit
}

// NewBudget returns a budget of limit bytes per call (limit <= 0 means no
// limit). onOver, if not nil, runs on the VM's goroutine when a charge
// breaks the limit, before the Lua error is raised.
func NewBudget(limit int64, onOver func()) *Budget {
	return &Budget{limit: limit, onOver: onOver}
}

// Limit is the budget of one call in bytes.
func (b *Budget) Limit() int64 { return b.limit }

// Reset starts the account of a new call.
func (b *Budget) Reset() {
	b.charged.Store(0)
	b.offset.Store(0)
	b.over = ""
}

// Charged is the total charged since Reset.
func (b *Budget) Charged() int64 { return b.charged.Load() }

// SetOffset sets the correction added to the charges: the call's use is
// then Charged() + offset (never below zero).
func (b *Budget) SetOffset(offset int64) { b.offset.Store(offset) }

// Used is what the call has used of its budget.
func (b *Budget) Used() int64 {
	return max(b.charged.Load()+b.offset.Load(), 0)
}

// Over returns the message of the charge that broke the limit since the
// last Reset, or "".
func (b *Budget) Over() string { return b.over }

// Charge records that fn is about to allocate n bytes, or raises the Lua
// error "fn: result of n bytes exceeds the memory limit of M" when that
// would pass what the call has left. A nil Budget charges nothing.
func (b *Budget) Charge(L *lua.LState, fn string, n int64) {
	if b == nil || b.limit <= 0 {
		return
	}
	used := b.Used()
	if n > b.limit-used {
		msg := fmt.Sprintf("%s: result of %d bytes exceeds the memory limit of %s", fn, n, FormatBytes(b.limit))
		if used > 0 {
			msg += fmt.Sprintf(" (the call has already used %s)", FormatBytes(used))
		}
		b.over = msg
		if b.onOver != nil {
			b.onOver()
		}
		L.RaiseError("%s", msg)
	}
	b.charged.Add(n)
}

// Grow returns buf with room for n more bytes. When that needs a new
// buffer (twice the old one, or more if n needs it), its size is charged
// to b for fn before it is allocated.
func (b *Budget) Grow(L *lua.LState, fn string, buf []byte, n int) []byte {
	need := len(buf) + n
	if need <= cap(buf) {
		return buf
	}
	size := max(2*cap(buf), need, 64)
	b.Charge(L, fn, int64(size))
	grown := make([]byte, len(buf), size)
	copy(grown, buf)
	return grown
}

// CheckTime raises "fn: interrupted by the call time limit" when the call's
// context (L.Context) is done. Long built-ins call it every few thousand
// steps of their loops.
func CheckTime(L *lua.LState, fn string) {
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		L.RaiseError("%s: interrupted by the call's limits", fn)
	}
}

// FormatBytes renders a byte count as MiB, KiB or bytes, whichever is
// exact, rounding to a tenth of a MiB above 1 MiB otherwise.
func FormatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	default:
		return fmt.Sprintf("%d bytes", n)
	}
}

// budget is the VM's budget, nil when the host gave none.
func (e *Env) budget() *Budget {
	if e == nil {
		return nil
	}
	return e.Budget
}

// bytesString returns b as a string without copying it; b must not be
// changed afterwards.
func bytesString(b []byte) string {
	return unsafe.String(unsafe.SliceData(b), len(b))
}
