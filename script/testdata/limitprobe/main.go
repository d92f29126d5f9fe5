// Command limitprobe runs one Lua snippet as the second request() call of a
// scenario under the script package's limits and prints, as one JSON
// line, how the call ended, how long it took and the process's peak
// resident memory (VmHWM) before and after it. The script tests build it
// without the race detector so that its memory figures are realistic.
//
//	limitprobe -timeout 1s -memory-mb 128 -attack 'local s = "x" while true do s = s .. s end'
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/PeladoCollado/imager/script"
)

// Result is the JSON line limitprobe prints.
type Result struct {
	Error       string  `json:"error"`
	MemoryLimit bool    `json:"memory_limit"` // errors.Is(err, script.ErrMemoryLimit)
	TimeLimit   bool    `json:"time_limit"`   // errors.Is(err, script.ErrTimeLimit)
	Seconds     float64 `json:"seconds"`
	BaseKB      int64   `json:"base_kb"` // VmHWM before the call
	PeakKB      int64   `json:"peak_kb"` // VmHWM after the call
}

// prelude gives the attack the lualib modules it may use.
const prelude = "local json, encoding = require('imager.json'), require('imager.encoding')\n"

// scenario calls attack() on the second request() call, so that the first
// call warms the VM up before the baseline is read.
const scenario = `
local calls = 0
function request()
  calls = calls + 1
  if calls == 2 then attack() end
  return {path = "/"}
end
`

func main() {
	timeout := flag.Duration("timeout", time.Second, "call time limit")
	memoryMB := flag.Int64("memory-mb", 128, "call memory limit in MiB")
	attack := flag.String("attack", "", "Lua statements run by the second call")
	flag.Parse()
	res, err := run(*timeout, *memoryMB<<20, *attack)
	if err != nil {
		fmt.Fprintln(os.Stderr, "limitprobe:", err)
		os.Exit(1)
	}
	if err := json.NewEncoder(os.Stdout).Encode(res); err != nil {
		fmt.Fprintln(os.Stderr, "limitprobe:", err)
		os.Exit(1)
	}
}

// run loads the scenario with attack, makes the first call and measures
// the second.
func run(timeout time.Duration, memory int64, attack string) (Result, error) {
	dir, err := os.MkdirTemp("", "limitprobe-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "scenario.lua")
	src := prelude + "function attack()\n" + attack + "\nend\n" + scenario
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		return Result{}, err
	}
	s, err := script.Load(path)
	if err != nil {
		return Result{}, err
	}
	vm, err := s.NewVM(script.VMConfig{CallTimeout: timeout, MemoryLimit: memory})
	if err != nil {
		return Result{}, err
	}
	defer vm.Close()
	if _, err := vm.Request(); err != nil {
		return Result{}, fmt.Errorf("first call: %w", err)
	}
	runtime.GC()
	var res Result
	if res.BaseKB, err = peakKB(); err != nil {
		return Result{}, err
	}
	start := time.Now()
	_, callErr := vm.Request()
	res.Seconds = time.Since(start).Seconds()
	if res.PeakKB, err = peakKB(); err != nil {
		return Result{}, err
	}
	if callErr != nil {
		res.Error = callErr.Error()
		res.MemoryLimit = errors.Is(callErr, script.ErrMemoryLimit)
		res.TimeLimit = errors.Is(callErr, script.ErrTimeLimit)
	}
	return res, nil
}

// peakKB reads the process's peak resident set size from /proc.
func peakKB() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}
