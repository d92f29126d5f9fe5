package lualib

import (
	"context"
	"log/slog"
	"math"
	"slices"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// ModuleLog is imager.log: structured logging to the orchestrator's log.
//
//	local log = require("imager.log")
//	log.info("picked user", {id = 42, tier = "gold"})
//
// log.debug(msg [, fields]), log.info(msg [, fields]),
// log.warn(msg [, fields]), log.error(msg [, fields])
//
//	Writes one record at that level with message msg (a string) to the
//	orchestrator's slog logger, which adds the scenario's name itself.
//	Nothing is returned; logging never fails because of a field value.
//	Records below the orchestrator's log level are dropped at once, before
//	fields are looked at, so debug logging in request() is cheap when
//	disabled.
//
//	fields is an optional table whose entries become attributes, sorted by
//	key. Keys: strings as they are, numbers as their text, other keys as
//	their type name. Values: strings, integers (integral numbers), floats
//	and booleans map directly; json.null becomes an empty value; a table
//	is written as its compact JSON text (as json.encode, or
//	"<unencodable: reason>" when it cannot be encoded); functions and
//	other values are written as their type name.
const ModuleLog = "imager.log"

// logLoader returns the loader of imager.log bound to env.
func logLoader(env *Env) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"debug": env.logAt(slog.LevelDebug, "imager.log.debug"),
			"info":  env.logAt(slog.LevelInfo, "imager.log.info"),
			"warn":  env.logAt(slog.LevelWarn, "imager.log.warn"),
			"error": env.logAt(slog.LevelError, "imager.log.error"),
		}))
		return 1
	}
}

// logAt returns the Lua function logging at level.
func (e *Env) logAt(level slog.Level, fn string) lua.LGFunction {
	return func(L *lua.LState) int {
		msg := checkString(L, 1, fn, "msg")
		fields := optTable(L, 2, fn, "fields")
		if e.Logger == nil {
			return 0
		}
		ctx := L.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		if !e.Logger.Enabled(ctx, level) {
			return 0
		}
		e.Logger.LogAttrs(ctx, level, msg, logAttrs(L, fields, e.budget())...)
		return 0
	}
}

// logAttrs converts a fields table into attributes sorted by key.
func logAttrs(L *lua.LState, fields *lua.LTable, budget *Budget) []slog.Attr {
	if fields == nil {
		return nil
	}
	var attrs []slog.Attr
	null := jsonNull(L)
	fields.ForEach(func(k, v lua.LValue) {
		var key string
		switch kk := k.(type) {
		case lua.LString:
			key = string(kk)
		case lua.LNumber:
			key = formatNumber(float64(kk))
		default:
			key = kk.Type().String()
		}
		attrs = append(attrs, logAttr(L, key, v, null, budget))
	})
	slices.SortFunc(attrs, func(a, b slog.Attr) int { return strings.Compare(a.Key, b.Key) })
	return attrs
}

// logAttr converts one field.
func logAttr(L *lua.LState, key string, v, null lua.LValue, budget *Budget) slog.Attr {
	switch x := v.(type) {
	case lua.LString:
		return slog.String(key, string(x))
	case lua.LBool:
		return slog.Bool(key, bool(x))
	case lua.LNumber:
		f := float64(x)
		if f == math.Trunc(f) && math.Abs(f) <= maxExactInt {
			return slog.Int64(key, int64(f))
		}
		return slog.Float64(key, f)
	case *lua.LTable:
		s, err := encodeJSON(L, x, "", budget, "imager.log")
		if err != nil {
			return slog.String(key, "<unencodable: "+err.Error()+">")
		}
		return slog.String(key, s)
	}
	if v == null {
		return slog.Any(key, nil)
	}
	return slog.String(key, v.Type().String())
}
