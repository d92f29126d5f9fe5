package script

import (
	"errors"
	"io/fs"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// requireHelp is appended to every "module not found" error.
const requireHelp = "allowed: imager.* modules and .lua files in the scenario folder"

// require is the sandbox's require(name). imager.* names load the lualib
// modules; any other name "a.b" loads the file "a/b.lua" of the scenario
// folder, which must resolve inside that folder and be Lua source text.
// Modules are cached per VM, like package.loaded: each VM runs a module's
// top level once and every later require returns the same value.
func (v *VM) require(L *lua.LState) int {
	name := L.CheckString(1)
	if val, ok := v.loaded[name]; ok {
		L.Push(val)
		return 1
	}
	if v.loading[name] {
		L.RaiseError("require: module '%s' requires itself (a require loop)", name)
	}
	var fn *lua.LFunction
	if strings.HasPrefix(name, "imager.") {
		loader, ok := v.loaders[name]
		if !ok {
			L.RaiseError("require: module '%s' not found (%s)", name, requireHelp)
		}
		fn = L.NewFunction(loader)
	} else {
		file, ok := moduleFile(name)
		if !ok {
			L.RaiseError("require: module '%s' not found (%s)", name, requireHelp)
		}
		proto, err := v.s.module(file)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				L.RaiseError("require: module '%s' not found (%s; no file %s)", name, requireHelp, file)
			}
			L.RaiseError("require: module '%s': %s", name, err.Error())
		}
		fn = L.NewFunctionFromProto(proto)
	}
	v.loading[name] = true
	defer delete(v.loading, name)
	L.Push(fn)
	L.Push(lua.LString(name))
	L.Call(1, 1)
	val := L.Get(-1)
	L.Pop(1)
	if val == lua.LNil {
		val = lua.LTrue
	}
	v.loaded[name] = val
	L.Push(val)
	return 1
}

// moduleFile maps a module name "a.b" to its file "a/b.lua". Each dotted
// part must be a plain name of letters, digits, '_' and '-': no empty
// parts, no path separators, no "..", so the file stays in the scenario
// folder (os.Root enforces that for symlinks too).
func moduleFile(name string) (string, bool) {
	if name == "" || len(name) > 200 {
		return "", false
	}
	parts := strings.Split(name, ".")
	for _, p := range parts {
		if p == "" {
			return "", false
		}
		for i := 0; i < len(p); i++ {
			c := p[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
				return "", false
			}
		}
	}
	return strings.Join(parts, "/") + ".lua", true
}
