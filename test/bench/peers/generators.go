package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// outcome is what one run of a generator measured.
type outcome struct {
	// Planned is the rate asked for in requests per second; 0 for a
	// closed loop.
	Planned float64
	// Rate is the achieved rate: requests sent ÷ the scheduled duration
	// (for wrk, its own Requests/sec).
	Rate float64
	// Requests is how many requests were sent.
	Requests int64
	// Dropped counts requests never sent (imager's in-flight bound).
	Dropped int64
	// Failed counts requests that did not succeed, dropped ones included.
	Failed int64
	// P99 is the 99th percentile latency: imager's from the intended send
	// time, wrk's and vegeta's from the actual send. P999 is imager's
	// 99.9th percentile.
	P99, P999 time.Duration
	// CPU is the user plus system time of the generator's process.
	CPU time.Duration
	// Ref is, for an attempt of an open-loop search, wrk's closed-loop
	// rate in the short run just before it, of which Planned is the
	// fraction the search tried (see bench.relative); 0 otherwise.
	// StaleRef is set when that run failed and Ref is an earlier one.
	Ref      float64
	StaleRef bool
	// Note says what else went wrong, if anything.
	Note string
}

// maxRateError is the largest |achieved − planned| / planned of a held
// rate.
const maxRateError = 0.005

// rateError is (achieved − planned) / planned.
func (o outcome) rateError() float64 {
	if o.Planned == 0 {
		return 0
	}
	return o.Rate/o.Planned - 1
}

// cpuPerRequest is the CPU time per sent request in microseconds.
func (o outcome) cpuPerRequest() float64 {
	if o.Requests == 0 {
		return 0
	}
	return float64(o.CPU.Microseconds()) / float64(o.Requests)
}

// held reports whether an open-loop run kept its rate: nothing dropped,
// nothing failed, rate error under maxRateError. Otherwise why names
// what broke.
func (o outcome) held() (ok bool, why string) {
	var broke []string
	if o.Dropped > 0 {
		broke = append(broke, fmt.Sprintf("%d dropped", o.Dropped))
	}
	if n := o.Failed - o.Dropped; n > 0 {
		broke = append(broke, fmt.Sprintf("%d failed", n))
	}
	if e := o.rateError(); e <= -maxRateError || e >= maxRateError {
		broke = append(broke, fmt.Sprintf("rate error %+.2f%%", e*100))
	}
	return len(broke) == 0, strings.Join(broke, ", ")
}

// String is one progress line.
func (o outcome) String() string {
	s := fmt.Sprintf("%.0f req/s (%d sent, rate error %+.3f%%, %d dropped, %d failed, p99 %s, CPU %.1f µs/request)",
		o.Rate, o.Requests, o.rateError()*100, o.Dropped, o.Failed, o.P99, o.cpuPerRequest())
	if o.Note != "" {
		s += "; " + o.Note
	}
	return s
}

// runGenerator runs argv pinned to the generator CPU, bounded by the run's
// duration plus a minute, and returns its standard output and CPU time.
// Exit codes in ok count as success.
func (b *bench) runGenerator(parent context.Context, stdin []byte, ok []int, argv ...string) (string, time.Duration, error) {
	ctx, cancel := context.WithTimeout(parent, b.cfg.Duration+time.Minute)
	defer cancel()
	full := append([]string{"taskset", "-c", fmt.Sprint(b.cfg.GeneratorCPU)}, argv...)
	c := exec.CommandContext(ctx, full[0], full[1:]...)
	c.WaitDelay = 10 * time.Second
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	if stdin != nil {
		c.Stdin = bytes.NewReader(stdin)
	}
	err := c.Run()
	var exit *exec.ExitError
	if errors.As(err, &exit) && slices.Contains(ok, exit.ExitCode()) {
		err = nil
	}
	if err != nil && ctx.Err() == context.DeadlineExceeded && parent.Err() == nil {
		err = errTimedOut
	}
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w: %s%s", strings.Join(full, " "), err,
			tail(stdout.String(), 600), tail(stderr.String(), 600))
	}
	st := c.ProcessState
	return stdout.String(), st.UserTime() + st.SystemTime(), nil
}

// paceScript makes wrk wait ms milliseconds before each request of each
// connection, which with n connections paces it to about n·1000/ms per
// second, less the time the requests take.
const paceScript = "function delay()\n  return %d\nend\n"

// runWrk runs wrk -t1 with conns connections closed-loop (delayMS 0), or
// paced by a wait of delayMS before each request of each connection.
func (b *bench) runWrk(ctx context.Context, conns, delayMS int) (outcome, error) {
	return b.runWrkFor(ctx, conns, delayMS, b.cfg.Duration)
}

// runWrkFor is runWrk for d, in whole seconds (at least one).
func (b *bench) runWrkFor(ctx context.Context, conns, delayMS int, d time.Duration) (outcome, error) {
	argv := []string{b.wrk, "-t1", fmt.Sprintf("-c%d", conns),
		fmt.Sprintf("-d%ds", max(1, int(d.Seconds()))), "--latency"}
	if delayMS > 0 {
		script := filepath.Join(b.dir, "pace.lua")
		if err := os.WriteFile(script, fmt.Appendf(nil, paceScript, delayMS), 0o644); err != nil {
			return outcome{}, fmt.Errorf("wrk pace script: %w", err)
		}
		argv = append(argv, "-s", script)
	}
	out, cpu, err := b.runGenerator(ctx, nil, nil, append(argv, b.url+"/")...)
	if err != nil {
		return outcome{}, err
	}
	o, err := parseWrk(out)
	o.CPU = cpu
	return o, err
}

// runImager runs `imager run` open-loop at rate for the duration, one
// executor, one GET line, exactly as the measurement.
func (b *bench) runImager(ctx context.Context, rate int) (outcome, error) {
	return b.runImagerAt(ctx, b.url, rate)
}

// runImagerAt is runImager against the target at url.
func (b *bench) runImagerAt(ctx context.Context, url string, rate int) (outcome, error) {
	reqs := filepath.Join(b.dir, "request.json")
	if err := os.WriteFile(reqs, []byte(`{"method":"GET","path":"/"}`+"\n"), 0o644); err != nil {
		return outcome{}, fmt.Errorf("request file: %w", err)
	}
	results := filepath.Join(b.dir, "imager-results.ndjson")
	defer os.Remove(results)
	argv := []string{b.imager, "run", "-executors=1", "-target-url=" + url,
		"-request-source-type=file", "-request-source-file=" + reqs,
		"-load-calculator=step", fmt.Sprintf("-min-rps=%d", rate), fmt.Sprintf("-max-rps=%d", rate), "-step-rps=1",
		"-duration=" + b.cfg.Duration.String(), "-out=" + results}
	argv = append(argv, b.cfg.ImagerArgs...)
	// 99 is a failed verdict: with no thresholds, not one success. It
	// still measured.
	out, cpu, err := b.runGenerator(ctx, nil, []int{99}, argv...)
	if err != nil {
		return outcome{}, err
	}
	file, err := os.ReadFile(results)
	if err != nil {
		return outcome{}, fmt.Errorf("imager results: %w", err)
	}
	o, err := parseImager(out, file, rate, b.cfg.Duration)
	o.CPU = cpu
	return o, err
}

// vegetaConns is vegeta's -max-workers and -connections, as in the
// issue's measurement.
const vegetaConns = 64

// runVegeta runs vegeta attack open-loop at rate for the duration, then
// vegeta report on what it wrote.
func (b *bench) runVegeta(ctx context.Context, rate int) (outcome, error) {
	results := filepath.Join(b.dir, "vegeta.bin")
	defer os.Remove(results)
	argv := []string{b.vegeta, "attack", fmt.Sprintf("-rate=%d/1s", rate), "-duration=" + b.cfg.Duration.String(),
		fmt.Sprintf("-max-workers=%d", vegetaConns), fmt.Sprintf("-connections=%d", vegetaConns), "-output=" + results}
	_, cpu, err := b.runGenerator(ctx, []byte("GET "+b.url+"/\n"), nil, argv...)
	if err != nil {
		return outcome{}, err
	}
	c := exec.CommandContext(ctx, b.vegeta, "report", "-type=json", results)
	var out strings.Builder
	c.Stdout = &out
	if err := runBounded(c, time.Minute); err != nil {
		return outcome{}, fmt.Errorf("vegeta report: %w", err)
	}
	o, err := parseVegeta([]byte(out.String()), rate, b.cfg.Duration)
	o.CPU = cpu
	return o, err
}
