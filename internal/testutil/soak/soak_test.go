//go:build soak

package soak

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// bin holds the paths of the binaries TestMain builds, by command name.
var bin map[string]string

// TestMain builds the binaries without the race detector: the soak measures
// memory, which the race detector inflates several times over. With
// SOAK_BIN_DIR set it uses the binaries already in that directory instead
// (for example ./bin after `make build`).
func TestMain(m *testing.M) {
	os.Exit(proc.RunTests(m, proc.BuildOptions{}, os.Getenv("SOAK_BIN_DIR"), &bin, "orchestrator", "executor", "sumservice"))
}

// rules are the growth rules of the soak (see Rule). The margins absorb
// what a healthy Go process does after the warm-up (the heap breathing
// around its GOGC target, a connection pool growing once during a stall).
// At the defaults (10m, 500 rps, samples every 10s) the medians compared
// are 160 s apart, so a steady leak fails once it adds about half the
// allowed growth in 160 s: for an executor (about 23 MiB, 25 goroutines,
// 100-250 fds, 250 rps) about 130 bytes per request, one goroutine per
// 6,000 requests or one fd per 2,000-3,000. The ceilings are an order of
// magnitude above what these processes use at that rate.
func rules() Rules {
	return Rules{
		RSS:        Rule{Name: "rss_mib", RelMargin: 0.10, AbsMargin: 8, Ceiling: 512},
		FDs:        Rule{Name: "fds", RelMargin: 0.10, AbsMargin: 16, Ceiling: 4096},
		Goroutines: Rule{Name: "goroutines", RelMargin: 0.10, AbsMargin: 10, Ceiling: 10000},
	}
}

// config is the soak's length, rate and sampling interval.
type config struct {
	duration, interval time.Duration
	rate               int
}

// loadConfig reads SOAK_DURATION (default 10m), SOAK_INTERVAL (default
// 10s, or SOAK_DURATION/60 when that is shorter, so that a short soak
// still has 60 samples) and SOAK_RATE (requests per second, default 500).
func loadConfig(t *testing.T) config {
	t.Helper()
	c := config{duration: 10 * time.Minute, rate: 500}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{"SOAK_DURATION", &c.duration}, {"SOAK_INTERVAL", &c.interval}} {
		if v := os.Getenv(d.env); v != "" {
			x, err := time.ParseDuration(v)
			if err != nil || x <= 0 {
				t.Fatalf("%s=%q: want a positive duration such as 10m", d.env, v)
			}
			*d.dst = x
		}
	}
	if c.interval == 0 {
		c.interval = min(10*time.Second, c.duration/60)
	}
	if v := os.Getenv("SOAK_RATE"); v != "" {
		x, err := strconv.Atoi(v)
		if err != nil || x <= 0 {
			t.Fatalf("SOAK_RATE=%q: want a positive number of requests per second", v)
		}
		c.rate = x
	}
	if c.samples() < 6 || c.duration%time.Second != 0 {
		t.Fatalf("SOAK_DURATION=%v: want whole seconds and room for at least 6 samples (SOAK_INTERVAL=%v)", c.duration, c.interval)
	}
	return c
}

// endMargin is how long before the end of the orchestrator's -duration
// sampling stops, so that the last sample never races with its exit.
const endMargin = 5 * time.Second

// samples returns how many samples the soak takes, one per interval from
// the end of round 0 until endMargin before the end of the test.
func (c config) samples() int {
	return int((c.duration - endMargin) / c.interval)
}

// member is one process under test: its series and, when it serves
// Prometheus metrics, their URL.
type member struct {
	p       *proc.Proc
	metrics string
	series  Series
}

// sample reads m once, at time at since the first sample.
func (m *member) sample(t *testing.T, at time.Duration) {
	t.Helper()
	pid := m.p.PID()
	rss, err := ReadRSS(pid)
	if err != nil {
		t.Fatalf("%s at %v: %v", m.series.Name, at, err)
	}
	n, err := CountFDs(pid)
	if err != nil {
		t.Fatalf("%s at %v: %v", m.series.Name, at, err)
	}
	gor := -1
	if m.metrics != "" {
		v, ok := proc.Scrape(t, m.metrics)["go_goroutines"]
		if !ok {
			t.Fatalf("%s at %v: no go_goroutines on %s", m.series.Name, at, m.metrics)
		}
		gor = int(v)
	}
	m.series.Samples = append(m.series.Samples, Sample{At: at, RSS: rss, FDs: n, Goroutines: gor})
}

// startStack starts a sumservice, an orchestrator running c.rate for
// c.duration, and two executors, all on loopback, and waits until both
// executors have joined. The orchestrator is the first member.
func startStack(t *testing.T, c config) []*member {
	t.Helper()
	life := proc.Options{Timeout: c.duration + 3*time.Minute, TermGrace: 5 * time.Second}
	sumPort := proc.FreePort(t)
	target := fmt.Sprintf("http://127.0.0.1:%d", sumPort)
	sum := life.Start(t, bin["sumservice"], "-listen", fmt.Sprintf("127.0.0.1:%d", sumPort))
	proc.WaitHTTP(t, target+"/healthz", 20*time.Second)

	httpPort, grpcPort := proc.FreePort(t), proc.FreePort(t)
	orchURL := fmt.Sprintf("http://127.0.0.1:%d", httpPort)
	orch := life.Start(t, bin["orchestrator"],
		"-target-mode=url", "-target-url="+target,
		"-request-source-type=random-sum", "-random-sum-path=/sum", "-seed=7",
		fmt.Sprintf("-rate=%d", c.rate), fmt.Sprintf("-duration=%v", c.duration),
		fmt.Sprintf("-listen-port=%d", httpPort), fmt.Sprintf("-grpc-port=%d", grpcPort),
		"-expect-executors=2", "-executor-wait-fail", "-executor-wait=30s",
		"-log-format=json", "-request-timeout=5s")
	proc.WaitHTTP(t, orchURL+"/healthz", 20*time.Second)
	members := []*member{{p: orch, metrics: orchURL + "/metrics", series: Series{Name: "orch"}}}
	for _, id := range []string{"exec-a", "exec-b"} {
		port := proc.FreePort(t)
		url := fmt.Sprintf("http://127.0.0.1:%d", port)
		p := life.Start(t, bin["executor"], fmt.Sprintf("-orchestrator=127.0.0.1:%d", grpcPort),
			"-id="+id, fmt.Sprintf("-metrics-port=%d", port), "-log-format=json")
		proc.WaitHTTP(t, url+"/healthz", 20*time.Second)
		members = append(members, &member{p: p, metrics: url + "/metrics", series: Series{Name: id}})
	}
	// The sumservice serves no /metrics, so its goroutines are not sampled.
	members = append(members, &member{p: sum, series: Series{Name: "sum"}})
	orch.WaitFor(t, "executor joined", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 2 })
	return members
}

// checkRate asserts that every round planned c.rate requests and that at
// least 99.9% of all planned requests succeeded, and returns the mean and
// lowest achieved rate of the rounds.
func checkRate(t *testing.T, rounds []map[string]any, c config) (mean, low float64) {
	t.Helper()
	if want := int(c.duration / time.Second); len(rounds) != want {
		t.Errorf("%d rounds finished, want %d (1s rounds over %v)", len(rounds), want, c.duration)
	}
	var planned, success, sum float64
	low = math.Inf(1)
	for _, r := range rounds {
		if got := proc.Num(t, r, "planned_rps"); got != float64(c.rate) {
			t.Errorf("round %v planned %v rps, want %d", r["round"], got, c.rate)
		}
		planned += proc.Num(t, r, "planned")
		success += proc.Num(t, r, "success")
		a := proc.Num(t, r, "achieved_rps")
		sum += a
		low = min(low, a)
		if proc.Num(t, r, "failed") > 0 {
			t.Logf("round %v: %v failed (top error %v)", r["round"], r["failed"], r["top_error"])
		}
	}
	if planned == 0 || success < 0.999*planned {
		t.Errorf("%v of %v planned requests succeeded, want at least 99.9%%: the rate did not hold", success, planned)
	}
	return sum / float64(len(rounds)), low
}

// TestSoak runs the stack at a fixed rate for SOAK_DURATION, samples the
// RSS, open fds and goroutines of every process every SOAK_INTERVAL, prints
// the samples, and fails if any series grows without bound (see Rule) or
// the rate did not hold. The first fifth of the samples is the warm-up.
func TestSoak(t *testing.T) {
	c := loadConfig(t)
	members := startStack(t, c)
	orch := members[0].p
	orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 1 })

	n := c.samples()
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * c.interval)); wait > 0 {
			time.Sleep(wait) // the sampling schedule, not a wait on a condition
		}
		for _, m := range members {
			m.sample(t, time.Since(start).Round(time.Second))
		}
	}
	if err := orch.Wait(t, 2*time.Minute); err != nil {
		t.Fatalf("orchestrator exited with %v, want 0 at the end of -duration", err)
	}
	meanRate, lowRate := checkRate(t, orch.Logs("round finished"), c)
	for _, why := range []string{"planned after its start time", "no executors connected", "no target to send to; dispatch paused"} {
		if skipped := orch.Logs("round skipped: " + why); len(skipped) > 0 {
			t.Errorf("the orchestrator skipped %d rounds (first: round %v) because: %s; the rate did not hold",
				len(skipped), skipped[0]["round"], why)
		}
	}

	warm := n / 5
	all := make([]Series, len(members))
	for i, m := range members {
		all[i] = m.series
	}
	t.Logf("soak: %v at %d rps, achieved mean %.1f rps, lowest round %.1f rps; samples every %v, first %d are warm-up (w)\n%s\n%s",
		c.duration, c.rate, meanRate, lowRate, c.interval, warm, Table(all, warm), Summary(all, warm))
	for _, err := range Judge(all, warm, rules()) {
		t.Error(err)
	}
}
