package script

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/types"
)

// requestFields lists the fields of a request table, for error messages.
const requestFields = "method, path, query, headers, body, name, expect"

// converter holds scratch space reused by every conversion of one VM.
type converter struct {
	keys   []string
	buf    []byte
	values []string
	digits []byte // integers formatted by concat
}

// convError is a conversion error: "file:line: what returned ...".
func (v *VM) convError(fn *lua.LFunction, format string, args ...any) error {
	return fmt.Errorf("%s: %s", funcPosition(v.s.name, fn), fmt.Sprintf(format, args...))
}

// toRequest converts request()'s return value.
func (v *VM) toRequest(ret lua.LValue) (types.RequestSpec, error) {
	fn := v.request
	t, ok := ret.(*lua.LTable)
	if !ok {
		return types.RequestSpec{}, v.convError(fn, "request() returned %s, want a table {%s}", describe(ret), requestFields)
	}
	var spec types.RequestSpec
	var query, headers, expect lua.LValue = lua.LNil, lua.LNil, lua.LNil
	for k, val := t.Next(lua.LNil); k != lua.LNil; k, val = t.Next(k) {
		name, ok := k.(lua.LString)
		if !ok {
			return spec, v.convError(fn, "request() returned a table with key %s: want only the fields %s", describe(k), requestFields)
		}
		var err error
		switch name {
		case "method":
			// An empty method is refused, not taken for GET.
			spec.Method, err = v.stringField(fn, "method", val, "an HTTP method name such as \"GET\"", false)
		case "path":
			spec.Path, err = v.stringField(fn, "path", val, "a string starting with '/'", true)
		case "query":
			query = val
		case "headers":
			headers = val
		case "body":
			spec.Body, err = v.stringField(fn, "body", val, "a string", true)
		case "name":
			spec.Name, err = v.stringField(fn, "name", val, "a string", true)
		case "expect":
			expect = val
		default:
			err = v.convError(fn, "request() returned field %q: unknown field (want %s)", string(name), requestFields)
		}
		if err != nil {
			return spec, err
		}
	}
	if spec.Method == "" {
		spec.Method = "GET"
	}
	var err error
	if query != lua.LNil {
		if spec.QueryString, err = v.encodeQuery(query); err != nil {
			return spec, v.convError(fn, "request() returned query: %v", err)
		}
	}
	if headers != lua.LNil {
		if spec.Headers, err = v.toHeaders(headers); err != nil {
			return spec, v.convError(fn, "request() returned headers: %v", err)
		}
	}
	// The same rules as every request source: sent as written or refused.
	// The checks are validated when converted, once per table.
	if err := spec.Validate(); err != nil {
		return spec, v.convError(fn, "request() returned a request that cannot be sent as written: %v", err)
	}
	if expect != lua.LNil {
		if spec.Expect, err = v.toExpect(expect); err != nil {
			return spec, v.convErrors(fn, "request() returned ", err)
		}
	}
	return spec, nil
}

// stringField reads a string field of a request table; empty is refused
// unless emptyOK.
func (v *VM) stringField(fn *lua.LFunction, field string, val lua.LValue, want string, emptyOK bool) (string, error) {
	s, ok := val.(lua.LString)
	if !ok || (s == "" && !emptyOK) {
		return "", v.convError(fn, "request() returned %s %s: want %s", field, describe(val), want)
	}
	return string(s), nil
}

// convErrors is convError for each problem err joins: every line of the
// message says where the request table comes from.
func (v *VM) convErrors(fn *lua.LFunction, prefix string, err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return v.convError(fn, "%s%v", prefix, err)
	}
	errs := j.Unwrap()
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = v.convErrors(fn, prefix, e)
	}
	return errors.Join(out...)
}

// encodeQuery turns a query string or table into a query string. A table's
// keys are sorted; a list value repeats its key (a=1&a=2).
func (v *VM) encodeQuery(q lua.LValue) (string, error) {
	switch x := q.(type) {
	case lua.LString:
		return strings.TrimPrefix(string(x), "?"), nil
	case *lua.LTable:
	default:
		return "", fmt.Errorf("got %s, want a string or a table of name = value", describe(q))
	}
	t := q.(*lua.LTable)
	c := &v.conv
	c.keys = c.keys[:0]
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		name, ok := k.(lua.LString)
		if !ok {
			return "", fmt.Errorf("key %s: want string names", describe(k))
		}
		c.keys = append(c.keys, string(name))
	}
	slices.Sort(c.keys)
	b := c.buf[:0]
	for _, name := range c.keys {
		val := t.RawGetString(name)
		if list, ok := val.(*lua.LTable); ok {
			n := list.Len()
			if n == 0 {
				if k, _ := list.Next(lua.LNil); k != lua.LNil {
					return "", fmt.Errorf("%q is a table with names: want a value or a list of values", name)
				}
				return "", fmt.Errorf("%q is an empty table: want a value or a non-empty list", name)
			}
			for i := 1; i <= n; i++ {
				var err error
				if b, err = appendParam(b, name, list.RawGetInt(i)); err != nil {
					return "", err
				}
			}
			continue
		}
		var err error
		if b, err = appendParam(b, name, val); err != nil {
			return "", err
		}
	}
	c.buf = b
	return string(b), nil
}

// appendParam appends "&name=value" (no '&' first), escaped.
func appendParam(b []byte, name string, val lua.LValue) ([]byte, error) {
	if len(b) > 0 {
		b = append(b, '&')
	}
	b = appendQueryEscape(b, name)
	b = append(b, '=')
	switch x := val.(type) {
	case lua.LString:
		return appendQueryEscape(b, string(x)), nil
	case lua.LNumber:
		return appendNumber(b, float64(x)), nil
	case lua.LBool:
		return strconv.AppendBool(b, bool(x)), nil
	}
	return b, fmt.Errorf("%q is %s: want a string, number, boolean or a list of them", name, describe(val))
}

// appendNumber appends a Lua number as tostring shows it: integers without
// a fraction.
func appendNumber(b []byte, f float64) []byte {
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.AppendInt(b, int64(f), 10)
	}
	return strconv.AppendFloat(b, f, 'g', 14, 64)
}

// appendQueryEscape appends s escaped as url.QueryEscape does.
func appendQueryEscape(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b = append(b, c)
		case c == ' ':
			b = append(b, '+')
		default:
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return b
}

// toHeaders converts the headers table: name -> string, number, or a list
// of them.
func (v *VM) toHeaders(h lua.LValue) (map[string][]string, error) {
	t, ok := h.(*lua.LTable)
	if !ok {
		return nil, fmt.Errorf("got %s, want a table of name = value", describe(h))
	}
	c := &v.conv
	c.values = c.values[:0]
	c.keys = c.keys[:0]
	for k, val := t.Next(lua.LNil); k != lua.LNil; k, val = t.Next(k) {
		name, ok := k.(lua.LString)
		if !ok {
			return nil, fmt.Errorf("header name %s: want a string such as \"Accept\"", describe(k))
		}
		if list, ok := val.(*lua.LTable); ok {
			n := list.Len()
			if n == 0 {
				return nil, fmt.Errorf("[%q] is an empty table: want a string or a list of strings", string(name))
			}
			for i := 1; i <= n; i++ {
				s, err := headerValue(string(name), list.RawGetInt(i))
				if err != nil {
					return nil, err
				}
				c.keys = append(c.keys, string(name))
				c.values = append(c.values, s)
			}
			continue
		}
		s, err := headerValue(string(name), val)
		if err != nil {
			return nil, err
		}
		c.keys = append(c.keys, string(name))
		c.values = append(c.values, s)
	}
	// One backing array for every value; each name gets its own slice of it.
	vals := slices.Clone(c.values)
	out := make(map[string][]string, len(vals))
	for i := 0; i < len(vals); {
		j := i + 1
		for j < len(vals) && c.keys[j] == c.keys[i] {
			j++
		}
		out[c.keys[i]] = vals[i:j:j]
		i = j
	}
	return out, nil
}

// headerValue checks one header value.
func headerValue(name string, val lua.LValue) (string, error) {
	var s string
	switch x := val.(type) {
	case lua.LString:
		s = string(x)
	case lua.LNumber:
		s = string(appendNumber(nil, float64(x)))
	default:
		return "", fmt.Errorf("[%q] is %s: want a string or a list of strings", name, describe(val))
	}
	return s, nil
}

// describe names a Lua value for an error message: its type, and short
// values themselves.
func describe(val lua.LValue) string {
	switch x := val.(type) {
	case *lua.LNilType:
		return "nil"
	case lua.LString:
		return fmt.Sprintf("a string (%q)", clip(string(x), 40))
	case lua.LNumber:
		return fmt.Sprintf("a number (%s)", x.String())
	case lua.LBool:
		return fmt.Sprintf("a boolean (%t)", bool(x))
	default:
		return "a " + val.Type().String()
	}
}
