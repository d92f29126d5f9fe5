package script

import (
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/internal/lualib"
)

// Errors a call can wrap; test with errors.Is.
var (
	// ErrTimeLimit: the call ran longer than VMConfig.CallTimeout.
	ErrTimeLimit = errors.New("call time limit exceeded")
	// ErrMemoryLimit: the heap grew by more than VMConfig.MemoryLimit
	// during the call.
	ErrMemoryLimit = errors.New("memory limit exceeded")
	// ErrClosed: the VM was closed.
	ErrClosed = errors.New("VM is closed")
)

// limitError is a call that broke a limit. Its text names the scenario
// position and the limit; errors.Is matches ErrTimeLimit or ErrMemoryLimit.
type limitError struct {
	msg  string
	kind error
}

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return e.kind }

// ready rebuilds the Lua state when an earlier call broke a limit.
func (v *VM) ready() error {
	if v.L == nil {
		return ErrClosed
	}
	if v.broken == nil && v.ctx.Err() == nil {
		return nil
	}
	cause := v.broken
	if err := v.init(); err != nil {
		v.broken = err
		return fmt.Errorf("rebuilding the VM after %v: %w", cause, err)
	}
	return nil
}

// call runs fn(arg) (no argument when arg is nil) under the VM's limits,
// leaving nret results on the stack when it succeeds. what names the call
// in errors, for example "request()".
func (v *VM) call(what string, fn *lua.LFunction, nret int, arg lua.LValue) error {
	L := v.L
	L.Push(fn)
	nargs := 0
	if arg != nil {
		L.Push(arg)
		nargs = 1
	}
	v.g.begin()
	err := L.PCall(nargs, nret, nil)
	broke := v.g.end()
	if broke != limitNone {
		if err == nil {
			L.Pop(nret)
		}
		lerr := v.limitError(what, fn, broke, err)
		v.broken = lerr
		return lerr
	}
	if err != nil {
		return v.luaError(what, fn, err)
	}
	return nil
}

// limitError builds the error of a call that broke a limit, positioned
// where the call was interrupted when that is known.
func (v *VM) limitError(what string, fn *lua.LFunction, broke limitKind, err error) error {
	pos := ""
	if err != nil {
		pos = position(errText(err))
	}
	if pos == "" {
		pos = funcPosition(v.s.name, fn)
	}
	if broke == limitMemory && v.g.budget.Over() != "" {
		return &limitError{
			msg:  fmt.Sprintf("%s: %s (in %s)", pos, v.g.budget.Over(), what),
			kind: ErrMemoryLimit,
		}
	}
	if broke == limitMemory {
		return &limitError{
			msg:  fmt.Sprintf("%s: %s exceeded the memory limit of %s", pos, what, lualib.FormatBytes(v.cfg.MemoryLimit)),
			kind: ErrMemoryLimit,
		}
	}
	return &limitError{
		msg:  fmt.Sprintf("%s: %s exceeded the %s call time limit", pos, what, v.cfg.CallTimeout),
		kind: ErrTimeLimit,
	}
}

// luaError turns a failed call's error into "file:line: message (in
// what)". Messages without a position get the position of fn.
func (v *VM) luaError(what string, fn *lua.LFunction, err error) error {
	msg := errText(err)
	if strings.HasSuffix(msg, "stack overflow") {
		msg += fmt.Sprintf(" (calls nested deeper than %d: runaway recursion?)", MaxCallDepth)
	}
	if position(msg) == "" {
		return fmt.Errorf("%s: %s failed: %s", funcPosition(v.s.name, fn), what, msg)
	}
	return fmt.Errorf("%s (in %s)", msg, what)
}

// errText is the message of a Lua error without gopher-lua's traceback.
func errText(err error) string {
	var aerr *lua.ApiError
	if errors.As(err, &aerr) && aerr.Object != nil {
		return aerr.Object.String()
	}
	return err.Error()
}

// position returns the leading "file.lua:line" of a message, or "".
func position(msg string) string {
	i := strings.Index(msg, ".lua:")
	if i < 0 {
		return ""
	}
	j := i + len(".lua:")
	k := j
	for k < len(msg) && msg[k] >= '0' && msg[k] <= '9' {
		k++
	}
	if k == j || k >= len(msg) || msg[k] != ':' || strings.ContainsAny(msg[:i], " \t\n") {
		return ""
	}
	return msg[:k]
}

// funcPosition is "file.lua:line" of where fn is defined, or the scenario
// name when that is unknown (the top level, a Go function).
func funcPosition(name string, fn *lua.LFunction) string {
	if fn == nil || fn.Proto == nil || fn.Proto.LineDefined == 0 {
		return name
	}
	return fmt.Sprintf("%s:%d", fn.Proto.SourceName, fn.Proto.LineDefined)
}
