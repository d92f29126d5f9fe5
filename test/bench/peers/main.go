// Command peers is `make bench-peers`: imager side by side with wrk (and
// vegeta, when it can be installed) on one core each, against one nginx
// worker pinned to another core, all on 127.0.0.1.
//
// It installs wrk and nginx-light from Debian when they are missing, builds
// ./cmd/imager, starts nginx from a generated configuration in a temporary
// directory, and then measures, every generator pinned with taskset:
//
//   - wrk's closed-loop rate (wrk -t1 -c50);
//   - imager's highest open-loop rate held for the whole duration with 0
//     dropped, no failed request and a rate error under 0.5%, as a
//     fraction of wrk's closed-loop rate: each attempt of a bisection is a
//     short wrk closed-loop run and then a full `imager run` at a fraction
//     of the rate wrk just reached;
//   - the same for vegeta (open loop, 64 workers and connections);
//   - the CPU time per request of each generator at one fixed rate (wrk is
//     paced there by a Lua delay() hook, as it has no rate option: in
//     millisecond steps, the shape of imager's traffic, and for reference
//     in 10 ms bursts of 50);
//   - imager's p99 and p99.9 at 1,000/s against a target of its own that
//     stops answering for 100 ms of every second, against their analytic
//     values (stall.go).
//
// It prints one table. Everything is tuned by environment variables (see
// loadConfig); BENCH_PEERS_DURATION=3s makes a quick try. docs/BENCHMARKS.md,
// section "Side by side with wrk", records a run.
package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/soak"
)

func main() {
	if port := os.Getenv(stallPortEnv); port != "" {
		fmt.Fprintln(os.Stderr, "bench-peers:", serveStall(port))
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

// run sets everything up, measures and prints the table on out; progress
// goes to progress.
func run(ctx context.Context, out, progress io.Writer) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return err
	}
	if err := checkCPUs(cfg); err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "bench-peers-")
	if err != nil {
		return fmt.Errorf("temporary directory: %w", err)
	}
	defer os.RemoveAll(dir)
	b := &bench{cfg: cfg, dir: dir, log: progress}
	if err := b.prepare(ctx); err != nil {
		return err
	}
	target, err := startNginx(ctx, b.nginx, dir, cfg.TargetCPU)
	if err != nil {
		return err
	}
	defer target.stop()
	b.url = target.url
	fmt.Fprintf(progress, "target: nginx, 1 worker, 3-byte body, at %s on CPU %d; generators on CPU %d; %s per run\n",
		b.url, cfg.TargetCPU, cfg.GeneratorCPU, cfg.Duration)
	m := machineInfo()
	res, err := b.measure(ctx)
	if err != nil {
		return err
	}
	if err := b.repeatFixed(ctx, res); err != nil {
		return err
	}
	target.stop()
	stall, err := b.measureStall(ctx)
	if err != nil {
		return err
	}
	m.LoadAfter = loadAverage()
	printReport(out, cfg, m, res)
	printStall(out, cfg, stall)
	return nil
}

// measure runs every generator and returns their rows, wrk first.
func (b *bench) measure(ctx context.Context) ([]row, error) {
	wrk, err := b.measureWrk(ctx)
	if err != nil {
		return nil, err
	}
	rows := []row{wrk}
	imager, err := b.measureOpenLoop(ctx, "imager", b.runImager, wrk.Highest.Rate)
	if err != nil {
		return nil, err
	}
	rows = append(rows, imager)
	if b.vegeta == "" {
		rows = append(rows, row{Name: "vegeta", Skipped: b.vegetaNote})
		return rows, nil
	}
	vegeta, err := b.measureOpenLoop(ctx, "vegeta", b.runVegeta, wrk.Highest.Rate)
	if err != nil {
		return nil, err
	}
	return append(rows, vegeta), nil
}

// measureWrk runs wrk closed-loop and then paced to the fixed rate in two
// shapes (see pacing): in millisecond steps, the shape of imager's open
// loop, and in bursts of all its connections.
func (b *bench) measureWrk(ctx context.Context) (row, error) {
	r := row{Name: "wrk", Found: true}
	var err error
	if r.Highest, err = b.runWrk(ctx, b.cfg.Connections, 0); err != nil {
		return r, err
	}
	if r.Highest.Rate <= 0 {
		// The open-loop searches run at fractions of this rate.
		return r, fmt.Errorf("wrk's closed loop reached no rate against %s: %s", b.url, r.Highest)
	}
	fmt.Fprintf(b.log, "wrk closed loop: %s\n", r.Highest)
	if r.Fixed, r.PacedConns, err = b.paceWrk(ctx, stepPacing, max(1, b.cfg.FixedRPS/1000)); err != nil {
		return r, err
	}
	if r.Burst, r.BurstConns, err = b.paceWrk(ctx, burstPacing, b.cfg.Connections); err != nil {
		return r, err
	}
	return r, nil
}

// pacing is how wrk's Lua delay() spreads its requests at the fixed rate.
type pacing int

const (
	// stepPacing waits 1 ms before each request of each of about
	// rate/1000 connections: wrk's event loop then sends a few requests
	// every millisecond or so, the shape of imager's open loop, whose
	// workers wake on the Go runtime's millisecond timer (about 7 requests
	// every 1.3 ms at 5,000/s here). This is the CPU imager is held to.
	stepPacing pacing = iota
	// burstPacing waits conns·1000/rate ms before each request of each of
	// the configured connections (50): they stay in step, so all of them
	// fire together every 10 ms at 5,000/s. Far fewer wake-ups of wrk
	// and of the target make each request cheaper, so this is shown for
	// reference.
	burstPacing
)

// delay returns the wait before each request, in milliseconds.
func (p pacing) delay(conns, rate int) int {
	if p == stepPacing {
		return 1
	}
	return max(1, (conns*1000+rate/2)/rate)
}

// paceWrk runs wrk paced to the fixed rate, starting from conns
// connections. The rate also depends on latency: when it misses the fixed
// rate by more than 3%, a second run scales the connections to correct
// it, and the closer of the two counts.
func (b *bench) paceWrk(ctx context.Context, p pacing, conns int) (outcome, int, error) {
	rate := b.cfg.FixedRPS
	want := float64(rate)
	miss := func(o outcome) float64 { return math.Abs(o.Rate/want - 1) }
	var best outcome
	bestConns := conns
	for attempt := 0; attempt < 2; attempt++ {
		ms := p.delay(conns, rate)
		o, err := b.runWrk(ctx, conns, ms)
		if err != nil {
			return best, bestConns, err
		}
		fmt.Fprintf(b.log, "wrk paced to about %d/s by %d connections waiting %d ms: %s\n", rate, conns, ms, o)
		if attempt == 0 || miss(o) < miss(best) {
			best, bestConns = o, conns
		}
		if miss(o) <= 0.03 || o.Rate == 0 {
			break
		}
		conns = min(10000, max(1, int(math.Round(float64(conns)*want/o.Rate))))
	}
	return best, bestConns, nil
}

// refDuration is the longest of the short wrk closed-loop runs each
// open-loop attempt is paired with.
const refDuration = 5 * time.Second

// measureOpenLoop searches the highest fraction of wrk's closed-loop rate
// an open-loop generator holds, from MinRatio up, with 1.1 as the upper
// end (see bench.relative), then runs it once at the fixed rate. The
// row's Ref is the median of the paired wrk runs' rates, against which
// the held rate was judged before 2026-12-02, 08:57 UTC (when the search
// tried absolute rates below 1.1 × wrk's first run); the goal now needs
// both.
func (b *bench) measureOpenLoop(ctx context.Context, name string, try attemptFunc, wrkRate float64) (row, error) {
	r := row{Name: name}
	var refs []float64
	s := &search{Name: name, Try: b.relative(try, wrkRate, &refs), Lo: permille(b.cfg.MinRatio), Hi: 1100,
		Precision: b.cfg.Precision, MaxAttempts: b.cfg.MaxAttempts, Log: b.log, Label: ratioLabel}
	var err error
	r.Highest, r.Found, err = s.run(ctx)
	if r.Refs = len(refs); r.Refs > 0 {
		r.Ref = soak.Median(refs)
	}
	if err != nil {
		return r, err
	}
	r.AtTop = r.Found && s.Capped
	if r.Fixed, err = try(ctx, b.cfg.FixedRPS); err != nil {
		return r, err
	}
	fmt.Fprintf(b.log, "%s at %d/s: %s\n", name, b.cfg.FixedRPS, r.Fixed)
	return r, nil
}

// relative returns a search's tryFunc at x‰ of wrk's closed-loop rate: a
// wrk closed-loop run of refSeconds, whose rate it appends to refs, then
// try at x‰ of that rate, with the rate in the outcome's Ref. This
// machine's speed drifts by tens of per cent within minutes (wrk's closed
// loop read 64,927-106,498/s within one search), so an open loop is
// compared with wrk in the same minute. A wrk run that fails is logged,
// and the attempt runs at x‰ of the last rate wrk reached (its first run,
// before any paired one), marked StaleRef: the report does not judge the
// goal on it.
func (b *bench) relative(try attemptFunc, first float64, refs *[]float64) tryFunc {
	last := first
	return func(ctx context.Context, x int) (outcome, error) {
		ref, err := b.runWrkFor(ctx, b.cfg.Connections, 0, time.Duration(refSeconds(b.cfg))*time.Second)
		stale := false
		switch {
		case ctx.Err() != nil:
			return outcome{}, ctx.Err()
		case err != nil || ref.Rate <= 0:
			fmt.Fprintf(b.log, "wrk closed loop, paired: failed (%v); the attempt uses the last rate, %.0f req/s\n", err, last)
			stale = true
		default:
			fmt.Fprintf(b.log, "wrk closed loop, paired: %.0f req/s\n", ref.Rate)
			*refs = append(*refs, ref.Rate)
			last = ref.Rate
		}
		rate := max(1, int(math.Round(float64(x)*last/1000)))
		o, err := try(ctx, rate)
		o.Planned, o.Ref, o.StaleRef = float64(rate), last, stale
		return o, err
	}
}

// permille returns f in thousandths, rounded.
func permille(f float64) int { return int(math.Round(f * 1000)) }

// ratioLabel formats x‰ of wrk's rate for a search's log.
func ratioLabel(x int) string { return fmt.Sprintf("%.3f× wrk", float64(x)/1000) }

// refSeconds is the length of the paired wrk runs in whole seconds:
// refDuration, or the configured duration when shorter, at least 1.
func refSeconds(c config) int {
	return max(1, int(min(refDuration, c.Duration).Seconds()))
}
