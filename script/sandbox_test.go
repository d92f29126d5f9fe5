package script

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// attackScenario runs attack() on the first request() call and returns a
// plain request on every later one, so a test can show the escape fails
// and the VM keeps working.
const attackScenario = `
attacked = false
function request()
  if not attacked then
    attacked = true
    attack()
  end
  return {path = "/ok"}
end
`

func TestSandboxEscapesFail(t *testing.T) {
	tests := []struct {
		name   string
		attack string
		want   []string
	}{
		{name: "io.open", attack: `return io.open("/etc/passwd")`, want: []string{"scenario.lua:2:", "io is not available in the imager sandbox"}},
		{name: "io via _G", attack: `return _G["io"].lines("/etc/passwd")`, want: []string{"io is not available"}},
		{name: "os.execute", attack: `return os.execute("id")`, want: []string{"os.execute is not available", "os has only time, clock, date and difftime"}},
		{name: "os.exit", attack: `os.exit(3)`, want: []string{"os.exit is not available"}},
		{name: "os.getenv", attack: `return os.getenv("HOME")`, want: []string{"os.getenv is not available"}},
		{name: "os.remove", attack: `return os.remove("/tmp/x")`, want: []string{"os.remove is not available"}},
		{name: "os.rename", attack: `return os.rename("/tmp/x", "/tmp/y")`, want: []string{"os.rename is not available"}},
		{name: "os.tmpname", attack: `return os.tmpname()`, want: []string{"os.tmpname is not available"}},
		{name: "debug.getinfo", attack: `return debug.getinfo(1)`, want: []string{"debug is not available"}},
		{name: "debug.sethook", attack: `debug.sethook()`, want: []string{"debug is not available"}},
		{name: "dofile", attack: `dofile("/etc/passwd")`, want: []string{"dofile is not available"}},
		{name: "loadfile", attack: `loadfile("/etc/passwd")`, want: []string{"loadfile is not available"}},
		{name: "load", attack: `load(function() return nil end)`, want: []string{"load is not available"}},
		{name: "loadstring", attack: `loadstring("return 1")()`, want: []string{"loadstring is not available"}},
		{name: "package.path", attack: `package.path = "/tmp/?.lua"`, want: []string{"package is not available"}},
		{name: "package.loadlib", attack: `package.loadlib("libc.so", "system")`, want: []string{"package is not available"}},
		{name: "module", attack: `module("x")`, want: []string{"module is not available"}},
		{name: "getfenv", attack: `return getfenv(1)`, want: []string{"getfenv is not available"}},
		{name: "setfenv", attack: `setfenv(1, {})`, want: []string{"setfenv is not available"}},
		{name: "channel", attack: `return channel.make()`, want: []string{"channel is not available"}},
		{name: "string.dump", attack: `return string.dump(request)`, want: []string{"string.dump is not available"}},
		{name: "require os", attack: `return require("os")`, want: []string{"require: module 'os' not found", "allowed: imager.* modules and .lua files in the scenario folder"}},
		{name: "require io", attack: `return require("io")`, want: []string{"require: module 'io' not found"}},
		{name: "require debug", attack: `return require("debug")`, want: []string{"require: module 'debug' not found"}},
		{name: "require absolute path", attack: `return require("/etc/passwd")`, want: []string{"require: module '/etc/passwd' not found"}},
		{name: "require parent folder", attack: `return require("../x")`, want: []string{"require: module '../x' not found"}},
		{name: "require dotted parent", attack: `return require("..x")`, want: []string{"require: module '..x' not found"}},
		{name: "require unknown imager module", attack: `return require("imager.shell")`, want: []string{"require: module 'imager.shell' not found"}},
		{name: "string.rep huge", attack: `return string.rep("x", 1e9)`, want: []string{"string.rep", "exceed the string limit of 16 MiB"}},
		{name: "string.rep method huge", attack: `return ("xy"):rep(1e8)`, want: []string{"string.rep", "16 MiB"}},
		{name: "string.format huge width", attack: `return string.format("%0999999d", 1)`, want: []string{"string.format: invalid format", "width or precision too long"}},
		{name: "string.format huge precision", attack: `return string.format("%.12345f", 1)`, want: []string{"width or precision too long"}},
		{name: "string.format huge result", attack: `local s = string.rep("x", 9e6); return string.format("%s%s", s, s)`, want: []string{"string.format", "exceed the string limit"}},
		{name: "string.gsub amplification", attack: `local s = string.rep("x", 1e6); return s:gsub("x", s)`, want: []string{"string.gsub", "exceed the string limit"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Each attack must be stopped by the check made for it, not by
			// the time limit, which a loaded test machine can reach first.
			vm := newVM(t, "function attack()\n"+tt.attack+"\nend\n"+attackScenario, VMConfig{CallTimeout: time.Minute})
			_, err := vm.Request()
			wantErr(t, err, tt.want...)
			spec, err := vm.Request()
			if err != nil || spec.Path != "/ok" {
				t.Fatalf("after the attack Request() = %+v, %v; want path /ok", spec, err)
			}
		})
	}
}

func TestSandboxRequireFiles(t *testing.T) {
	outside := writeFiles(t, map[string]string{"secret.lua": "return {secret = true}"})
	tests := []struct {
		name  string
		files map[string]string
		link  [2]string // symlink name -> target, when set
		mod   string
		want  []string
	}{
		{
			name:  "precompiled chunk",
			files: map[string]string{"compiled.lua": "\x1bLua\x51\x00\x01\x04"},
			mod:   "compiled",
			want:  []string{"precompiled (binary) chunk", "only Lua source text"},
		},
		{
			name:  "NUL bytes",
			files: map[string]string{"nul.lua": "return 1\x00"},
			mod:   "nul",
			want:  []string{"NUL bytes"},
		},
		{
			name: "symlink out of the folder",
			link: [2]string{"escape.lua", filepath.Join(outside, "secret.lua")},
			mod:  "escape",
			want: []string{"require: module 'escape'"},
		},
		{
			name:  "syntax error in module",
			files: map[string]string{"lib/bad.lua": "local x = \nreturn (\n"},
			mod:   "lib.bad",
			want:  []string{"lib/bad.lua:", "syntax error"},
		},
		{
			name:  "runtime error in module",
			files: map[string]string{"lib/boom.lua": "local t = nil\nreturn t.x\n"},
			mod:   "lib.boom",
			want:  []string{"lib/boom.lua:2:"},
		},
		{
			name:  "require loop",
			files: map[string]string{"a.lua": "return require('b')", "b.lua": "return require('a')"},
			mod:   "a",
			want:  []string{"require: module 'a' requires itself"},
		},
		{
			name: "missing file",
			mod:  "nothere",
			want: []string{"require: module 'nothere' not found", "no file nothere.lua"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string]string{"scenario.lua": "function attack() return require('" + tt.mod + "') end\n" + attackScenario}
			for k, v := range tt.files {
				files[k] = v
			}
			dir := writeFiles(t, files)
			if tt.link[0] != "" {
				if err := os.Symlink(tt.link[1], filepath.Join(dir, tt.link[0])); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Load(filepath.Join(dir, "scenario.lua"))
			if err != nil {
				t.Fatal(err)
			}
			vm, err := s.NewVM(VMConfig{})
			if err != nil {
				t.Fatal(err)
			}
			defer vm.Close()
			_, err = vm.Request()
			wantErr(t, err, tt.want...)
			if _, err := vm.Request(); err != nil {
				t.Fatalf("after the failed require Request() = %v", err)
			}
		})
	}
}

func TestRequireHelperModule(t *testing.T) {
	s, err := Load("testdata/modules/scenario.lua")
	if err != nil {
		t.Fatal(err)
	}
	vm, err := s.NewVM(VMConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Path, "/api/items"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	// The module is cached: both requires return one table, and its top
	// level ran once.
	if got, want := spec.Body, `{"loads":1,"same":true}`; got != want {
		t.Errorf("body = %s, want %s", got, want)
	}
	// A second VM runs the module's top level again, in its own state.
	vm2, err := s.NewVM(VMConfig{})
	if err != nil {
		t.Fatal(err)
	}
	defer vm2.Close()
	if spec, err := vm2.Request(); err != nil || !strings.Contains(spec.Body, `"loads":1`) {
		t.Errorf("second VM: body = %s, err = %v; want loads 1", spec.Body, err)
	}
}

func TestSandboxKeeps(t *testing.T) {
	log, buf := newLogger()
	vm := newVM(t, `
function request()
  print("hello", 42, nil)
  local n = collectgarbage("count")
  collectgarbage()
  local t = {3, 1, 2}
  table.sort(t)
  local co = coroutine.wrap(function() coroutine.yield(1) end)
  return {path = "/" .. table.concat(t, "-") .. "/" .. co() .. "/" .. type(n) .. "/" ..
    os.date("!%Y", 0) .. "/" .. type(os.time()) .. "/" .. type(os.clock()) .. "/" .. math.floor(math.pi)}
end`, VMConfig{Logger: log})
	spec, err := vm.Request()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := spec.Path, "/1-2-3/1/number/1970/number/number/3"; got != want {
		t.Errorf("path = %q, want %q", got, want)
	}
	if got := buf.String(); !strings.Contains(got, `msg="hello\t42\tnil"`) || !strings.Contains(got, "scenario=scenario.lua") {
		t.Errorf("log = %q, want the printed line with the scenario name", got)
	}
}

func TestPrintIsBounded(t *testing.T) {
	log, buf := newLogger()
	vm := newVM(t, `function request() print(string.rep("x", 1e6), "tail") return {path = "/"} end`, VMConfig{Logger: log})
	if _, err := vm.Request(); err != nil {
		t.Fatal(err)
	}
	got := buf.String()
	if len(got) > maxPrintBytes+200 || !strings.Contains(got, "...(truncated)") {
		t.Errorf("logged %d bytes, want at most about %d ending in ...(truncated)", len(got), maxPrintBytes)
	}
}
