package script

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// probeResult is what testdata/limitprobe prints.
type probeResult struct {
	Error       string  `json:"error"`
	MemoryLimit bool    `json:"memory_limit"`
	TimeLimit   bool    `json:"time_limit"`
	Seconds     float64 `json:"seconds"`
	BaseKB      int64   `json:"base_kb"`
	PeakKB      int64   `json:"peak_kb"`
}

// buildProbe builds testdata/limitprobe without the race detector, so that
// the memory it reports is what a real run would use.
func buildProbe(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc/self/status (Linux) to read peak memory")
	}
	bin := filepath.Join(t.TempDir(), "limitprobe")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/limitprobe")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building limitprobe: %v\n%s", err, out)
	}
	return bin
}

// The attacks of issue 9, each run in its own process under a 32 MiB, 2s
// limit (small, so that a loaded test machine still finishes the work
// before the limit is reached): each must fail with a clear error (a memory limit error where the
// result is too large) within twice the time limit, with the process's
// peak memory within twice the memory limit over its baseline. Before the
// built-ins were bounded these ran for 20 to 40 seconds or reached GBs.
func TestBuiltinLimitsHoldInAProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a helper binary")
	}
	bin := buildProbe(t)
	const (
		timeout  = 2 * time.Second
		memoryMB = 32
	)
	tests := []struct {
		name    string
		attack  string
		want    string // fragment of the error; "" means the call succeeds
		memory  bool   // the error is a memory limit error
		timeLim bool   // the error may also be the time limit (slow machine)
	}{
		{name: "rep then table.concat", attack: `local s=string.rep("x",16*1024*1024); local t={}; for i=1,400 do t[i]=s end; local big=table.concat(t)`,
			want: "table.concat: result of 6710886400 bytes exceeds the memory limit of 32 MiB", memory: true},
		{name: ".. doubling", attack: `local s="x" while true do s=s..s end`,
			want: "concatenation (..): result of 33554432 bytes exceeds the memory limit of 32 MiB", memory: true},
		{name: "string.format", attack: `local s=string.rep("x",2*1024*1024) local t={} for i=1,100 do t[i]=string.format("%s%s",s,s) end`,
			want: "string.format: result of", memory: true},
		{name: "string.gsub", attack: `local s=string.rep("x",2*1024*1024) local t={} for i=1,100 do t[i]=s:gsub("^",s) end`,
			want: "string.gsub: result of", memory: true},
		{name: "string.rep kept", attack: `local t={} for i=1,100 do t[i]=string.rep("x",4*1024*1024) end`,
			want: "string.rep: result of 4194304 bytes exceeds the memory limit of 32 MiB", memory: true},
		// The results are kept, as in "string.rep kept": with one result
		// and only garbage besides, whether it fits depends on how much
		// garbage the heap sampler has seen freed.
		{name: "string.upper", attack: `local s=string.rep("x",4*1024*1024) local t={} for i=1,100 do t[i]=s:upper() end`,
			want: "string.upper: result of 4194304 bytes exceeds the memory limit of 32 MiB", memory: true},
		{name: "string.char(unpack(t))", attack: `local t={} for i=1,1e5 do t[i]=65 end local s=string.char(unpack(t))`,
			want: "too many results to unpack (100000 values, at most 65536)"},
		{name: "unpack 1e8", attack: `local x={unpack({}, 1, 1e8)}`,
			want: "too many results to unpack (100000000 values, at most 65536)"},
		{name: "string.byte of 16 MiB", attack: `local t={string.byte(string.rep("x",16*1024*1024),1,-1)}`,
			want: "string.byte: too many results (16777216 values"},
		{name: "table.concat of 4e5 strings works", attack: `local t={} for i=1,4e5 do t[i]="ab" end assert(#table.concat(t)==8e5)`,
			timeLim: true},
		{name: "json.encode", attack: `local s=string.rep("x",1e6) local t={} for i=1,100 do t[i]=s end local j=json.encode(t)`,
			want: "imager.json.encode: result of", memory: true},
		{name: "json.decode", attack: `local j=json.decode("[" .. string.rep("0,", 4e6) .. "0]")`,
			want: "imager.json.decode: result of", memory: true},
		{name: "encoding.hex_encode", attack: `local s=string.rep("x",4*1024*1024) local t={} for i=1,10 do t[i]=encoding.hex_encode(s) end`,
			want: "imager.encoding.hex_encode: result of", memory: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := exec.Command(bin, "-timeout", timeout.String(), "-memory-mb", strconv.Itoa(memoryMB), "-attack", tt.attack).Output()
			if err != nil {
				t.Fatalf("limitprobe: %v", err)
			}
			var r probeResult
			if err := json.Unmarshal(out, &r); err != nil {
				t.Fatalf("limitprobe printed %q: %v", out, err)
			}
			t.Logf("%.2fs, peak %d MiB over a %d MiB baseline: %s", r.Seconds, (r.PeakKB-r.BaseKB)>>10, r.BaseKB>>10, r.Error)
			switch {
			case tt.timeLim && r.TimeLimit:
				// A loaded machine may stop the call first; that is a
				// limit holding too.
			case tt.want == "" && r.Error != "":
				t.Errorf("error = %q, want none", r.Error)
			case !strings.Contains(r.Error, tt.want):
				t.Errorf("error = %q, want it to contain %q", r.Error, tt.want)
			case tt.memory && !r.MemoryLimit:
				t.Errorf("error %q is not a memory limit error", r.Error)
			}
			if max := 2 * timeout.Seconds(); r.Seconds > max {
				t.Errorf("the call took %.2fs, more than twice the %v limit", r.Seconds, timeout)
			}
			if grew := r.PeakKB - r.BaseKB; grew > 2*memoryMB<<10 {
				t.Errorf("peak memory grew by %d MiB, more than twice the %d MiB limit", grew>>10, memoryMB)
			}
		})
	}
}
