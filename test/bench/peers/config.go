package main

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what the environment tunes.
type config struct {
	// Duration is the length of every run (BENCH_PEERS_DURATION, 10s).
	Duration time.Duration
	// FixedRPS is the rate at which CPU per request is compared
	// (BENCH_PEERS_FIXED_RPS, 5000).
	FixedRPS int
	// Connections is wrk's -c (BENCH_PEERS_CONNECTIONS, 50).
	Connections int
	// MinRatio is the lowest fraction of wrk's closed-loop rate an
	// open-loop search tries (BENCH_PEERS_MIN_RATIO, 0.1).
	MinRatio float64
	// Precision ends a search once the held and the failed fraction are
	// this close, relative (BENCH_PEERS_PRECISION, 0.02).
	Precision float64
	// MaxAttempts bounds the runs of one search (BENCH_PEERS_MAX_ATTEMPTS, 10).
	MaxAttempts int
	// FixedRuns is how many times each generator runs at FixedRPS, in
	// turn with the others; the median counts (BENCH_PEERS_FIXED_RUNS, 3).
	FixedRuns int
	// TargetCPU and GeneratorCPU are where nginx and the generators are
	// pinned (BENCH_PEERS_TARGET_CPU, 1; BENCH_PEERS_GENERATOR_CPU, 0).
	TargetCPU, GeneratorCPU int
	// Vegeta is the version of github.com/tsenart/vegeta/v12 to install,
	// or "off" (BENCH_PEERS_VEGETA, v12.13.0).
	Vegeta string
	// Imager is a prebuilt imager binary; empty builds ./cmd/imager
	// (BENCH_PEERS_IMAGER).
	Imager string
	// ImagerArgs are extra flags for every `imager run`, split on spaces
	// (BENCH_PEERS_IMAGER_ARGS), e.g. "-max-inflight=100".
	ImagerArgs []string
	// Go is the go command (GO, "go").
	Go string
}

// maxRunLength bounds BENCH_PEERS_DURATION, so that every run is bounded.
const maxRunLength = 10 * time.Minute

// loadConfig reads the configuration through getenv, with defaults.
func loadConfig(getenv func(string) string) (config, error) {
	c := config{Duration: 10 * time.Second, FixedRPS: 5000, Connections: 50, MinRatio: 0.1,
		Precision: 0.02, MaxAttempts: 10, FixedRuns: 3, TargetCPU: 1, GeneratorCPU: 0, Vegeta: "v12.13.0", Go: "go"}
	var err error
	str := func(name string, dst *string) {
		if v := getenv(name); v != "" {
			*dst = v
		}
	}
	num := func(name string, dst *int, least int) {
		v := getenv(name)
		if v == "" || err != nil {
			return
		}
		n, perr := strconv.Atoi(v)
		if perr != nil || n < least {
			err = fmt.Errorf("%s=%q: want a whole number of at least %d", name, v, least)
		}
		*dst = n
	}
	if v := getenv("BENCH_PEERS_DURATION"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d < time.Second || d > maxRunLength || d%time.Second != 0 {
			return c, fmt.Errorf("BENCH_PEERS_DURATION=%q: want whole seconds from 1s to %s", v, maxRunLength)
		}
		c.Duration = d
	}
	if v := getenv("BENCH_PEERS_PRECISION"); v != "" {
		p, perr := strconv.ParseFloat(v, 64)
		if perr != nil || p < 0.001 || p > 1 {
			return c, fmt.Errorf("BENCH_PEERS_PRECISION=%q: want a fraction from 0.001 to 1", v)
		}
		c.Precision = p
	}
	if getenv("BENCH_PEERS_MIN_RPS") != "" {
		return c, fmt.Errorf("BENCH_PEERS_MIN_RPS is gone: the searches try fractions of wrk's rate; set BENCH_PEERS_MIN_RATIO (default 0.1)")
	}
	if v := getenv("BENCH_PEERS_MIN_RATIO"); v != "" {
		f, perr := strconv.ParseFloat(v, 64)
		if perr != nil || f < 0.001 || f > 1 {
			return c, fmt.Errorf("BENCH_PEERS_MIN_RATIO=%q: want a fraction from 0.001 to 1", v)
		}
		c.MinRatio = f
	}
	num("BENCH_PEERS_FIXED_RPS", &c.FixedRPS, 1)
	num("BENCH_PEERS_CONNECTIONS", &c.Connections, 1)
	num("BENCH_PEERS_MAX_ATTEMPTS", &c.MaxAttempts, 2)
	num("BENCH_PEERS_FIXED_RUNS", &c.FixedRuns, 1)
	num("BENCH_PEERS_TARGET_CPU", &c.TargetCPU, 0)
	num("BENCH_PEERS_GENERATOR_CPU", &c.GeneratorCPU, 0)
	str("BENCH_PEERS_VEGETA", &c.Vegeta)
	str("BENCH_PEERS_IMAGER", &c.Imager)
	str("GO", &c.Go)
	c.ImagerArgs = strings.Fields(getenv("BENCH_PEERS_IMAGER_ARGS"))
	if err == nil && c.TargetCPU == c.GeneratorCPU {
		err = fmt.Errorf("BENCH_PEERS_TARGET_CPU and BENCH_PEERS_GENERATOR_CPU are both %d: the target and the generators need separate CPUs", c.TargetCPU)
	}
	return c, err
}

// checkCPUs fails when the machine lacks the CPUs the configuration pins
// to.
func checkCPUs(c config) error {
	n := runtime.NumCPU()
	if c.TargetCPU >= n || c.GeneratorCPU >= n {
		return fmt.Errorf("this machine has %d CPUs; BENCH_PEERS_TARGET_CPU=%d and BENCH_PEERS_GENERATOR_CPU=%d must both be below that",
			n, c.TargetCPU, c.GeneratorCPU)
	}
	return nil
}

// machine describes where the benchmark ran.
type machine struct {
	CPUs       int
	Model      string
	Kernel     string
	Date       string
	LoadBefore string
	LoadAfter  string
}

// machineInfo reads the CPU count and model, the kernel release, the date
// and the load average.
func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), Model: "unknown", Kernel: "unknown",
		Date: time.Now().UTC().Format("2006-01-02 15:04 UTC"), LoadBefore: loadAverage()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		var sb strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			sb.WriteByte(byte(c))
		}
		m.Kernel = sb.String()
	}
	return m
}

// loadAverage returns the 1, 5 and 15 minute load averages, or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "unknown"
}
