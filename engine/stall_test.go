package engine

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"
)

// TestLatencyUnderStall checks coordinated-omission-correct latency: a
// target that stops answering for S every P, loaded at a constant rate,
// has known latency quantiles. A request arriving t into a stall waits
// S−t, so P(latency > x) = (S−x)/P for x < S: the q-quantile is
// S − (1−q)·P, which for S = 100 ms and P = 1 s gives p99 = 90 ms and
// p99.9 = 99 ms. The engine must report both within 5%, though its
// connections are far fewer than the requests a stall holds.
//
// The machine running the tests may be shared, and a stall of the test
// process itself adds latency the engine rightly reports, so the
// measurement gets three attempts; the race detector's slowdown makes it
// meaningless, so it is skipped there.
func TestLatencyUnderStall(t *testing.T) {
	if raceEnabled {
		t.Skip("latency within 5% is not measurable under the race detector")
	}
	var fails []string
	for attempt := 1; attempt <= 3; attempt++ {
		why := stallRun(t)
		if why == "" {
			return
		}
		fails = append(fails, why)
		t.Logf("attempt %d: %s", attempt, why)
	}
	t.Errorf("latency under a known stall off in every attempt: %q", fails)
}

// stallRun runs one 3 s job at 1000/s against a stalling target and
// returns what is wrong with the quantiles it measured; empty when right.
func stallRun(t *testing.T) string {
	const (
		stall  = 100 * time.Millisecond
		period = time.Second
		rate   = 1000
		dur    = 3 * period
	)
	start := time.Now().Add(100 * time.Millisecond)
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		if since := time.Since(start); since >= 0 {
			if phase := since % period; phase < stall {
				time.Sleep(stall - phase)
			}
		}
	})
	r := NewRunner(RunnerConfig{})
	defer r.CloseConnections()
	rep := r.Run(context.Background(), Job{
		TargetURL: url, StartAt: start, Duration: dur, Count: rate * int(dur/time.Second),
		Timeout: 5 * time.Second, Requests: []Request{{Path: "/"}},
	})
	checkAccounted(t, rep)
	if rep.Success != rep.Planned {
		t.Fatalf("%+v, want every request to succeed", rep.Counts)
	}
	if auto := AutoConnections(int(rep.Planned), dur); rep.Dials > int64(auto) {
		t.Fatalf("%d connections opened, want at most the %d of the automatic sizing", rep.Dials, auto)
	}
	var why string
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{99, 90 * time.Millisecond}, {99.9, 99 * time.Millisecond}} {
		got := Percentile(rep.Latency, c.q)
		t.Logf("p%v latency %v (analytic %v)", c.q, got, c.want)
		if d := got - c.want; d < -c.want/20 || d > c.want/20 {
			why += fmt.Sprintf("p%v %v, want %v±5%%; ", c.q, got, c.want)
		}
	}
	return why
}
