package script

import (
	"errors"
	"testing"
	"time"
)

// limitScenario counts its calls in a global and runs attack() on the
// second call, so a test sees a good call, the failing one, and then what
// state a rebuilt VM starts from.
const limitScenario = `
calls = 0
function request()
  calls = calls + 1
  if calls == 2 then
    attack()
  end
  return {path = "/ok", query = {calls = calls}}
end
`

func TestCallLimits(t *testing.T) {
	tests := []struct {
		name    string
		attack  string
		cfg     VMConfig
		wantIs  error
		want    []string
		maxTime time.Duration
	}{
		{
			name:    "infinite loop",
			attack:  "while true do end",
			cfg:     VMConfig{CallTimeout: 200 * time.Millisecond},
			wantIs:  ErrTimeLimit,
			want:    []string{"scenario.lua:", "request() exceeded the 200ms call time limit"},
			maxTime: 5 * time.Second,
		},
		{
			name:    "infinite loop inside pcall",
			attack:  "while true do pcall(function() while true do end end) end",
			cfg:     VMConfig{CallTimeout: 200 * time.Millisecond},
			wantIs:  ErrTimeLimit,
			want:    []string{"request() exceeded the 200ms call time limit"},
			maxTime: 5 * time.Second,
		},
		{
			name:    "infinite loop in a coroutine",
			attack:  "coroutine.wrap(function() while true do end end)()",
			cfg:     VMConfig{CallTimeout: 200 * time.Millisecond},
			wantIs:  ErrTimeLimit,
			want:    []string{"request() exceeded the 200ms call time limit"},
			maxTime: 5 * time.Second,
		},
		{
			name:    "runaway allocation",
			attack:  `local t = {} ; while true do t[#t+1] = string.rep("x", 1000) end`,
			cfg:     VMConfig{CallTimeout: time.Minute, MemoryLimit: 64 << 20},
			wantIs:  ErrMemoryLimit,
			want:    []string{"scenario.lua:", "request()", "memory limit of 64 MiB"},
			maxTime: 30 * time.Second,
		},
		{
			name:    "runaway allocation kept in a global",
			attack:  `big = {} ; while true do big[#big+1] = {i = #big} end`,
			cfg:     VMConfig{CallTimeout: time.Minute, MemoryLimit: 64 << 20},
			wantIs:  ErrMemoryLimit,
			want:    []string{"exceeded the memory limit of 64 MiB"},
			maxTime: 30 * time.Second,
		},
		{
			name:    "pathological pattern",
			attack:  `string.find(string.rep("a", 400), "a-a-b")`,
			cfg:     VMConfig{CallTimeout: 20 * time.Millisecond},
			wantIs:  ErrTimeLimit,
			want:    []string{"request() exceeded the 20ms call time limit"},
			maxTime: 5 * time.Second,
		},
		{
			name:    "gsub over a huge number of matches",
			attack:  `string.gsub(string.rep("a", 16e6), "a", function(c) return c end)`,
			cfg:     VMConfig{CallTimeout: 100 * time.Millisecond},
			wantIs:  ErrTimeLimit,
			want:    []string{"request() exceeded the 100ms call time limit"},
			maxTime: 5 * time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function attack()\n"+tt.attack+"\nend\n"+limitScenario, tt.cfg)
			if spec, err := vm.Request(); err != nil || spec.QueryString != "calls=1" {
				t.Fatalf("first Request() = %q, %v; want calls=1", spec.QueryString, err)
			}
			start := time.Now()
			_, err := vm.Request()
			took := time.Since(start)
			wantErr(t, err, tt.want...)
			if !errors.Is(err, tt.wantIs) {
				t.Errorf("errors.Is(%v, %v) = false", err, tt.wantIs)
			}
			if took > tt.maxTime {
				t.Errorf("the call failed after %v, want within %v", took, tt.maxTime)
			}
			// The VM was rebuilt: the next call works, and the scenario's
			// state started over (calls counts from 1 again).
			spec, err := vm.Request()
			if err != nil {
				t.Fatalf("Request() after the limit error = %v", err)
			}
			if got, want := spec.QueryString, "calls=1"; got != want {
				t.Errorf("query after rebuild = %q, want %q", got, want)
			}
		})
	}
}

func TestLimitInTopLevelAndSetup(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want string
	}{
		{name: "top level", src: "while true do end", want: "scenario.lua:1: the top level exceeded the 100ms call time limit"},
		{name: "setup", src: "function setup(o)\nwhile true do end\nend\nfunction request() return {path='/'} end", want: "scenario.lua:2: setup(options) exceeded the 100ms call time limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadSource(t, tt.src, nil).NewVM(VMConfig{CallTimeout: 100 * time.Millisecond})
			wantErr(t, err, tt.want)
		})
	}
}

func TestInfiniteRecursion(t *testing.T) {
	tests := []struct {
		name   string
		attack string
	}{
		{name: "plain", attack: "local function f() return 1 + f() end\nf()"},
		{name: "through pcall", attack: "local function f() local ok, e = pcall(f); error(e, 0) end\nf()"},
		{name: "through a metamethod", attack: "local t = setmetatable({}, {__index = function(t, k) return t[k] end})\nreturn t.x"},
		{name: "through table.sort", attack: "local function f(a, b) table.sort({3, 2, 1}, f); return a < b end\nf(1, 2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The depth limit must stop it, not the time limit, which a
			// loaded test machine can reach first.
			vm := newVM(t, "function attack()\n"+tt.attack+"\nend\n"+limitScenario, VMConfig{CallTimeout: time.Minute})
			if _, err := vm.Request(); err != nil {
				t.Fatal(err)
			}
			_, err := vm.Request()
			wantErr(t, err, "stack overflow")
			if _, err := vm.Request(); err != nil {
				t.Fatalf("Request() after the overflow = %v", err)
			}
		})
	}
}

func TestShortCallsStayWithinLimits(t *testing.T) {
	// Many short calls add up to far more than the time limit: each call
	// is timed on its own.
	vm := newVM(t, `function request() local s = 0; for i = 1, 2000 do s = s + i end; return {path = "/"} end`,
		VMConfig{CallTimeout: 50 * time.Millisecond})
	deadline := time.Now().Add(300 * time.Millisecond)
	n := 0
	for time.Now().Before(deadline) {
		if _, err := vm.Request(); err != nil {
			t.Fatalf("call %d: %v", n, err)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no call completed")
	}
}
