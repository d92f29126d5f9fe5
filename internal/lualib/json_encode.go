package lualib

// The JSON encoder behind json.encode (documented on ModuleJSON) and the
// table rendering of imager.log.

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
	"unsafe"

	lua "github.com/yuin/gopher-lua"
)

// encodeJSON encodes v as json.encode does. The output buffer is charged
// to budget (nil: no limit) for fn as it grows, and the call's time limit
// is checked as values are written.
func encodeJSON(L *lua.LState, v lua.LValue, indent string, budget *Budget, fn string) (string, error) {
	e := &jsonEncoder{
		L:       L,
		budget:  budget,
		fn:      fn,
		null:    jsonNull(L),
		arrayMT: jsonArrayMeta(L),
		indent:  indent,
	}
	return e.encode(v)
}

// EncodeJSON encodes v compactly by the rules of json.encode (see
// ModuleJSON), for Go code that reads a Lua value after a call into Lua
// has returned: nothing is charged to a memory budget and no time limit
// is checked, so it never raises a Lua error. An error names the path of
// the bad value, for example "$.a[2]: cannot encode a function".
func EncodeJSON(L *lua.LState, v lua.LValue) (string, error) {
	e := &jsonEncoder{
		L:       L,
		fn:      "imager.json.encode",
		null:    jsonNull(L),
		arrayMT: jsonArrayMeta(L),
		untimed: true,
	}
	return e.encode(v)
}

// encode writes v and returns the text, or an error naming the path of
// the value that cannot be encoded.
func (e *jsonEncoder) encode(v lua.LValue) (string, error) {
	if err := e.value(v, 0); err != nil {
		var pe *jsonPathError
		if errors.As(err, &pe) {
			slices.Reverse(pe.segs)
			return "", fmt.Errorf("$%s: %s", strings.Join(pe.segs, ""), pe.msg)
		}
		return "", err
	}
	return bytesString(e.buf), nil
}

// jsonPathError is an encoding failure with the path to the bad value,
// collected innermost first while the recursion unwinds.
type jsonPathError struct {
	segs []string
	msg  string
}

func (e *jsonPathError) Error() string { return e.msg }

// jsonEncoder writes Lua values as JSON into buf.
type jsonEncoder struct {
	L       *lua.LState
	budget  *Budget
	fn      string
	charged int // the capacity of buf already charged
	steps   int // values written, for time checks
	null    lua.LValue
	arrayMT lua.LValue
	indent  string
	untimed bool // never check the call's time limit (EncodeJSON)
	buf     []byte
	open    []*lua.LTable // tables being encoded (outermost first), for cycle detection
}

func (e *jsonEncoder) fail(format string, args ...any) error {
	return &jsonPathError{msg: fmt.Sprintf(format, args...)}
}

// room makes room for n more bytes in buf, charging a new buffer first.
func (e *jsonEncoder) room(n int) {
	e.buf = e.budget.Grow(e.L, e.fn, e.buf, n)
	e.charged = cap(e.buf)
}

func (e *jsonEncoder) value(v lua.LValue, depth int) error {
	e.steps++
	if e.steps%ctxCheckEvery == 0 && !e.untimed {
		CheckTime(e.L, e.fn)
	}
	e.room(32)
	defer e.account()
	switch x := v.(type) {
	case *lua.LNilType:
		e.buf = append(e.buf, "null"...)
	case lua.LBool:
		e.buf = strconv.AppendBool(e.buf, bool(x))
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return e.fail("cannot encode %s (JSON has no NaN or infinity)", formatNumber(f))
		}
		e.buf = appendJSONNumber(e.buf, f)
	case lua.LString:
		e.room(len(x) + 2)
		e.buf = appendJSONString(e.buf, string(x))
	case *lua.LTable:
		return e.table(x, depth)
	default:
		if v == e.null {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.fail("cannot encode a %s", v.Type())
	}
	return nil
}

// account charges buf's capacity when an append outside room grew it
// (escapes, indentation): at most a few times the last charged size.
func (e *jsonEncoder) account() {
	if c := cap(e.buf); c > e.charged {
		e.budget.Charge(e.L, e.fn, int64(c))
		e.charged = c
	}
}

// jsonKey is an object member ready to be sorted and written.
type jsonKey struct {
	name string
	val  lua.LValue
}

func (e *jsonEncoder) table(t *lua.LTable, depth int) error {
	if slices.Contains(e.open, t) {
		return e.fail("cycle: the table contains itself")
	}
	if depth >= maxJSONDepth {
		return e.fail("nesting deeper than %d levels", maxJSONDepth)
	}
	e.open = append(e.open, t)
	defer func() { e.open = e.open[:len(e.open)-1] }()

	forced := t.Metatable == e.arrayMT
	count, maxIndex, allIndex := 0, 0, true
	t.ForEach(func(k, _ lua.LValue) {
		count++
		if n, ok := k.(lua.LNumber); ok && float64(n) >= 1 && float64(n) == math.Trunc(float64(n)) && float64(n) <= maxExactInt {
			maxIndex = max(maxIndex, int(n))
			return
		}
		allIndex = false
	})
	if forced {
		if !allIndex {
			return e.fail("table marked by json.array has a key that is not an integer >= 1")
		}
		return e.array(t, maxIndex, depth)
	}
	if count > 0 && allIndex && maxIndex == count {
		return e.array(t, maxIndex, depth)
	}
	return e.object(t, count, depth)
}

func (e *jsonEncoder) array(t *lua.LTable, n, depth int) error {
	e.buf = append(e.buf, '[')
	for i := 1; i <= n; i++ {
		if i > 1 {
			e.buf = append(e.buf, ',')
		}
		e.newline(depth + 1)
		if err := e.value(t.RawGetInt(i), depth+1); err != nil {
			return withSeg(err, "["+strconv.Itoa(i)+"]")
		}
	}
	if n > 0 {
		e.newline(depth)
	}
	e.buf = append(e.buf, ']')
	return nil
}

func (e *jsonEncoder) object(t *lua.LTable, count, depth int) error {
	e.budget.Charge(e.L, e.fn, int64(count)*int64(unsafe.Sizeof(jsonKey{})))
	keys := make([]jsonKey, 0, count)
	var bad lua.LValue
	t.ForEach(func(k, v lua.LValue) {
		switch kk := k.(type) {
		case lua.LString:
			keys = append(keys, jsonKey{string(kk), v})
		case lua.LNumber:
			keys = append(keys, jsonKey{formatNumber(float64(kk)), v})
		default:
			bad = k
		}
	})
	if bad != nil {
		return e.fail("object key must be a string or a number, got a %s", bad.Type())
	}
	slices.SortFunc(keys, func(a, b jsonKey) int { return strings.Compare(a.name, b.name) })
	e.buf = append(e.buf, '{')
	for i, k := range keys {
		if i > 0 {
			if keys[i-1].name == k.name {
				return e.fail("two keys both encode as %q", k.name)
			}
			e.buf = append(e.buf, ',')
		}
		e.newline(depth + 1)
		e.buf = appendJSONString(e.buf, k.name)
		e.buf = append(e.buf, ':')
		if e.indent != "" {
			e.buf = append(e.buf, ' ')
		}
		if err := e.value(k.val, depth+1); err != nil {
			return withSeg(err, keySegment(k.name))
		}
	}
	if len(keys) > 0 {
		e.newline(depth)
	}
	e.buf = append(e.buf, '}')
	return nil
}

// newline starts a new indented line when indenting.
func (e *jsonEncoder) newline(depth int) {
	if e.indent == "" {
		return
	}
	e.buf = append(e.buf, '\n')
	for range depth {
		e.buf = append(e.buf, e.indent...)
	}
}

// withSeg adds one path segment to a path error on its way out.
func withSeg(err error, seg string) error {
	if pe, ok := err.(*jsonPathError); ok {
		pe.segs = append(pe.segs, seg)
	}
	return err
}

// keySegment renders an object key as .name or ["name"] in error paths.
func keySegment(name string) string {
	ident := name != ""
	for i, r := range name {
		if !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			ident = false
			break
		}
	}
	if ident {
		return "." + name
	}
	return "[" + strconv.Quote(name) + "]"
}

// appendJSONNumber writes a finite number: integers without fraction, others
// in the shortest form that round-trips.
func appendJSONNumber(buf []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1e21 {
		return strconv.AppendFloat(buf, f, 'f', -1, 64)
	}
	abs := math.Abs(f)
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		return strconv.AppendFloat(buf, f, 'e', -1, 64)
	}
	return strconv.AppendFloat(buf, f, 'f', -1, 64)
}

// appendJSONString writes s as a JSON string literal.
func appendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			buf = append(buf, `\ufffd`...)
		} else {
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
