package lualib

import (
	"math"
	"net/url"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ModuleURL is imager.url: escaping, query strings and URL joining.
//
//	local url = require("imager.url")
//
// url.escape(s) -> string
//
//	Escapes s for use as a query key or value: space becomes "+", every
//	byte other than A-Z a-z 0-9 - _ . ~ becomes %XX.
//
// url.unescape(s) -> string
//
//	The inverse of url.escape: "+" becomes a space and %XX a byte. Error on
//	a malformed escape such as "%zz".
//
// url.path_escape(s) -> string
//
//	Escapes s for use as one path segment: space becomes %20 and "/" is
//	escaped too (%2F), so the result never adds a path level.
//
// url.path_unescape(s) -> string
//
//	The inverse of url.path_escape ("+" stays "+"). Error on a malformed
//	escape.
//
// url.query(params) -> string
//
//	Builds a query string (no leading "?") from the table params, keys
//	sorted in byte order, keys and values escaped as url.escape does:
//	url.query({b = 2, a = "x y"}) == "a=x+y&b=2". A key is a string or a
//	number; a value is a string, a number (integral numbers print without
//	a fraction, NaN and infinities are an error) or a boolean ("true" /
//	"false"), or a list of those, which repeats the key in list order:
//	url.query({id = {1, 2}}) == "id=1&id=2". An empty list omits the key;
//	a table value that is not a list (other keys than 1..n) is an error.
//
// url.parse_query(s) -> table
//
//	Parses a query string (a leading "?" is ignored) into a table: a key
//	that appears once maps to its value (a string), a key that appears
//	several times maps to the list of its values in order. "a" alone gives
//	a = "". Error on a malformed escape or a ";" separator.
//
// url.join(base, path...) -> string
//
//	Appends one or more path elements to the path of the URL base, with
//	exactly one "/" between parts, then removes "." and ".." elements:
//	url.join("http://h:8080/api/", "/v1", "items") ==
//	"http://h:8080/api/v1/items". The query and fragment of base are kept.
//	Characters that need escaping in a path are escaped ("a b" -> a%20b).
//	A trailing "/" on the last element is kept. Error when base is not a
//	valid URL.
//
// url.parse(s) -> table
//
//	Splits an absolute or relative URL into a table with string fields
//	scheme, user (user name, "" when none), host (with port), hostname,
//	port ("" when none), path (unescaped), query (raw, without "?"),
//	fragment. Error when s is not a valid URL.
const ModuleURL = "imager.url"

// urlLoader returns the loader of imager.url bound to env. Escaping may
// triple a string: escape, path_escape, query and join charge their
// result to the call's budget before building it.
func urlLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"escape":        env.escapeCharged("imager.url.escape", urlEscape),
			"unescape":      urlUnescape,
			"path_escape":   env.escapeCharged("imager.url.path_escape", urlPathEscape),
			"path_unescape": urlPathUnescape,
			"query":         env.urlQuery,
			"parse_query":   urlParseQuery,
			"join":          env.escapeCharged("imager.url.join", urlJoin),
			"parse":         urlParse,
		}))
		return 1
	}
}

// escapeCharged charges three times the length of f's string arguments
// (what escaping them may take) before calling f.
func (e *Env) escapeCharged(fn string, f lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		n := int64(0)
		for i := 1; i <= L.GetTop(); i++ {
			if s, ok := L.Get(i).(lua.LString); ok {
				n += 3 * int64(len(s))
			}
		}
		e.budget().Charge(L, fn, n)
		return f(L)
	}
}

func urlEscape(L *lua.LState) int {
	L.Push(lua.LString(url.QueryEscape(checkString(L, 1, "imager.url.escape", "s"))))
	return 1
}

func urlUnescape(L *lua.LState) int {
	const fn = "imager.url.unescape"
	s, err := url.QueryUnescape(checkString(L, 1, fn, "s"))
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(lua.LString(s))
	return 1
}

func urlPathEscape(L *lua.LState) int {
	L.Push(lua.LString(url.PathEscape(checkString(L, 1, "imager.url.path_escape", "s"))))
	return 1
}

func urlPathUnescape(L *lua.LState) int {
	const fn = "imager.url.path_unescape"
	s, err := url.PathUnescape(checkString(L, 1, fn, "s"))
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(lua.LString(s))
	return 1
}

// queryPair is one key of url.query with its value(s).
type queryPair struct {
	key string
	val lua.LValue
}

func (e *Env) urlQuery(L *lua.LState) int {
	const fn = "imager.url.query"
	params := checkTable(L, 1, fn, "params")
	pairs := make([]queryPair, 0, 8)
	var badKey lua.LValue
	params.ForEach(func(k, v lua.LValue) {
		switch kk := k.(type) {
		case lua.LString:
			pairs = append(pairs, queryPair{string(kk), v})
		case lua.LNumber:
			pairs = append(pairs, queryPair{formatNumber(float64(kk)), v})
		default:
			badKey = k
		}
	})
	if badKey != nil {
		raise(L, fn, "keys must be strings or numbers, got a %s", badKey.Type())
	}
	slices.SortFunc(pairs, func(a, b queryPair) int { return strings.Compare(a.key, b.key) })
	buf := make([]byte, 0, 64)
	for _, p := range pairs {
		list, ok := p.val.(*lua.LTable)
		if !ok {
			buf = e.budget().Grow(L, fn, buf, queryRoom(p.key, p.val))
			if buf, ok = appendQueryPair(buf, p.key, p.val); !ok {
				raise(L, fn, "value of %s must be a string, number, boolean or a list of them, got %s", quoteKey(p.key), describeValue(p.val))
			}
			continue
		}
		n := listLen(list)
		if count := tableCount(list); count != n {
			raise(L, fn, "value of %s is a table that is not a list (it has keys other than 1..%d)", quoteKey(p.key), n)
		}
		for i := 1; i <= n; i++ {
			v := list.RawGetInt(i)
			if i%ctxCheckEvery == 0 {
				CheckTime(L, fn)
			}
			buf = e.budget().Grow(L, fn, buf, queryRoom(p.key, v))
			if buf, ok = appendQueryPair(buf, p.key, v); !ok {
				raise(L, fn, "value of %s[%d] must be a string, number, boolean or a list of them, got %s", quoteKey(p.key), i, describeValue(v))
			}
		}
	}
	L.Push(lua.LString(bytesString(buf)))
	return 1
}

// queryRoom is the most bytes appendQueryPair can append for key and v.
func queryRoom(key string, v lua.LValue) int {
	n := 3*len(key) + 32
	if s, ok := v.(lua.LString); ok {
		n += 3 * len(s)
	}
	return n
}

// appendQueryPair appends "&key=value" (no "&" first) with both escaped;
// ok is false when v is not a string, finite number or boolean.
func appendQueryPair(buf []byte, key string, v lua.LValue) ([]byte, bool) {
	var s string
	switch x := v.(type) {
	case lua.LString:
		s = string(x)
	case lua.LNumber:
		f := float64(x)
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return buf, false
		}
		s = formatNumber(f)
	case lua.LBool:
		s = "false"
		if x {
			s = "true"
		}
	default:
		return buf, false
	}
	if len(buf) > 0 {
		buf = append(buf, '&')
	}
	buf = appendQueryEscape(buf, key)
	buf = append(buf, '=')
	return appendQueryEscape(buf, s), true
}

// appendQueryEscape appends s escaped as url.QueryEscape does.
func appendQueryEscape(buf []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~':
			buf = append(buf, c)
		case c == ' ':
			buf = append(buf, '+')
		default:
			buf = append(buf, '%', hex[c>>4], hex[c&0xf])
		}
	}
	return buf
}

// describeValue names a value's type, spelling out non-finite numbers.
func describeValue(v lua.LValue) string {
	if n, ok := v.(lua.LNumber); ok {
		return "the number " + formatNumber(float64(n))
	}
	return "a " + v.Type().String()
}

// tableCount counts the non-nil entries of t.
func tableCount(t *lua.LTable) int {
	n := 0
	t.ForEach(func(_, _ lua.LValue) { n++ })
	return n
}

// quoteKey renders a key for error messages.
func quoteKey(k string) string { return `"` + k + `"` }

func urlParseQuery(L *lua.LState) int {
	const fn = "imager.url.parse_query"
	s := strings.TrimPrefix(checkString(L, 1, fn, "s"), "?")
	values, err := url.ParseQuery(s)
	if err != nil {
		raise(L, fn, "%v", err)
	}
	keys := make([]string, 0, len(values))
	for k := range values {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := L.CreateTable(0, len(keys))
	for _, k := range keys {
		vs := values[k]
		if len(vs) == 1 {
			out.RawSetString(k, lua.LString(vs[0]))
			continue
		}
		list := L.CreateTable(len(vs), 0)
		for _, v := range vs {
			list.Append(lua.LString(v))
		}
		out.RawSetString(k, list)
	}
	L.Push(out)
	return 1
}

func urlJoin(L *lua.LState) int {
	const fn = "imager.url.join"
	base := checkString(L, 1, fn, "base")
	elems := make([]string, 0, L.GetTop())
	for i := 2; i <= L.GetTop(); i++ {
		elems = append(elems, checkString(L, i, fn, "path"))
	}
	joined, err := url.JoinPath(base, elems...)
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(lua.LString(joined))
	return 1
}

func urlParse(L *lua.LState) int {
	const fn = "imager.url.parse"
	u, err := url.Parse(checkString(L, 1, fn, "s"))
	if err != nil {
		raise(L, fn, "%v", err)
	}
	t := L.CreateTable(0, 8)
	t.RawSetString("scheme", lua.LString(u.Scheme))
	t.RawSetString("user", lua.LString(u.User.Username()))
	t.RawSetString("host", lua.LString(u.Host))
	t.RawSetString("hostname", lua.LString(u.Hostname()))
	t.RawSetString("port", lua.LString(u.Port()))
	t.RawSetString("path", lua.LString(u.Path))
	t.RawSetString("query", lua.LString(u.RawQuery))
	t.RawSetString("fragment", lua.LString(u.Fragment))
	L.Push(t)
	return 1
}
