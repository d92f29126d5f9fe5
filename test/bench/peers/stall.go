package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"time"
)

// The stalling target: a server that stops answering for stallFor at the
// start of every stallEvery. Under a constant arrival rate a request that
// arrives at phase φ < stallFor of a period waits stallFor − φ, so the
// share of requests slower than x (for x < stallFor) is
// (stallFor − x) / stallEvery, and quantile q of latency is
// stallFor − (1 − q)·stallEvery: p99 90 ms and p99.9 99 ms here (plus the
// target's service time, microseconds).
const (
	stallFor   = 100 * time.Millisecond
	stallEvery = time.Second
	stallRate  = 1000
	// stallPortEnv makes this program serve the stalling target on the
	// port it names instead of benchmarking.
	stallPortEnv = "BENCH_PEERS_STALL_PORT"
	// stallTolerance is how far a measured quantile may be from its
	// analytic value.
	stallTolerance = 0.05
)

// stallQuantile returns the analytic quantile q (0 to 1) of latency under
// the stalling target.
func stallQuantile(q float64) time.Duration {
	return stallFor - time.Duration((1-q)*float64(stallEvery))
}

// serveStall serves the stalling target on 127.0.0.1:port until the
// process is killed.
func serveStall(port string) error {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("stall target: %w", err)
	}
	epoch := time.Now()
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if phase := time.Since(epoch) % stallEvery; phase < stallFor {
			time.Sleep(stallFor - phase)
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}
	return srv.Serve(l)
}

// stallResult is imager's run against the stalling target.
type stallResult struct {
	Run        outcome
	P99, P999  time.Duration
	Within     bool
	RateTarget int
}

// measureStall runs imager open-loop at stallRate against the stalling
// target, pinned to the target CPU, and compares its p99 and p99.9 with
// their analytic values.
func (b *bench) measureStall(ctx context.Context) (stallResult, error) {
	t, err := startStallTarget(ctx, b.cfg.TargetCPU)
	if err != nil {
		return stallResult{}, err
	}
	defer t.stop()
	res := stallResult{RateTarget: stallRate}
	res.Run, err = b.runImagerAt(ctx, t.url, stallRate)
	if err != nil {
		return res, err
	}
	res.P99, res.P999 = res.Run.P99, res.Run.P999
	res.Within = near(res.P99, stallQuantile(0.99)) && near(res.P999, stallQuantile(0.999))
	fmt.Fprintf(b.log, "imager against the stalling target at %d/s: %s; p99.9 %s\n", stallRate, res.Run, res.P999)
	return res, nil
}

// near reports whether got is within stallTolerance of want.
func near(got, want time.Duration) bool {
	return math.Abs(float64(got-want)) <= stallTolerance*float64(want)
}

// startStallTarget runs this program as the stalling target, pinned to
// cpu, on a free loopback port, and waits until it answers.
func startStallTarget(ctx context.Context, cpu int) (*targetProcess, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("stall target: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	c := exec.Command("taskset", "-c", strconv.Itoa(cpu), self)
	c.Env = append(os.Environ(), stallPortEnv+"="+strconv.Itoa(port))
	return startTarget(ctx, "the stall target", c, port, "")
}

// printStall prints the stall measurement under the table.
func printStall(w io.Writer, c config, s stallResult) {
	verdict := "within"
	if !s.Within {
		verdict = "NOT within"
	}
	pct := func(got, want time.Duration) string {
		return fmt.Sprintf("%+.1f%%", (float64(got)/float64(want)-1)*100)
	}
	fmt.Fprintf(w, "latency under a known stall (target stops answering %s of every %s; imager at %d/s for %s, %s dropped):"+
		" p99 %s (analytic %s, %s), p99.9 %s (analytic %s, %s): %s %.0f%%\n",
		stallFor, stallEvery, s.RateTarget, c.Duration, strconv.FormatInt(s.Run.Dropped, 10),
		latency(s.P99), latency(stallQuantile(0.99)), pct(s.P99, stallQuantile(0.99)),
		latency(s.P999), latency(stallQuantile(0.999)), pct(s.P999, stallQuantile(0.999)), verdict, stallTolerance*100)
}
