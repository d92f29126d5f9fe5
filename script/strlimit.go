package script

import (
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// maxFormatDigits is the most digits a string.format width or precision
// may have, as in C Lua: widths and precisions stay below 100.
const maxFormatDigits = 2

// formatArgGuess is the size assumed for a formatted non-string value.
const formatArgGuess = 32

// openStringLimits replaces the string functions that can build huge
// strings or run for unbounded time in Go, where the call time limit cannot
// interrupt them: rep and format get size bounds; find, match, gmatch and
// gsub get guarded pattern matching (patterns.go). string.dump is removed.
func (v *VM) openStringLimits(t *lua.LTable) {
	L := v.L
	origFormat, _ := t.RawGetString("format").(*lua.LFunction)
	t.RawSetString("rep", L.NewFunction(v.strRep))
	if origFormat != nil && origFormat.IsG {
		t.RawSetString("format", L.NewFunction(v.strFormat(origFormat.GFunction)))
	}
	t.RawSetString("find", L.NewFunction(v.strFind))
	t.RawSetString("match", L.NewFunction(v.strMatch))
	gmatch := L.NewFunction(v.strGmatch)
	t.RawSetString("gmatch", gmatch)
	t.RawSetString("gfind", gmatch)
	t.RawSetString("gsub", L.NewFunction(v.strGsub))
	t.RawSetString("dump", lua.LNil)
}

// strRep is string.rep(s, n) with the result bounded by MaxStringBytes.
func (v *VM) strRep(L *lua.LState) int {
	s := L.CheckString(1)
	n := L.CheckInt(2)
	if n <= 0 || s == "" {
		L.Push(lua.LString(""))
		return 1
	}
	if n > v.cfg.MaxStringBytes/len(s) {
		L.RaiseError("string.rep: the result (%d x %d bytes) would exceed the string limit of %s",
			n, len(s), lualib.FormatBytes(int64(v.cfg.MaxStringBytes)))
	}
	v.env.Budget.Charge(L, "string.rep", int64(n)*int64(len(s)))
	L.Push(lua.LString(strings.Repeat(s, n)))
	return 1
}

// strFormat wraps gopher-lua's string.format: widths and precisions have at
// most two digits (as in C Lua) and the result, estimated before anything
// is built, must fit MaxStringBytes.
func (v *VM) strFormat(orig lua.LGFunction) lua.LGFunction {
	return func(L *lua.LState) int {
		f := L.CheckString(1)
		size := len(f)
		arg := 2
		for i := 0; i < len(f); i++ {
			if f[i] != '%' {
				continue
			}
			i++
			if i < len(f) && f[i] == '%' {
				continue
			}
			for i < len(f) && (f[i] == '-' || f[i] == '+' || f[i] == ' ' || f[i] == '#' || f[i] == '0') {
				i++
			}
			width, digits := 0, 0
			for ; i < len(f) && f[i] >= '0' && f[i] <= '9'; i++ {
				width = width*10 + int(f[i]-'0')
				digits++
			}
			prec, pdigits := 0, 0
			if i < len(f) && f[i] == '.' {
				for i++; i < len(f) && f[i] >= '0' && f[i] <= '9'; i++ {
					prec = prec*10 + int(f[i]-'0')
					pdigits++
				}
			}
			if digits > maxFormatDigits || pdigits > maxFormatDigits {
				L.RaiseError("string.format: invalid format %q (width or precision too long: at most %d digits)", clip(f, 40), maxFormatDigits)
			}
			size += width + prec
			if s, ok := L.Get(arg).(lua.LString); ok {
				size += len(s)
			} else {
				size += formatArgGuess
			}
			arg++
		}
		if size > v.cfg.MaxStringBytes {
			L.RaiseError("string.format: the result (about %d bytes) would exceed the string limit of %s",
				size, lualib.FormatBytes(int64(v.cfg.MaxStringBytes)))
		}
		// gopher-lua formats into a buffer and copies it: twice the size.
		v.env.Budget.Charge(L, "string.format", 2*int64(size))
		return orig(L)
	}
}

// clip shortens s for an error message.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
