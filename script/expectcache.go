package script

import (
	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/types"
)

// Bounds of a VM's expect cache.
const (
	// maxCachedExpects is how many expect tables a VM remembers; when
	// more come, it forgets them all and starts over.
	maxCachedExpects = 64
	// maxExpectSnapshot bounds the Lua values remembered of one expect
	// table, nested tables included; a larger one is converted anew for
	// every request.
	maxExpectSnapshot = 1024
)

// expectCache remembers the expect tables request() returned and what
// they converted to, so that a scenario returning the same table for
// every request (a table made once, at the top level or in setup) has it
// converted and validated, regular expression and JSON paths included,
// once per VM instead of per request.
//
// A table is known by its identity and checked against a snapshot of its
// contents, so a table changed in place between requests is converted
// again and never yields checks it no longer holds. The cache holds the
// tables it knows, so none is collected and its address reused while it
// is in the cache.
type expectCache struct {
	entries map[*lua.LTable]*cachedExpect
}

// cachedExpect is one converted table: the result, shared by every
// request that returns the table, and the table's snapshot.
type cachedExpect struct {
	expect *types.Expect
	snap   []lua.LValue
}

// reset forgets every table (the Lua state they belong to is gone).
func (c *expectCache) reset() { c.entries = nil }

// get returns the conversion of t when t is cached and unchanged.
func (c *expectCache) get(t *lua.LTable) *types.Expect {
	ce := c.entries[t]
	if ce == nil {
		return nil
	}
	if i, ok := sameTable(ce.snap, 0, t); !ok || i != len(ce.snap) {
		return nil
	}
	return ce.expect
}

// put remembers that t converts to e, unless t is too large to
// snapshot.
func (c *expectCache) put(t *lua.LTable, e *types.Expect) {
	snap, ok := snapshot(nil, t)
	if !ok {
		delete(c.entries, t)
		return
	}
	if c.entries == nil || len(c.entries) >= maxCachedExpects {
		c.entries = make(map[*lua.LTable]*cachedExpect)
	}
	c.entries[t] = &cachedExpect{expect: e, snap: snap}
}

// snapshot appends the contents of t to dst in traversal order: its
// metatable, then each key and value, the contents of a table value
// following it, and lua.LNil to close the table. It gives up (false)
// beyond maxExpectSnapshot values. t holds no cycle: it converted.
func snapshot(dst []lua.LValue, t *lua.LTable) ([]lua.LValue, bool) {
	dst = append(dst, t.Metatable)
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		if len(dst) > maxExpectSnapshot {
			return dst, false
		}
		dst = append(dst, k, v)
		if sub, ok := v.(*lua.LTable); ok {
			var fits bool
			if dst, fits = snapshot(dst, sub); !fits {
				return dst, false
			}
		}
	}
	return append(dst, lua.LNil), true
}

// sameTable walks t as snapshot does, comparing with snap from index i.
// It returns the index after t's part and whether every value matched.
// Values compare as Lua's rawequal does: strings and numbers by value,
// tables and other objects by identity.
func sameTable(snap []lua.LValue, i int, t *lua.LTable) (int, bool) {
	if i >= len(snap) || snap[i] != t.Metatable {
		return i, false
	}
	i++
	for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
		if i+1 >= len(snap) || snap[i] != k || snap[i+1] != v {
			return i, false
		}
		i += 2
		if sub, ok := v.(*lua.LTable); ok {
			var same bool
			if i, same = sameTable(snap, i, sub); !same {
				return i, false
			}
		}
	}
	if i >= len(snap) || snap[i] != lua.LNil {
		return i, false
	}
	return i + 1, true
}
