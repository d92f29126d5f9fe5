package engine

import (
	"context"
	"fmt"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Open-loop search parameters. A rate "holds" when every planned request
// was sent and succeeded, none was dropped, the achieved send rate is within
// benchMaxRateErrPct of the planned rate, and the p99 latency measured from
// the intended send time stays under benchMaxP99.
const (
	benchStep          = 3 * time.Second
	benchSearchBudget  = 60 * time.Second
	benchMaxRateErrPct = 1.0
	benchMaxP99        = 10 * time.Millisecond
	benchMaxInFlight   = 1000
	benchClosedFor     = 3 * time.Second
)

// benchBody is the small response body the loopback target returns.
const benchBody = "ok\n"

// benchTarget starts a minimal fasthttp server on 127.0.0.1 that answers
// every request with 200 and benchBody. It runs in the benchmark's process
// and so shares its CPUs with the load engine.
func benchTarget(b *testing.B) string {
	b.Helper()
	return benchTargetWith(b, benchBody)
}

// benchTargetWith is benchTarget answering with body.
func benchTargetWith(b *testing.B, body string) string {
	b.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatalf("listen: %v", err)
	}
	srv := &fasthttp.Server{
		Handler: func(ctx *fasthttp.RequestCtx) {
			ctx.SetStatusCode(fasthttp.StatusOK)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(body)
		},
		ReadTimeout: 5 * time.Second,
		IdleTimeout: 5 * time.Second,
		Concurrency: 1 << 16,
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.ShutdownWithContext(ctx); err != nil {
			b.Errorf("target shutdown: %v", err)
		}
		if err := <-done; err != nil {
			b.Errorf("target serve: %v", err)
		}
	})
	return "http://" + ln.Addr().String()
}

// benchRequests returns the one request every benchmark sends.
func benchRequests() []types.RequestSpec {
	return []types.RequestSpec{{Method: fasthttp.MethodGet, Path: "/bench"}}
}

// lagObserver records each request's send lag: how long after its intended
// time it was actually sent (latency minus service time).
type lagObserver struct {
	mu  sync.Mutex
	lag *hdrhistogram.Histogram
}

var _ tally.Observer = (*lagObserver)(nil)

func (o *lagObserver) ObserveRequest(s *tally.Sample) {
	if s.Outcome == tally.Dropped {
		return
	}
	o.mu.Lock()
	tally.Record(o.lag, s.Latency-s.Service)
	o.mu.Unlock()
}

// take returns the lag histogram so far and starts a new one.
func (o *lagObserver) take() *hdrhistogram.Histogram {
	o.mu.Lock()
	defer o.mu.Unlock()
	h := o.lag
	o.lag = tally.NewHistogram()
	return h
}

// rateStep is the outcome of one open-loop job at a fixed planned rate.
type rateStep struct {
	rate     int
	rep      *tally.Report
	lag      *hdrhistogram.Histogram
	gcs      uint32
	achieved float64
	errPct   float64
	why      string // empty when the rate holds
}

// runRate runs one open-loop job of d at rate requests/s and judges it.
// obs must be the Runner's observer.
func runRate(ctx context.Context, r *Runner, obs *lagObserver, url string, rate int, d time.Duration) rateStep {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	obs.take()
	count := int(int64(rate) * int64(d) / int64(time.Second))
	job := tally.Job{
		ID: fmt.Sprintf("bench-%d", rate), TargetURL: url,
		StartAt: time.Now().Add(20 * time.Millisecond), Duration: d, Count: count,
		Timeout: 5 * time.Second, Requests: benchRequests(),
	}
	rep := r.Run(ctx, job)
	runtime.ReadMemStats(&after)
	st := rateStep{rate: rate, rep: rep, lag: obs.take(), gcs: after.NumGC - before.NumGC}
	if rep.Sent > 0 {
		spacing := d / time.Duration(count)
		span := rep.LastSend.Sub(rep.FirstSend) + spacing
		st.achieved = float64(rep.Sent) / span.Seconds()
		st.errPct = 100 * (st.achieved - float64(rate)) / float64(rate)
	}
	switch p99 := tally.Percentile(rep.Latency, 99); {
	case rep.Err != "":
		st.why = "error: " + rep.Err
	case rep.Dropped > 0:
		st.why = fmt.Sprintf("%d dropped", rep.Dropped)
	case rep.Success != rep.Planned:
		st.why = fmt.Sprintf("%d of %d succeeded", rep.Success, rep.Planned)
	case math.Abs(st.errPct) >= benchMaxRateErrPct:
		st.why = fmt.Sprintf("rate error %.2f%%", st.errPct)
	case p99 >= benchMaxP99:
		st.why = fmt.Sprintf("p99 %v >= %v", p99, benchMaxP99)
	}
	return st
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// printStep writes one row of the search table to stdout.
func printStep(st rateStep, attempt int) {
	verdict := "holds"
	if st.why != "" {
		verdict = "FAILS: " + st.why
	}
	rep := st.rep
	fmt.Fprintf(os.Stdout, "%7d %3d %9.0f %+7.3f %7d %7d %3d %7.2f %7.2f %7.2f %7.2f %7.2f %7.2f  %s\n",
		st.rate, attempt, st.achieved, st.errPct, rep.Sent, rep.Dropped, st.gcs,
		ms(tally.Percentile(st.lag, 50)), ms(tally.Percentile(st.lag, 99)),
		ms(tally.Percentile(rep.Latency, 50)), ms(tally.Percentile(rep.Latency, 99)),
		ms(tally.Percentile(rep.Service, 50)), ms(tally.Percentile(rep.Service, 99)), verdict)
}

// BenchmarkOpenLoopSustained searches for the highest open-loop rate the
// Runner holds against a loopback target: it steps through benchRates with
// one benchStep job each and stops at the first rate that fails twice in a
// row. The search runs once whatever b.N is; run it with -benchtime 1x.
func BenchmarkOpenLoopSustained(b *testing.B) {
	url := benchTarget(b)
	obs := &lagObserver{lag: tally.NewHistogram()}
	r := NewRunner(RunnerConfig{MaxInFlight: benchMaxInFlight, Observer: obs})
	b.Cleanup(r.Client().CloseConnections)
	ctx, cancel := context.WithTimeout(context.Background(), benchSearchBudget+30*time.Second)
	defer cancel()

	// Warm up: open a few connections and fault in the code paths.
	runRate(ctx, r, obs, url, 1_000, 500*time.Millisecond)

	fmt.Fprintf(os.Stdout, "\nopen-loop search: %v per rate, hold = 0 dropped, all 2xx, |rate err| < %.0f%%, p99 latency < %v\n",
		benchStep, benchMaxRateErrPct, benchMaxP99)
	fmt.Fprintf(os.Stdout, "%7s %3s %9s %7s %7s %7s %3s %7s %7s %7s %7s %7s %7s  %s\n",
		"planned", "try", "achieved", "err_%", "sent", "dropped", "gcs",
		"lag_p50", "lag_p99", "lat_p50", "lat_p99", "svc_p50", "svc_p99", "verdict (times in ms)")

	b.ResetTimer()
	var best *rateStep
	start := time.Now()
search:
	for _, rate := range []int{1_000, 2_000, 5_000, 10_000, 15_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000, 100_000} {
		for attempt := 1; attempt <= 2; attempt++ {
			if time.Since(start)+benchStep > benchSearchBudget {
				fmt.Fprintf(os.Stdout, "search budget %v spent\n", benchSearchBudget)
				break search
			}
			st := runRate(ctx, r, obs, url, rate, benchStep)
			printStep(st, attempt)
			if st.why == "" {
				best = &st
				continue search
			}
		}
		break // failed twice: higher rates will not hold either
	}
	b.StopTimer()

	if best == nil {
		b.Fatal("no rate held, not even the lowest")
	}
	fmt.Fprintf(os.Stdout, "highest holding rate: %d/s (error %+.3f%%, latency p50 %.2fms p99 %.2fms, service p50 %.2fms p99 %.2fms)\n\n",
		best.rate, best.errPct, ms(tally.Percentile(best.rep.Latency, 50)), ms(tally.Percentile(best.rep.Latency, 99)),
		ms(tally.Percentile(best.rep.Service, 50)), ms(tally.Percentile(best.rep.Service, 99)))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(float64(best.rate), "rps")
	b.ReportMetric(best.errPct, "rate_err_%")
	b.ReportMetric(ms(tally.Percentile(best.rep.Latency, 50)), "p50_ms")
	b.ReportMetric(ms(tally.Percentile(best.rep.Latency, 99)), "p99_ms")
	b.ReportMetric(ms(tally.Percentile(best.rep.Service, 99)), "svc_p99_ms")
}

// BenchmarkClosedLoop measures the maximum request rate of the Client:
// C goroutines each send the next request as soon as the previous one has
// returned, for benchClosedFor. It runs once whatever b.N is.
func BenchmarkClosedLoop(b *testing.B) {
	for _, c := range []int{1, 16, 64} {
		b.Run(fmt.Sprintf("C=%d", c), func(b *testing.B) { closedLoop(b, c) })
	}
}

func closedLoop(b *testing.B, conc int) {
	url := benchTarget(b)
	client := NewClient(ClientConfig{MaxConnsPerHost: conc})
	b.Cleanup(client.CloseConnections)
	reqs, err := prepare(url, benchRequests())
	if err != nil {
		b.Fatalf("prepare: %v", err)
	}

	var (
		ok, failed atomic.Int64
		wg         sync.WaitGroup
		mu         sync.Mutex
	)
	service := tally.NewHistogram()
	b.ResetTimer()
	start := time.Now()
	stop := start.Add(benchClosedFor)
	for range conc {
		wg.Go(func() {
			p := &reqs[0]
			h := tally.NewHistogram()
			var s tally.Sample
			for time.Now().Before(stop) {
				client.send(p, time.Now().Add(5*time.Second), &s)
				if s.Outcome != tally.Success {
					failed.Add(1)
					continue
				}
				ok.Add(1)
				tally.Record(h, s.Service)
			}
			mu.Lock()
			service.Merge(h)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()

	if n := failed.Load(); n > 0 {
		b.Errorf("%d requests failed", n)
	}
	rps := float64(ok.Load()) / elapsed.Seconds()
	fmt.Fprintf(os.Stdout, "closed loop C=%d: %d ok in %v = %.0f requests/s, service p50 %.2fms p99 %.2fms\n",
		conc, ok.Load(), elapsed.Round(time.Millisecond), rps, ms(tally.Percentile(service, 50)), ms(tally.Percentile(service, 99)))
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(rps, "rps")
	b.ReportMetric(ms(tally.Percentile(service, 50)), "p50_ms")
	b.ReportMetric(ms(tally.Percentile(service, 99)), "p99_ms")
}

// BenchmarkSend measures one request through Client.send, sequentially,
// against the loopback target. Allocations include the in-process target's.
func BenchmarkSend(b *testing.B) {
	url := benchTarget(b)
	client := NewClient(ClientConfig{MaxConnsPerHost: 1})
	b.Cleanup(client.CloseConnections)
	reqs, err := prepare(url, benchRequests())
	if err != nil {
		b.Fatalf("prepare: %v", err)
	}
	p := &reqs[0]
	var s tally.Sample
	client.send(p, time.Now().Add(5*time.Second), &s) // dial outside the timing
	b.ReportAllocs()
	for b.Loop() {
		client.send(p, time.Now().Add(5*time.Second), &s)
		if s.Outcome != tally.Success {
			b.Fatalf("outcome %v, want success", s.Outcome)
		}
	}
}

// BenchmarkSlotSend measures one request through a slot's own connection
// (the plain-HTTP path of the Runner), sequentially, against the loopback
// target; compare BenchmarkSend. Allocations include the target's.
func BenchmarkSlotSend(b *testing.B) {
	url := benchTarget(b)
	client := NewClient(ClientConfig{})
	b.Cleanup(client.CloseConnections)
	reqs, err := prepare(url, benchRequests())
	if err != nil {
		b.Fatalf("prepare: %v", err)
	}
	s := &slot{}
	s.bind(&jobRun{client: client, addr: url[len("http://"):]})
	defer s.unbind()
	var smp tally.Sample
	s.send(&reqs[0], time.Now().Add(5*time.Second), &smp) // dial outside the timing
	b.ReportAllocs()
	for b.Loop() {
		s.send(&reqs[0], time.Now().Add(5*time.Second), &smp)
		if smp.Outcome != tally.Success {
			b.Fatalf("outcome %v (%v), want success", smp.Outcome, smp.Err)
		}
	}
}

// BenchmarkRunnerPerRequest measures the allocations of the Runner's whole
// per-request path (pacer, worker hand-off, send, histogram recording): one
// job of b.N requests at 10000/s. Its time per request is the pacing
// interval, so ns/op is suppressed; per-job allocations (the report's two
// histograms, prepare) are amortised over b.N.
func BenchmarkRunnerPerRequest(b *testing.B) {
	const rate = 10_000
	url := benchTarget(b)
	r := NewRunner(RunnerConfig{MaxInFlight: benchMaxInFlight})
	b.Cleanup(r.Client().CloseConnections)
	warm := r.Run(context.Background(), tally.Job{ID: "warm", TargetURL: url, StartAt: time.Now(),
		Duration: 100 * time.Millisecond, Count: 100, Timeout: 5 * time.Second, Requests: benchRequests()})
	if warm.Success != warm.Planned {
		b.Fatalf("warm-up: %+v", warm.Counts)
	}

	job := tally.Job{
		ID: "bench", TargetURL: url, StartAt: time.Now(),
		Duration: time.Duration(b.N) * time.Second / rate, Count: b.N,
		Timeout: 5 * time.Second, Requests: benchRequests(),
	}
	b.ReportAllocs()
	b.ResetTimer()
	job.StartAt = time.Now()
	rep := r.Run(context.Background(), job)
	b.StopTimer()
	if rep.Success != int64(b.N) {
		b.Fatalf("%d of %d succeeded: %+v", rep.Success, b.N, rep.Counts)
	}
	b.ReportMetric(0, "ns/op")
}
