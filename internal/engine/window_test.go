package engine

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func TestSendAt(t *testing.T) {
	start := time.Unix(1000, 0)
	fast := &jobRun{start: start, step: float64(100 * time.Microsecond), window: batchWindow}
	offsets := []time.Duration{0, 1, 100 * time.Microsecond, batchWindow - 1, batchWindow, batchWindow + 300*time.Microsecond, 10*time.Second + 7}
	for _, off := range offsets {
		due := start.Add(off)
		at := fast.sendAt(due)
		if at.After(due) || due.Sub(at) >= batchWindow || at.Sub(start)%batchWindow != 0 {
			t.Errorf("due at +%v: sent at +%v, want the start of its %v window", off, at.Sub(start), batchWindow)
		}
	}
	// Requests due in one window go out together; in the next, later.
	a, b := fast.sendAt(start.Add(120*time.Microsecond)), fast.sendAt(start.Add(380*time.Microsecond))
	if !a.Equal(b) {
		t.Errorf("requests due in one window sent at +%v and +%v", a.Sub(start), b.Sub(start))
	}
	if c := fast.sendAt(start.Add(batchWindow + time.Microsecond)); !c.After(a) {
		t.Errorf("a request of the next window sent at +%v, not after +%v", c.Sub(start), a.Sub(start))
	}
	slow := &jobRun{start: start, step: float64(time.Millisecond)}
	for _, off := range offsets {
		if due := start.Add(off); !slow.sendAt(due).Equal(due) {
			t.Errorf("a job without windows sends its request due at +%v at +%v", off, slow.sendAt(due).Sub(start))
		}
	}
}

func TestWindowsOnlyAboveTheirRate(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	for _, c := range []struct {
		count   int
		window  time.Duration
		clocked bool
	}{{100, 0, false}, {1000, 0, false}, {1001, batchWindow, false}, {7999, batchWindow, false}, {8000, batchWindow, true}, {50000, batchWindow, true}} {
		j, err := r.newJobRun(context.Background(), tally.Job{
			TargetURL: "http://127.0.0.1:1", StartAt: time.Now(), Duration: time.Second, Count: c.count,
			Requests: []types.RequestSpec{{Path: "/"}},
		}, tally.NewReport("window", 1))
		if err != nil {
			t.Fatal(err)
		}
		if j.window != c.window || j.clocked() != c.clocked {
			t.Errorf("%d requests/s: send window %v, clocked %v; want %v, %v", c.count, j.window, j.clocked(), c.window, c.clocked)
		}
	}
}

// sampleLog keeps every sample's latency and service time.
type sampleLog struct {
	mu       sync.Mutex
	lat, svc []time.Duration
}

var _ tally.Observer = (*sampleLog)(nil)

func (l *sampleLog) ObserveRequest(s *tally.Sample) {
	l.mu.Lock()
	l.lat, l.svc = append(l.lat, s.Latency), append(l.svc, s.Service)
	l.mu.Unlock()
}

// TestEarlySendsCountFromTheirSend runs a job with send windows and checks
// that no request reached the target more than a window before its due
// time, that some went out early, and that no latency is below its
// service time.
func TestEarlySendsCountFromTheirSend(t *testing.T) {
	const n, dur = 1000, 400 * time.Millisecond // 2,500/s: windows hold two or three
	var mu sync.Mutex
	arrived := make(map[int]time.Time, n)
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		k, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/"))
		if err != nil {
			t.Errorf("unexpected path %q", r.URL.Path)
			return
		}
		mu.Lock()
		arrived[k] = now
		mu.Unlock()
	})
	reqs := make([]types.RequestSpec, n)
	for k := range reqs {
		reqs[k] = types.RequestSpec{Path: fmt.Sprintf("/%d", k)}
	}
	log := &sampleLog{}
	r := NewRunner(RunnerConfig{Observer: log})
	start := time.Now().Add(50 * time.Millisecond)
	rep := r.Run(context.Background(), tally.Job{TargetURL: url, StartAt: start, Duration: dur, Count: n, Requests: reqs})
	checkAccounted(t, rep)
	if rep.Success != n {
		t.Fatalf("success %d of %d: %+v", rep.Success, n, rep.Counts)
	}
	mu.Lock()
	defer mu.Unlock()
	for k, at := range arrived {
		due := start.Add(dur * time.Duration(k) / n)
		if early := due.Sub(at); early >= batchWindow {
			t.Errorf("request %d arrived %v before its due time, more than the %v window", k, early, batchWindow)
		}
	}
	early := 0
	for i := range log.lat {
		if log.lat[i] < log.svc[i] {
			t.Fatalf("a latency of %v below its service time %v", log.lat[i], log.svc[i])
		}
		if log.lat[i] == log.svc[i] {
			early++
		}
	}
	if early == 0 {
		t.Errorf("none of %d requests went out before its due time: no send windows", n)
	}
	t.Logf("%d of %d requests sent early in their window", early, n)
}

// TestTickEnds checks that a job's window clock returns once the job's
// last window has started, and soon after the job stops, before its start
// too.
func TestTickEnds(t *testing.T) {
	if pt := newPreciseTimer(); pt == nil {
		t.Skip("no precise timer on this system")
	} else {
		pt.close()
	}
	// run starts j's clock; armed receives each time it starts a sleep.
	run := func(j *jobRun) (done <-chan struct{}, armed <-chan struct{}) {
		d, a := make(chan struct{}), make(chan struct{}, 1)
		pt := newPreciseTimer()
		pt.afterArm = func() {
			select {
			case a <- struct{}{}:
			default:
			}
		}
		go func() {
			defer pt.close()
			j.tickOn(pt)
			close(d)
		}()
		return d, a
	}
	step := float64(50 * time.Microsecond) // 20,000/s
	j := &jobRun{start: time.Now(), step: step, window: batchWindow, n: 2000}
	done, _ := run(j)
	select {
	case <-done:
		if last := j.sendAt(j.due(j.n - 1)); time.Now().Before(last) {
			t.Errorf("tick returned %v before the job's last window", time.Until(last))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tick still running 10s after a 100ms job's last window")
	}
	// Stopped while sleeping towards a start 30 s away, or amid the job.
	for _, start := range []time.Duration{30 * time.Second, 0} {
		long := &jobRun{start: time.Now().Add(start), step: step, window: batchWindow, n: 20_000_000} // 1000 s
		done, armed := run(long)
		select {
		case <-armed:
		case <-time.After(10 * time.Second):
			t.Fatal("tick never slept")
		}
		long.stopped.Store(true)
		stopped := time.Now()
		select {
		case <-done:
			if took := time.Since(stopped); took > maxNap+time.Second {
				t.Errorf("start in %v: tick returned %v after its job stopped", start, took)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("start in %v: tick still running 10s after its job stopped", start)
		}
	}
}
