package lualib

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// testSeed seeds every Lua test VM so expected random values are stable.
const testSeed = 1234

// testClockStart is the fake wall clock's first reading.
var testClockStart = time.Date(2024, 1, 2, 3, 4, 5, 500_000_000, time.UTC)

// luaTestVM is one Lua test's VM with the hooks the helpers use.
type luaTestVM struct {
	L     *lua.LState
	env   *Env
	clock time.Time
	logs  *syncBuffer
}

// syncBuffer is a bytes.Buffer safe for a logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// take returns and clears what was written.
func (s *syncBuffer) take() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.b.String()
	s.b.Reset()
	return out
}

// newLuaTestVM builds a VM with all standard libraries, the imager modules
// preloaded on a fixed-seed Env rooted at dir, and the assert helpers.
func newLuaTestVM(t testing.TB, dir string) *luaTestVM {
	t.Helper()
	vm := &luaTestVM{L: lua.NewState(), clock: testClockStart, logs: &syncBuffer{}}
	t.Cleanup(vm.L.Close)
	logger := slog.New(slog.NewJSONHandler(vm.logs, &slog.HandlerOptions{
		Level: slog.LevelDebug,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	vm.env = &Env{
		Rand:   NewRand(testSeed),
		Dir:    dir,
		Logger: logger,
		Now:    func() time.Time { return vm.clock },
		Start:  testClockStart,
	}
	Preload(vm.L, vm.env)
	vm.registerHelpers()
	return vm
}

// registerHelpers defines the globals the Lua test files use:
//
//	assert_eq(got, want [, msg])      deep equality (tables by content)
//	assert_true(v [, msg])            v is neither nil nor false
//	assert_near(got, want, tol [, msg])
//	assert_error(fn, substring [, msg]) -> message
//	                                  fn() raises an error containing substring
//	advance_clock(seconds)            moves the fake wall clock forward
//	take_logs() -> string             the JSON log lines written so far
//	data_dir                          absolute path of the data folder
func (vm *luaTestVM) registerHelpers() {
	L := vm.L
	L.SetGlobal("assert_eq", L.NewFunction(func(L *lua.LState) int {
		got, want := L.Get(1), L.Get(2)
		if !luaDeepEqual(got, want, 0) {
			L.RaiseError("%s: got %s, want %s", L.OptString(3, "assert_eq"), luaRepr(got, 0), luaRepr(want, 0))
		}
		return 0
	}))
	L.SetGlobal("assert_true", L.NewFunction(func(L *lua.LState) int {
		if !lua.LVAsBool(L.Get(1)) {
			L.RaiseError("%s: got %s, want a true value", L.OptString(2, "assert_true"), luaRepr(L.Get(1), 0))
		}
		return 0
	}))
	L.SetGlobal("assert_near", L.NewFunction(func(L *lua.LState) int {
		got, want, tol := float64(L.CheckNumber(1)), float64(L.CheckNumber(2)), float64(L.CheckNumber(3))
		if !(got >= want-tol && got <= want+tol) {
			L.RaiseError("%s: got %v, want %v ± %v", L.OptString(4, "assert_near"), got, want, tol)
		}
		return 0
	}))
	L.SetGlobal("assert_error", L.NewFunction(func(L *lua.LState) int {
		fn := L.CheckFunction(1)
		want := L.CheckString(2)
		msg := L.OptString(3, "assert_error")
		L.Push(fn)
		err := L.PCall(0, 0, nil)
		if err == nil {
			L.RaiseError("%s: no error, want one containing %q", msg, want)
		}
		got := err.Error()
		if ae, ok := err.(*lua.ApiError); ok {
			got = ae.Object.String()
		}
		if !strings.Contains(got, want) {
			L.RaiseError("%s: error %q does not contain %q", msg, got, want)
		}
		L.Push(lua.LString(got))
		return 1
	}))
	L.SetGlobal("advance_clock", L.NewFunction(func(L *lua.LState) int {
		vm.clock = vm.clock.Add(time.Duration(float64(L.CheckNumber(1)) * float64(time.Second)))
		return 0
	}))
	L.SetGlobal("take_logs", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString(vm.logs.take()))
		return 1
	}))
	L.SetGlobal("data_dir", lua.LString(vm.env.Dir))
}

// luaDeepEqual compares Lua values, tables by content (raw, both ways).
func luaDeepEqual(a, b lua.LValue, depth int) bool {
	ta, okA := a.(*lua.LTable)
	tb, okB := b.(*lua.LTable)
	if !okA || !okB || depth > 50 {
		return a == b
	}
	if ta == tb {
		return true
	}
	equal := true
	ta.ForEach(func(k, v lua.LValue) {
		if equal && !luaDeepEqual(v, tb.RawGet(k), depth+1) {
			equal = false
		}
	})
	tb.ForEach(func(k, _ lua.LValue) {
		if equal && ta.RawGet(k) == lua.LNil {
			equal = false
		}
	})
	return equal
}

// luaRepr renders a value for failure messages, tables with sorted keys.
func luaRepr(v lua.LValue, depth int) string {
	switch x := v.(type) {
	case lua.LString:
		return fmt.Sprintf("%q", string(x))
	case *lua.LTable:
		if depth > 5 {
			return "{...}"
		}
		var parts []string
		x.ForEach(func(k, v lua.LValue) {
			parts = append(parts, "["+luaRepr(k, depth+1)+"]="+luaRepr(v, depth+1))
		})
		slices.Sort(parts)
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return v.String()
}

// testDataDir returns the absolute path of testdata/data.
func testDataDir(t testing.TB) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("testdata", "data"))
	if err != nil {
		t.Fatalf("abs testdata/data: %v", err)
	}
	return dir
}

// buildScenarioDir copies testdata/data into <tmp>/scenario and adds what a
// repository cannot hold portably: a symlink escaping the folder, a symlink
// staying inside it, a ConfigMap-style ..data layout, a directory and a
// sparse file over the size limit. A file outside the folder sits beside it.
func buildScenarioDir(t testing.TB) string {
	t.Helper()
	base := t.TempDir()
	dir := filepath.Join(base, "scenario")
	if err := os.CopyFS(dir, os.DirFS(testDataDir(t))); err != nil {
		t.Fatalf("copy testdata/data: %v", err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(base, "secret.txt"), []byte("top secret\n"), 0o600))
	must(os.Symlink(filepath.Join("..", "secret.txt"), filepath.Join(dir, "escape.txt")))
	must(os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(dir, "escape_abs.txt")))
	must(os.Symlink("..", filepath.Join(dir, "parent")))
	must(os.Symlink("lines.txt", filepath.Join(dir, "inside_link.txt")))
	// Kubernetes ConfigMap volume: cm.txt -> ..data/cm.txt, ..data -> ..2024_01_02
	must(os.MkdirAll(filepath.Join(dir, "..2024_01_02"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "..2024_01_02", "cm.txt"), []byte("from configmap\n"), 0o644))
	must(os.Symlink("..2024_01_02", filepath.Join(dir, "..data")))
	must(os.Symlink(filepath.Join("..data", "cm.txt"), filepath.Join(dir, "cm.txt")))
	must(os.MkdirAll(filepath.Join(dir, "emptydir"), 0o755))
	must(os.WriteFile(filepath.Join(dir, "big.bin"), nil, 0o644))
	must(os.Truncate(filepath.Join(dir, "big.bin"), maxDataFile+1))
	return dir
}

// TestLuaModules runs every test_* function of every testdata/*_test.lua
// file, each in a fresh VM, and reports failures with the Lua file:line.
func TestLuaModules(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*_test.lua"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no Lua test files found (err %v)", err)
	}
	for _, file := range files {
		src, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(file), func(t *testing.T) {
			t.Parallel()
			dir := testDataDir(t)
			if filepath.Base(file) == "data_test.lua" {
				dir = buildScenarioDir(t)
			}
			names := luaTestNames(t, file, src, dir)
			if len(names) == 0 {
				t.Fatalf("%s defines no test_* functions", file)
			}
			for _, name := range names {
				t.Run(name, func(t *testing.T) {
					vm := newLuaTestVM(t, dir)
					if err := runLuaTest(vm.L, file, src, name); err != nil {
						t.Error(err)
					}
				})
			}
		})
	}
}

// luaTestNames loads a test file and lists its global test_* functions.
func luaTestNames(t *testing.T, file string, src []byte, dir string) []string {
	t.Helper()
	vm := newLuaTestVM(t, dir)
	if err := loadChunk(vm.L, file, src); err != nil {
		t.Fatalf("load %s: %v", file, err)
	}
	var names []string
	vm.L.G.Global.ForEach(func(k, v lua.LValue) {
		if s, ok := k.(lua.LString); ok && strings.HasPrefix(string(s), "test_") && v.Type() == lua.LTFunction {
			names = append(names, string(s))
		}
	})
	slices.Sort(names)
	return names
}

// loadChunk compiles and runs a test file's main chunk.
func loadChunk(L *lua.LState, file string, src []byte) error {
	fn, err := L.Load(bytes.NewReader(src), file)
	if err != nil {
		return err
	}
	L.Push(fn)
	return L.PCall(0, 0, nil)
}

// runLuaTest loads the file in L and calls its global function name.
func runLuaTest(L *lua.LState, file string, src []byte, name string) error {
	if err := loadChunk(L, file, src); err != nil {
		return fmt.Errorf("load %s: %w", file, err)
	}
	return L.CallByParam(lua.P{Fn: L.GetGlobal(name), NRet: 0, Protect: true})
}

// TestHarnessReportsLuaLine checks that a failing assertion names the Lua
// file and line, so failures in the .lua tests are easy to find.
func TestHarnessReportsLuaLine(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"assert_eq", "function test_x()\n  assert_eq(1, 2, 'numbers')\nend", "fake_test.lua:2: numbers: got 1, want 2"},
		{"assert_error", "function test_x()\n\n  assert_error(function() end, 'boom')\nend", "fake_test.lua:3: assert_error: no error"},
		{"module error", "local r = require('imager.random')\nfunction test_x()\n  r.int(5, 3)\nend", "fake_test.lua:3: imager.random.int: lo (5) is greater than hi (3)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newLuaTestVM(t, testDataDir(t))
			err := runLuaTest(vm.L, "fake_test.lua", []byte(tt.src), "test_x")
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// TestLogWithoutLogger checks that a nil Env.Logger discards records.
func TestLogWithoutLogger(t *testing.T) {
	L := lua.NewState()
	defer L.Close()
	Preload(L, &Env{})
	if err := L.DoString(`local log = require("imager.log"); log.error("x", {a = 1})`); err != nil {
		t.Fatalf("log with nil logger: %v", err)
	}
}

// TestReadInDirErrors checks the Go side of imager.data's path rules.
func TestReadInDirErrors(t *testing.T) {
	dir := buildScenarioDir(t)
	tests := []struct {
		name, file, want string
	}{
		{"no folder", "lines.txt", "no scenario folder"},
		{"dotdot", "../secret.txt", "outside the scenario folder"},
		{"absolute", filepath.Join(filepath.Dir(dir), "secret.txt"), "outside the scenario folder"},
		{"symlink out", "escape.txt", "outside the scenario folder"},
		{"symlink abs", "escape_abs.txt", "outside the scenario folder"},
		{"through parent link", "parent/secret.txt", "outside the scenario folder"},
		{"missing", "nope.txt", "no such file"},
		{"directory", "emptydir", "not a regular file"},
		{"too big", "big.bin", "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := dir
			if tt.name == "no folder" {
				d = ""
			}
			_, err := readInDir(d, tt.file)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("readInDir(%q) error = %v, want %q", tt.file, err, tt.want)
			}
		})
	}
	b, err := readInDir(dir, "cm.txt")
	if err != nil || string(b) != "from configmap\n" {
		t.Errorf("ConfigMap layout: got %q, %v; want %q", b, err, "from configmap\n")
	}
}

var _ io.Writer = (*syncBuffer)(nil)
