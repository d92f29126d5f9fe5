package script

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
	"github.com/yuin/gopher-lua/pm"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// riskyWork is the estimated matcher work (steps) above which one pattern
// search runs on a helper goroutine the call can abandon: Lua patterns
// backtrack, so a search can take time polynomial in the subject's length
// with the number of quantifiers as the exponent, and Go code cannot be
// interrupted by the VM's context.
const riskyWork = 1e7

// ctxCheckEvery is how many gsub/gmatch steps run between context checks.
const ctxCheckEvery = 256

// patternWork estimates the steps of one unanchored search over n bytes:
// (n+1) start positions times n per quantifier ('*', '+', '-', '?', %b
// and back references %1-%9). It over-counts quantifier characters inside
// sets, which is safe.
func patternWork(n int, pattern string) float64 {
	q := 0
	for i := 0; i < len(pattern); i++ {
		switch pattern[i] {
		case '%':
			i++
			if i < len(pattern) && (pattern[i] == 'b' || pattern[i] >= '0' && pattern[i] <= '9') {
				q++
			}
		case '*', '+', '-', '?':
			q++
		}
	}
	return math.Pow(float64(n+1), float64(q+1))
}

// findOne returns the first match of pattern in src at or after offset, or
// nil. A risky search runs on a helper goroutine; if the call's limit
// cancels the VM's context first, findOne raises an error and abandons the
// helper, which finishes on its own (it only reads the immutable string).
func (v *VM) findOne(L *lua.LState, pattern, src string, offset int) *pm.MatchData {
	b := unsafe.Slice(unsafe.StringData(src), len(src))
	if patternWork(len(src)-offset, pattern) <= riskyWork {
		mds, err := pm.Find(pattern, b, offset, 1)
		if err != nil {
			L.RaiseError("%s", err.Error())
		}
		if len(mds) == 0 {
			return nil
		}
		return mds[0]
	}
	type result struct {
		mds []*pm.MatchData
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		defer func() {
			if p := recover(); p != nil {
				r.err = fmt.Errorf("pattern matching failed: %v", p)
			}
			done <- r
		}()
		r.mds, r.err = pm.Find(pattern, b, offset, 1)
	}()
	select {
	case r := <-done:
		if r.err != nil {
			L.RaiseError("%s", r.err.Error())
		}
		if len(r.mds) == 0 {
			return nil
		}
		return r.mds[0]
	case <-v.ctx.Done():
		L.RaiseError("pattern matching interrupted")
		return nil
	}
}

// pushCaptures pushes a match's captures (or the whole match when the
// pattern has none, if whole is set) and returns how many it pushed.
func pushCaptures(L *lua.LState, md *pm.MatchData, src string, whole bool) int {
	if md.CaptureLength() <= 2 {
		if !whole {
			return 0
		}
		L.Push(lua.LString(src[md.Capture(0):md.Capture(1)]))
		return 1
	}
	n := 0
	for i := 2; i < md.CaptureLength(); i += 2 {
		if md.IsPosCapture(i) {
			L.Push(lua.LNumber(md.Capture(i)))
		} else {
			L.Push(lua.LString(src[md.Capture(i):md.Capture(i+1)]))
		}
		n++
	}
	return n
}

// startIndex converts a Lua start index (1-based, negative from the end)
// into a byte offset, clamped at 0.
func startIndex(n, i int) int {
	switch {
	case i > 0:
		return i - 1
	case i < 0:
		return max(n+i, 0)
	default:
		return 0
	}
}

// strFind is string.find(s, pattern [, init [, plain]]).
func (v *VM) strFind(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	init := startIndex(len(str), L.OptInt(3, 1))
	if init > len(str) {
		L.Push(lua.LNil)
		return 1
	}
	if L.OptBool(4, false) || pattern == "" || !strings.ContainsAny(pattern, "^$*+?.([%-") {
		pos := strings.Index(str[init:], pattern)
		if pos < 0 {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(lua.LNumber(init + pos + 1))
		L.Push(lua.LNumber(init + pos + len(pattern)))
		return 2
	}
	md := v.findOne(L, pattern, str, init)
	if md == nil {
		L.Push(lua.LNil)
		return 1
	}
	L.Push(lua.LNumber(md.Capture(0) + 1))
	L.Push(lua.LNumber(md.Capture(1)))
	return 2 + pushCaptures(L, md, str, false)
}

// strMatch is string.match(s, pattern [, init]).
func (v *VM) strMatch(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	init := startIndex(len(str), L.OptInt(3, 1))
	if init > len(str) {
		L.Push(lua.LNil)
		return 1
	}
	md := v.findOne(L, pattern, str, init)
	if md == nil {
		L.Push(lua.LNil)
		return 1
	}
	return pushCaptures(L, md, str, true)
}

// strGmatch is string.gmatch(s, pattern): an iterator that finds one match
// per call, so a huge subject never holds every match at once.
func (v *VM) strGmatch(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	anchored := strings.HasPrefix(pattern, "^")
	pos, done := 0, false
	L.Push(L.NewFunction(func(L *lua.LState) int {
		if done || pos > len(str) {
			return 0
		}
		md := v.findOne(L, pattern, str, pos)
		if md == nil || anchored {
			done = true
		}
		if md == nil {
			return 0
		}
		start, end := md.Capture(0), md.Capture(1)
		pos = max(start+1, end)
		return pushCaptures(L, md, str, true)
	}))
	return 1
}

// strGsub is string.gsub(s, pattern, repl [, n]) with Lua 5.1 semantics,
// built in one pass (gopher-lua's own copies the string per match) and
// bounded by MaxStringBytes; it checks the call's context as it goes.
func (v *VM) strGsub(L *lua.LState) int {
	str := L.CheckString(1)
	pattern := L.CheckString(2)
	L.CheckTypes(3, lua.LTString, lua.LTNumber, lua.LTTable, lua.LTFunction)
	repl := L.Get(3)
	limit := L.OptInt(4, -1)
	anchored := strings.HasPrefix(pattern, "^")
	var out []byte
	pos, count := 0, 0
	for (limit < 0 || count < limit) && pos <= len(str) {
		if count%ctxCheckEvery == ctxCheckEvery-1 && v.ctx.Err() != nil {
			L.RaiseError("string.gsub interrupted")
		}
		md := v.findOne(L, pattern, str, pos)
		if md == nil {
			break
		}
		start, end := md.Capture(0), md.Capture(1)
		out = v.appendBounded(L, out, str[pos:start])
		out = v.appendReplacement(L, out, md, str, repl)
		count++
		pos = end
		if end == start {
			if start < len(str) {
				out = v.appendBounded(L, out, str[start:start+1])
			}
			pos = start + 1
		}
		if anchored {
			break
		}
	}
	if pos < len(str) {
		out = v.appendBounded(L, out, str[pos:])
	}
	L.Push(lua.LString(unsafe.String(unsafe.SliceData(out), len(out)))) // out is not used again
	L.Push(lua.LNumber(count))
	return 2
}

// appendBounded appends s to out unless that passes MaxStringBytes. It
// grows out itself, charging each new buffer to the call's budget.
func (v *VM) appendBounded(L *lua.LState, out []byte, s string) []byte {
	n := len(out) + len(s)
	if n > v.cfg.MaxStringBytes {
		L.RaiseError("string.gsub: the result would exceed the string limit of %s", lualib.FormatBytes(int64(v.cfg.MaxStringBytes)))
	}
	if n > cap(out) {
		size := min(max(2*cap(out), n, 64), v.cfg.MaxStringBytes)
		v.env.Budget.Charge(L, "string.gsub", int64(size))
		grown := make([]byte, len(out), size)
		copy(grown, out)
		out = grown
	}
	return append(out, s...)
}

// capture returns capture k of a match as a string (k 0 is the whole
// match; 1 is the whole match too when the pattern has no captures).
func capture(L *lua.LState, md *pm.MatchData, src string, k int) string {
	if k == 0 || (k == 1 && md.CaptureLength() <= 2) {
		return src[md.Capture(0):md.Capture(1)]
	}
	i := 2 * k
	if i+1 >= md.CaptureLength() {
		L.RaiseError("invalid capture index %%%d", k)
	}
	if md.IsPosCapture(i) {
		return strconv.Itoa(md.Capture(i))
	}
	return src[md.Capture(i):md.Capture(i+1)]
}

// appendReplacement appends what repl makes of one match.
func (v *VM) appendReplacement(L *lua.LState, out []byte, md *pm.MatchData, src string, repl lua.LValue) []byte {
	var val lua.LValue
	switch r := repl.(type) {
	case lua.LString, lua.LNumber:
		tpl := r.String()
		for tpl != "" {
			i := strings.IndexByte(tpl, '%')
			if i < 0 || i == len(tpl)-1 {
				return v.appendBounded(L, out, tpl)
			}
			out = v.appendBounded(L, out, tpl[:i])
			if d := tpl[i+1]; d >= '0' && d <= '9' {
				out = v.appendBounded(L, out, capture(L, md, src, int(d-'0')))
			} else {
				out = v.appendBounded(L, out, tpl[i+1:i+2])
			}
			tpl = tpl[i+2:]
		}
		return out
	case *lua.LTable:
		val = L.GetTable(r, firstCapture(md, src))
	case *lua.LFunction:
		L.Push(r)
		n := pushCaptures(L, md, src, true)
		L.Call(n, 1)
		val = L.Get(-1)
		L.Pop(1)
	}
	switch x := val.(type) {
	case *lua.LNilType:
		return v.appendBounded(L, out, src[md.Capture(0):md.Capture(1)])
	case lua.LBool:
		if !bool(x) {
			return v.appendBounded(L, out, src[md.Capture(0):md.Capture(1)])
		}
	case lua.LString, lua.LNumber:
		return v.appendBounded(L, out, x.String())
	}
	L.RaiseError("string.gsub: invalid replacement value (a %s)", val.Type())
	return out
}

// firstCapture is the table key gsub looks up: the first capture, or the
// whole match when the pattern has none.
func firstCapture(md *pm.MatchData, src string) lua.LValue {
	if md.CaptureLength() <= 2 {
		return lua.LString(src[md.Capture(0):md.Capture(1)])
	}
	if md.IsPosCapture(2) {
		return lua.LNumber(md.Capture(2))
	}
	return lua.LString(src[md.Capture(2):md.Capture(3)])
}
