package e2e

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/testutil/soak"
	"github.com/PeladoCollado/imager/results"
)

// limitedTarget is a loopback server that serves at most slots requests at
// a time, each for service, so that its capacity is about
// slots/service. It counts what it answered and the connections it saw.
type limitedTarget struct {
	url                     string
	served, accepted        atomic.Int64
	open, peakOpen          atomic.Int64
	firstServed, lastServed atomic.Int64 // Unix nanoseconds
}

func startLimitedTarget(t *testing.T, slots int, service time.Duration) *limitedTarget {
	t.Helper()
	lt := &limitedTarget{}
	sem := make(chan struct{}, slots)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sem <- struct{}{}
		time.Sleep(service)
		<-sem
		now := time.Now().UnixNano()
		lt.firstServed.CompareAndSwap(0, now)
		lt.lastServed.Store(now)
		lt.served.Add(1)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		switch s {
		case http.StateNew:
			lt.accepted.Add(1)
			n := lt.open.Add(1)
			for p := lt.peakOpen.Load(); n > p && !lt.peakOpen.CompareAndSwap(p, n); p = lt.peakOpen.Load() {
			}
		case http.StateClosed, http.StateHijacked:
			lt.open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	lt.url = srv.URL
	return lt
}

// TestOverloadDegradesHonestly runs `imager run` at about twice the rate
// a target can serve (issue 10): the run must report the rate it achieved,
// the queueing in its latency and the requests it dropped, every planned
// request must have exactly one outcome, the connections must stay at
// their bound, and memory must stay flat. It does so with a configured
// connection count and with the automatic one: a job to a saturated
// target has up to rate × engine.AssumedLatency (40 at 2,000/s), and two
// rounds may hold their connections at once (a round's workers take
// theirs 20 ms before it starts).
func TestOverloadDegradesHonestly(t *testing.T) {
	const rate = 2000
	job := int64(rate * engine.AssumedLatency / time.Second)
	for _, tc := range []struct {
		name        string
		flags       []string
		least, most int64
	}{
		{"configured", []string{"-connections=8"}, 8, 8},
		{"automatic", nil, job, 2 * job},
	} {
		t.Run(tc.name, func(t *testing.T) { overload(t, rate, tc.flags, tc.least, tc.most) })
	}
}

// overload runs imager at rate against a target that serves about 1,000/s
// with flags added, and checks what the run reports, that the target saw
// from least to most connections open at once, and that memory stayed
// flat.
func overload(t *testing.T, rate int, flags []string, least, most int64) {
	const (
		slots   = 4
		service = 4 * time.Millisecond // capacity about 1,000/s
		secs    = 8
	)
	target := startLimitedTarget(t, slots, service)
	dir := t.TempDir()
	reqs, out := filepath.Join(dir, "requests.ndjson"), filepath.Join(dir, "results.ndjson")
	if err := os.WriteFile(reqs, []byte(`{"method":"GET","path":"/"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"run", "-executors=1", "-target-url=" + target.url,
		"-request-source-type=file", "-request-source-file=" + reqs, "-load-calculator=step",
		"-min-rps=" + strconv.Itoa(rate), "-max-rps=" + strconv.Itoa(rate), "-step-rps=1",
		fmt.Sprintf("-duration=%ds", secs), "-max-inflight=100", "-out=" + out}, flags...)
	p := proc.Start(t, bin["imager"], args...)
	var rss []int64
	start := time.Now()
	for deadline := start.Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
		b, err := soak.ReadRSS(p.PID())
		if err != nil {
			break // exited
		}
		if time.Since(start) > 2*time.Second {
			rss = append(rss, b>>10)
		}
	}
	if err := p.Wait(t, time.Minute); err != nil && !strings.Contains(err.Error(), "exit status 99") {
		t.Fatalf("imager run: %v\n%s", err, p.RawLog())
	}
	f, err := results.ReadFile(out)
	if err != nil || f.Summary == nil {
		t.Fatalf("results file: %v (summary %v)\n%s", err, f.Summary != nil, p.RawLog())
	}
	checkOverloadSummary(t, f.Summary, target, rate*secs)
	peak := target.peakOpen.Load()
	t.Logf("the target saw at most %d connections open at once, %d in all", peak, target.accepted.Load())
	if peak < least || peak > most {
		t.Errorf("the target saw %d connections open at once, want %d to %d", peak, least, most)
	}
	checkFlat(t, rss)
}

// checkOverloadSummary checks the accounting and what the summary says
// about an overloaded run.
func checkOverloadSummary(t *testing.T, s *results.Summary, target *limitedTarget, planned int) {
	t.Helper()
	var outcomes int64
	for _, n := range s.Outcomes {
		outcomes += n
	}
	if s.Planned != int64(planned) || outcomes != s.Planned {
		t.Errorf("planned %d (want %d), outcomes add up to %d: %v", s.Planned, planned, outcomes, s.Outcomes)
	}
	served := target.served.Load()
	success := s.Outcomes["success"]
	// Every success is a response the target wrote; a few responses may
	// be written as the run's last requests are cut off.
	if success > served || served-success > 16 {
		t.Errorf("imager counted %d successes, the target served %d", success, served)
	}
	span := time.Duration(target.lastServed.Load() - target.firstServed.Load())
	capacity := float64(served) / span.Seconds()
	t.Logf("target served %d at %.0f/s; imager: planned %d, sent %d in %.1f s, outcomes %v, latency p50 %.1f ms p99 %.1f ms",
		served, capacity, s.Planned, s.Sent, s.ElapsedSeconds, s.Outcomes, s.Latency.P50, s.Latency.P99)
	if s.Outcomes["dropped"] < s.Planned/4 {
		t.Errorf("dropped %d of %d at about twice the target's capacity (%.0f/s), want at least a quarter dropped",
			s.Outcomes["dropped"], s.Planned, capacity)
	}
	if got := float64(s.Sent) / s.ElapsedSeconds; got > 1.25*capacity {
		t.Errorf("sent %.0f/s, more than the %.0f/s the target can serve", got, capacity)
	}
	if s.Latency.P50 < 20 {
		t.Errorf("latency p50 %.2f ms: the queueing behind a saturated target does not show", s.Latency.P50)
	}
}

// checkFlat fails when the resident memory samples grow: the median of
// the last third may not exceed that of the first third by more than
// 16 MiB.
func checkFlat(t *testing.T, rss []int64) {
	t.Helper()
	if len(rss) < 9 {
		t.Fatalf("only %d memory samples", len(rss))
	}
	third := len(rss) / 3
	med := func(v []int64) int64 {
		v = slices.Clone(v)
		slices.Sort(v)
		return v[len(v)/2]
	}
	first, last := med(rss[:third]), med(rss[len(rss)-third:])
	t.Logf("resident memory (KiB) after the first 2 s: %v", rss)
	if last-first > 16<<10 {
		t.Errorf("resident memory grew from %d to %d KiB during the run", first, last)
	}
}
