package lualib

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ModuleJSON is imager.json: JSON encoding and decoding.
//
//	local json = require("imager.json")
//
// json.encode(value [, options]) -> string
//
//	Encodes value as JSON text. nil and json.null become null, booleans,
//	strings and numbers map directly (integral numbers print without a
//	fraction: 3, not 3.0; NaN and infinities are an error). A table is an
//	array when its keys are exactly 1..n (n >= 1), or when it is marked by
//	json.array; otherwise it is an object. An empty unmarked table is {}.
//	Object keys must be strings or numbers (numbers are written as strings,
//	1 -> "1"; a clash such as 1 and "1" is an error) and are written in
//	sorted byte order, so the same value always gives the same text.
//	Strings are bytes: invalid UTF-8 is replaced by U+FFFD, control
//	characters are escaped, nothing else is (no HTML escaping).
//	Errors name the path of the offending value, e.g.
//	"imager.json.encode: $.user.tags[2]: cannot encode a function", and
//	cover functions, userdata, coroutines, tables that contain themselves
//	("cycle") and nesting deeper than 1000 levels.
//	options is a table: indent = true indents nested values by two spaces
//	per level, indent = "<string>" by that string; default compact output
//	with no spaces.
//
// json.decode(text) -> value
//
//	Decodes one JSON value; text after it other than white space is an
//	error. Objects become tables with string keys (inserted in sorted
//	order, so pairs() is repeatable), arrays become
//	lists marked as arrays (see json.array), numbers become Lua numbers
//	(integers stay integral; beyond 2^53 they lose precision), and null
//	becomes json.null, never nil, so arrays keep their length and objects
//	keep their keys. Syntax errors give the 1-based position of the byte
//	where decoding failed, e.g. "invalid JSON at byte 7: invalid character
//	'}' looking for beginning of value".
//
// json.null
//
//	The sentinel that stands for JSON null: compare with v == json.null.
//	tostring(json.null) is "null". It is the same value in every module of
//	one VM (imager.data.json returns it too).
//
// json.array([list]) -> list
//
//	Marks list (default: a new empty table) so json.encode writes it as an
//	array even when empty; returns the same table. The mark is a metatable
//	with no metamethods. A marked table may only have integer keys >= 1;
//	missing positions up to the largest key are written as null.
const ModuleJSON = "imager.json"

// Registry keys of the per-VM JSON sentinels.
const (
	regJSONNull  = "imager.json.null"
	regJSONArray = "imager.json.array"
)

// maxJSONDepth bounds json.encode nesting.
const maxJSONDepth = 1000

// jsonLoader returns the loader of imager.json bound to env.
func jsonLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		mod := newModule(L, map[string]lua.LGFunction{
			"encode": env.jsonEncode,
			"decode": env.jsonDecode,
			"array":  jsonArray,
		})
		mod.RawSetString("null", jsonNull(L))
		L.Push(mod)
		return 1
	}
}

// jsonNull returns this VM's json.null sentinel, creating it once.
func jsonNull(L *lua.LState) lua.LValue {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v := reg.RawGetString(regJSONNull); v != lua.LNil {
		return v
	}
	ud := L.NewUserData()
	mt := L.CreateTable(0, 2)
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("null"))
		return 1
	}))
	mt.RawSetString("__metatable", lua.LString("imager.json.null"))
	ud.Metatable = mt
	reg.RawSetString(regJSONNull, ud)
	return ud
}

// jsonArrayMeta returns this VM's array-marker metatable, creating it once.
func jsonArrayMeta(L *lua.LState) *lua.LTable {
	reg := L.Get(lua.RegistryIndex).(*lua.LTable)
	if v, ok := reg.RawGetString(regJSONArray).(*lua.LTable); ok {
		return v
	}
	mt := L.CreateTable(0, 1)
	mt.RawSetString("__name", lua.LString("imager.json.array"))
	reg.RawSetString(regJSONArray, mt)
	return mt
}

func jsonArray(L *lua.LState) int {
	t := optTable(L, 1, "imager.json.array", "list")
	if t == nil {
		t = L.NewTable()
	}
	t.Metatable = jsonArrayMeta(L)
	L.Push(t)
	return 1
}

func (e *Env) jsonEncode(L *lua.LState) int {
	const fn = "imager.json.encode"
	if L.GetTop() == 0 {
		raise(L, fn, "argument #1 (value) is missing")
	}
	v := L.Get(1)
	indent := ""
	if opts := optTable(L, 2, fn, "options"); opts != nil {
		switch iv := opts.RawGetString("indent").(type) {
		case lua.LBool:
			if iv {
				indent = "  "
			}
		case lua.LString:
			indent = string(iv)
		case *lua.LNilType:
		default:
			raise(L, fn, "options.indent must be a boolean or a string, got %s", iv.Type())
		}
	}
	out, err := encodeJSON(L, v, indent, e.budget(), fn)
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(lua.LString(out))
	return 1
}

func (e *Env) jsonDecode(L *lua.LState) int {
	const fn = "imager.json.decode"
	text := checkString(L, 1, fn, "text")
	e.budget().Charge(L, fn, decodeCost(text))
	v, err := decodeJSON(L, []byte(text))
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(v)
	return 1
}

// jsonValueCost is what json.decode costs per value: encoding/json's
// interface and map or slice slot, then the Lua table slot and the boxed
// value; a list of a million numbers or short strings peaked at 80 to 95
// bytes of resident memory per value.
const jsonValueCost = 128

// decodeCost estimates the bytes json.decode allocates for text: the copy
// of the text, the strings taken from it, and jsonValueCost per value (one
// more than the commas and opening brackets outside strings).
func decodeCost(text string) int64 {
	values, inString := int64(1), false
	for i := 0; i < len(text); i++ {
		c := text[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == ',' || c == '[' || c == '{'):
			values++
		}
	}
	return 2*int64(len(text)) + values*jsonValueCost
}

// decodeJSON parses data into Lua values as json.decode does. encoding/json
// cannot be interrupted, so when the call has a context the parse runs on
// a helper goroutine that the call abandons if its limits stop it; the
// conversion into Lua checks the time limit as it goes.
func decodeJSON(L *lua.LState, data []byte) (lua.LValue, error) {
	v, err := unmarshalAbandonable(L, data)
	if err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, fmt.Errorf("invalid JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
		}
		return nil, fmt.Errorf("invalid JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
	}
	steps := 0
	return goToLua(L, v, jsonNull(L), jsonArrayMeta(L), &steps), nil
}

// unmarshalAbandonable is json.Unmarshal into an any, abandoned with a Lua
// error when L's context is done first. The helper goroutine only reads
// data and finishes on its own.
func unmarshalAbandonable(L *lua.LState, data []byte) (any, error) {
	ctx := L.Context()
	if ctx == nil {
		var v any
		err := json.Unmarshal(data, &v)
		return v, err
	}
	type result struct {
		v   any
		err error
	}
	done := make(chan result, 1)
	go func() {
		var r result
		r.err = json.Unmarshal(data, &r.v)
		done <- r
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		CheckTime(L, "imager.json.decode")
		return nil, ctx.Err()
	}
}

// goToLua converts a value produced by encoding/json into Lua.
// steps counts converted values, for time checks.
func goToLua(L *lua.LState, v any, null lua.LValue, arrayMT *lua.LTable, steps *int) lua.LValue {
	*steps++
	if *steps%ctxCheckEvery == 0 {
		CheckTime(L, "imager.json.decode")
	}
	switch x := v.(type) {
	case nil:
		return null
	case bool:
		return lua.LBool(x)
	case float64:
		return lua.LNumber(x)
	case string:
		return lua.LString(x)
	case []any:
		t := L.CreateTable(len(x), 0)
		for _, el := range x {
			t.Append(goToLua(L, el, null, arrayMT, steps))
		}
		t.Metatable = arrayMT
		return t
	case map[string]any:
		t := L.CreateTable(0, len(x))
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			t.RawSetString(k, goToLua(L, x[k], null, arrayMT, steps))
		}
		return t
	}
	return lua.LNil
}
