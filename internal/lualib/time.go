package lualib

import (
	"math"
	"net/http"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// ModuleTime is imager.time: clocks and timestamp formatting.
//
//	local time = require("imager.time")
//
// time.now() -> number
//
//	Wall-clock time in seconds since the Unix epoch, with a fraction
//	(microsecond resolution). Not repeatable between runs.
//
// time.now_ms() -> integer
//
//	Wall-clock time in whole milliseconds since the Unix epoch.
//
// time.monotonic() -> number
//
//	Seconds (with a fraction) since this VM started, from a clock that
//	never jumps with wall-clock changes: use it to measure durations.
//
// time.format(seconds [, layout]) -> string
//
//	Formats seconds since the epoch (fraction allowed) in UTC. layout is
//	one of the names "rfc3339" (default, 2006-01-02T15:04:05Z, no
//	fraction), "rfc3339nano" (fraction to nanoseconds, trailing zeros
//	dropped), "http" (Mon, 02 Jan 2006 15:04:05 GMT, for HTTP headers),
//	"date" (2006-01-02), "datetime" (2006-01-02 15:04:05), or otherwise a
//	Go time layout written with the reference time Mon Jan 2 15:04:05 MST
//	2006, e.g. "02/01/2006 15h04". seconds must be finite.
//
// time.parse(text [, layout]) -> number
//
//	The inverse of time.format: parses text with layout (same names and
//	default) and returns seconds since the epoch with a fraction. A text
//	without a zone is read as UTC. "rfc3339" accepts an optional fraction.
//	Error when text does not match the layout.
//
// There is no time.sleep: every call into a scenario runs under a time
// limit and the orchestrator waits for it, so blocking would only stall
// request generation or planning and then fail the call. Pacing is the
// engine's job; a scenario shapes load through the rate it returns.
const ModuleTime = "imager.time"

// namedLayout maps a layout name to its Go layout.
func namedLayout(name string) (string, bool) {
	switch name {
	case "rfc3339":
		return time.RFC3339, true
	case "rfc3339nano":
		return time.RFC3339Nano, true
	case "http":
		return http.TimeFormat, true
	case "date":
		return time.DateOnly, true
	case "datetime":
		return time.DateTime, true
	}
	return "", false
}

// timeLoader returns the loader of imager.time bound to env and the VM start.
func timeLoader(env *Env, start time.Time) lua.LGFunction {
	return func(L *lua.LState) int {
		L.Push(newModule(L, map[string]lua.LGFunction{
			"now": func(L *lua.LState) int {
				L.Push(lua.LNumber(float64(env.now().UnixMicro()) / 1e6))
				return 1
			},
			"now_ms": func(L *lua.LState) int {
				L.Push(lua.LNumber(env.now().UnixMilli()))
				return 1
			},
			"monotonic": func(L *lua.LState) int {
				L.Push(lua.LNumber(max(0, env.now().Sub(start).Seconds())))
				return 1
			},
			"format": timeFormat,
			"parse":  timeParse,
		}))
		return 1
	}
}

// layoutArg returns the Go layout for optional argument n.
func layoutArg(L *lua.LState, n int, fn string) string {
	layout := optString(L, n, fn, "layout", "rfc3339")
	if named, ok := namedLayout(layout); ok {
		return named
	}
	if layout == "" {
		raise(L, fn, "layout is empty")
	}
	return layout
}

func timeFormat(L *lua.LState) int {
	const fn = "imager.time.format"
	secs := checkFinite(L, 1, fn, "seconds")
	layout := layoutArg(L, 2, fn)
	whole := math.Floor(secs)
	if math.Abs(whole) > 1<<62/1e9 {
		raise(L, fn, "seconds (%s) is out of range", formatNumber(secs))
	}
	nanos := int64(math.Round((secs - whole) * 1e9))
	t := time.Unix(int64(whole), nanos).UTC()
	L.Push(lua.LString(t.Format(layout)))
	return 1
}

func timeParse(L *lua.LState) int {
	const fn = "imager.time.parse"
	text := checkString(L, 1, fn, "text")
	layout := layoutArg(L, 2, fn)
	t, err := time.Parse(layout, text)
	if err != nil {
		raise(L, fn, "%v", err)
	}
	L.Push(lua.LNumber(float64(t.Unix()) + float64(t.Nanosecond())/1e9))
	return 1
}
