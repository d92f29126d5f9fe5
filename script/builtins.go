package script

import (
	"fmt"
	"sort"
	"strings"
	"unicode/utf8"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// maxResults bounds how many values one built-in call may return (unpack,
// string.byte): each is a stack slot, and the stack holds registryMax.
// C Lua allows about 8000.
const maxResults = registryMax / 4

// valueBytes is what one Lua value costs in a slice or an array part.
const valueBytes = 16

// openBuiltinLimits replaces the base, table and string functions that can
// build a large string or table, or loop for long in Go, where the VM's
// context is not checked: table.concat, table.sort, unpack, string.char,
// string.byte, string.upper, string.lower and string.reverse. Each charges
// its result to the call's memory budget before allocating it, and the
// long ones check the call's time limit as they go. string.rep, format and
// gsub are bounded in strlimit.go and patterns.go; `..` in concat.go.
func (v *VM) openBuiltinLimits(g *lua.LTable) error {
	L := v.L
	tab, ok := g.RawGetString("table").(*lua.LTable)
	if !ok {
		return fmt.Errorf("opening the Lua table library: no table table")
	}
	str, ok := g.RawGetString("string").(*lua.LTable)
	if !ok {
		return fmt.Errorf("opening the Lua string library: no string table")
	}
	tab.RawSetString("concat", L.NewFunction(v.tableConcat))
	tab.RawSetString("sort", L.NewFunction(v.tableSort))
	g.RawSetString("unpack", L.NewFunction(unpack))
	str.RawSetString("char", L.NewFunction(v.strChar))
	str.RawSetString("reverse", L.NewFunction(v.strReverse))
	for name, conv := range map[string]func(string) string{"upper": strings.ToUpper, "lower": strings.ToLower} {
		str.RawSetString(name, L.NewFunction(v.strCase("string."+name, conv)))
	}
	if orig, ok := str.RawGetString("byte").(*lua.LFunction); ok && orig.IsG {
		str.RawSetString("byte", L.NewFunction(strByte(orig.GFunction)))
	}
	return nil
}

// tableConcat is table.concat(t [, sep [, i [, j]]]) with gopher-lua's
// handling of i and j (clamped to 1..#t), built in one allocation whose
// size is charged first. gopher-lua's own pushed every element and
// separator on the stack, copying it thousands of times.
func (v *VM) tableConcat(L *lua.LState) int {
	const fn = "table.concat"
	t := L.CheckTable(1)
	sep := L.OptString(2, "")
	n := t.Len()
	i := L.OptInt(3, 1)
	j := L.OptInt(4, n)
	if L.GetTop() == 3 && (i > n || i < 1) {
		L.Push(lua.LString(""))
		return 1
	}
	i, j = max(min(i, n), 1), min(j, n)
	if i > j {
		L.Push(lua.LString(""))
		return 1
	}
	total := int64(j-i) * int64(len(sep))
	for k := i; k <= j; k++ {
		if k%ctxCheckEvery == 0 {
			lualib.CheckTime(L, fn)
		}
		switch x := t.RawGetInt(k).(type) {
		case lua.LString:
			total += int64(len(x))
		case lua.LNumber:
			total += int64(len(x.String()))
		default:
			L.RaiseError("invalid value (%s) at index %d in table for concat", x.Type(), k)
		}
	}
	v.env.Budget.Charge(L, fn, total)
	var b strings.Builder
	b.Grow(int(total))
	for k := i; k <= j; k++ {
		if k > i {
			b.WriteString(sep)
		}
		b.WriteString(lua.LVAsString(t.RawGetInt(k)))
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// unpack is unpack(t [, i [, j]]) with at most maxResults values: Lua 5.1
// fails with "too many results to unpack" too, and gopher-lua's own ran
// for tens of seconds on unpack({}, 1, 1e8) before overflowing the stack.
func unpack(L *lua.LState) int {
	t := L.CheckTable(1)
	i := L.OptInt(2, 1)
	j := L.OptInt(3, t.Len())
	if i > j {
		return 0
	}
	if n := float64(j) - float64(i) + 1; n > maxResults {
		L.RaiseError("too many results to unpack (%.0f values, at most %d)", n, maxResults)
	}
	for k := i; k <= j; k++ {
		L.Push(t.RawGetInt(k))
	}
	return j - i + 1
}

// strByte wraps string.byte: more than maxResults values is an error.
func strByte(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		s := L.CheckString(1)
		if len(s) > maxResults && L.GetTop() > 2 {
			i, j := L.OptInt(2, 1), L.OptInt(3, -1)
			if i < 0 {
				i += len(s) + 1
			}
			if j < 0 {
				j += len(s) + 1
			}
			if n := min(j, len(s)) - max(i, 1) + 1; n > maxResults {
				L.RaiseError("string.byte: too many results (%d values, at most %d)", n, maxResults)
			}
		}
		return orig(L)
	}
}

// strChar is string.char(...), with its result charged first.
func (v *VM) strChar(L *lua.LState) int {
	n := L.GetTop()
	v.env.Budget.Charge(L, "string.char", int64(n))
	b := make([]byte, n)
	for i := 1; i <= n; i++ {
		b[i-1] = uint8(L.CheckInt(i))
	}
	L.Push(lua.LString(b))
	return 1
}

// strReverse is string.reverse(s), built in one charged allocation.
func (v *VM) strReverse(L *lua.LState) int {
	s := L.CheckString(1)
	v.env.Budget.Charge(L, "string.reverse", int64(len(s)))
	var b strings.Builder
	b.Grow(len(s))
	for i := len(s) - 1; i >= 0; i-- {
		b.WriteByte(s[i])
	}
	L.Push(lua.LString(b.String()))
	return 1
}

// strCase is string.upper or string.lower with the result charged first:
// the size of s when it is ASCII, three times that otherwise (Go writes
// each invalid byte as a three-byte U+FFFD).
func (v *VM) strCase(fn string, conv func(string) string) lua.LGFunction {
	return func(L *lua.LState) int {
		s := L.CheckString(1)
		size := int64(len(s))
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				size *= 3
				break
			}
		}
		v.env.Budget.Charge(L, fn, size)
		L.Push(lua.LString(conv(s)))
		return 1
	}
}

// tableSort is table.sort(t [, less]) over t[1..#t], checking the call's
// time limit every ctxCheckEvery comparisons: gopher-lua's own sorted in
// Go, where a long sort could not be interrupted. Without less, numbers
// and strings compare directly and other values through __lt.
func (v *VM) tableSort(L *lua.LState) int {
	t := L.CheckTable(1)
	var less *lua.LFunction
	if L.GetTop() > 1 {
		less = L.CheckFunction(2)
	}
	n := t.Len()
	v.env.Budget.Charge(L, "table.sort", int64(n)*valueBytes)
	s := &luaSorter{L: L, less: less, vals: make([]lua.LValue, n)}
	for i := range n {
		s.vals[i] = t.RawGetInt(i + 1)
	}
	sort.Sort(s)
	for i, val := range s.vals {
		t.RawSetInt(i+1, val)
	}
	return 0
}

// luaSorter sorts Lua values for table.sort.
type luaSorter struct {
	L     *lua.LState
	less  *lua.LFunction
	vals  []lua.LValue
	steps int
}

func (s *luaSorter) Len() int      { return len(s.vals) }
func (s *luaSorter) Swap(i, j int) { s.vals[i], s.vals[j] = s.vals[j], s.vals[i] }

func (s *luaSorter) Less(i, j int) bool {
	s.steps++
	if s.steps%ctxCheckEvery == 0 {
		lualib.CheckTime(s.L, "table.sort")
	}
	a, b := s.vals[i], s.vals[j]
	if s.less != nil {
		s.L.Push(s.less)
		s.L.Push(a)
		s.L.Push(b)
		s.L.Call(2, 1)
		ret := lua.LVAsBool(s.L.Get(-1))
		s.L.Pop(1)
		return ret
	}
	if x, ok := a.(lua.LNumber); ok {
		if y, ok := b.(lua.LNumber); ok {
			return x < y
		}
	}
	if x, ok := a.(lua.LString); ok {
		if y, ok := b.(lua.LString); ok {
			return x < y
		}
	}
	return s.L.LessThan(a, b)
}
