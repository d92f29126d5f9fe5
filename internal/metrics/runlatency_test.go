package metrics

import (
	"math"
	"testing"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// gatherHistogram returns the one histogram of family name in reg.
func gatherHistogram(t *testing.T, reg *prometheus.Registry, name string) *dto.Histogram {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			if mf.GetType() != dto.MetricType_HISTOGRAM || len(mf.GetMetric()) != 1 {
				t.Fatalf("%s: type %v with %d series, want one histogram", name, mf.GetType(), len(mf.GetMetric()))
			}
			return mf.GetMetric()[0].GetHistogram()
		}
	}
	t.Fatalf("%s not gathered", name)
	return nil
}

// roundHistogram records each value (µs) n times in a new histogram.
func roundHistogram(t *testing.T, n int64, values ...int64) *hdrhistogram.Histogram {
	t.Helper()
	h := tally.NewHistogram()
	for _, v := range values {
		if err := h.RecordValues(v, n); err != nil {
			t.Fatal(err)
		}
	}
	return h
}

func TestRunLatencyHistogram(t *testing.T) {
	o, reg := newTestOrchestrator(t)
	if h := gatherHistogram(t, reg, runLatencyName); h.GetSampleCount() != 0 || len(h.GetBucket()) != len(LatencyBuckets()) {
		t.Fatalf("empty run: count %d with %d buckets, want 0 with %d", h.GetSampleCount(), len(h.GetBucket()), len(LatencyBuckets()))
	}
	// Two rounds, the second with large counts: 80µs, exactly 1ms, 3ms,
	// 1.2s and 2 minutes (above the last bound, so only in +Inf).
	r1 := roundHistogram(t, 3, 80, 1000, 3000)
	r2 := roundHistogram(t, 1_000_000, 80, 1_200_000, 120_000_000)
	o.RoundFinished(types.RoundStats{Round: 0}, tally.Counts{}, r1)
	o.RoundFinished(types.RoundStats{Round: 1}, tally.Counts{}, nil) // no histogram: adds nothing
	o.RoundFinished(types.RoundStats{Round: 2}, tally.Counts{}, r2)

	run := tally.NewHistogram()
	run.Merge(r1)
	run.Merge(r2)
	got := gatherHistogram(t, reg, runLatencyName)
	if got.GetSampleCount() != uint64(run.TotalCount()) {
		t.Errorf("count = %d, want %d", got.GetSampleCount(), run.TotalCount())
	}
	wantSum := run.Mean() * float64(run.TotalCount()) / 1e6
	if d := math.Abs(got.GetSampleSum() - wantSum); d > wantSum*1e-3 {
		t.Errorf("sum = %g s, want %g s (HdrHistogram mean × count) within 0.1%%", got.GetSampleSum(), wantSum)
	}
	want := map[float64]uint64{
		0.0001: 1_000_003, 0.00025: 1_000_003, 0.0005: 1_000_003,
		0.001: 1_000_006, 0.0025: 1_000_006, 0.005: 1_000_009,
		1: 1_000_009, 2.5: 2_000_009, 60: 2_000_009,
	}
	for _, b := range got.GetBucket() {
		if w, ok := want[b.GetUpperBound()]; ok && b.GetCumulativeCount() != w {
			t.Errorf("bucket le=%g: %d, want %d", b.GetUpperBound(), b.GetCumulativeCount(), w)
		}
	}
	// Every value above the last bound is only in the total (+Inf).
	if last := got.GetBucket()[len(got.GetBucket())-1].GetCumulativeCount(); got.GetSampleCount()-last != 1_000_000 {
		t.Errorf("+Inf holds %d values above 60s, want 1000000", got.GetSampleCount()-last)
	}
}

func TestRunLatencyMatchesQuantiles(t *testing.T) {
	// Spread values: each bucket's cumulative count must equal the
	// HdrHistogram's count of values at or below the bound, within the
	// width of the HdrHistogram bucket holding the bound.
	o, reg := newTestOrchestrator(t)
	h := tally.NewHistogram()
	for v := int64(1); v <= 5_000_000; v = v*11/10 + 1 {
		_ = h.RecordValues(v, v%7+1)
	}
	o.RoundFinished(types.RoundStats{}, tally.Counts{}, h)
	got := gatherHistogram(t, reg, runLatencyName)
	for _, b := range got.GetBucket() {
		bound := int64(math.Round(b.GetUpperBound() * 1e6))
		var below, straddle int64
		for _, bar := range h.Distribution() {
			switch {
			case bar.To <= bound:
				below += bar.Count
			case bar.From <= bound:
				straddle += bar.Count
			}
		}
		c := int64(b.GetCumulativeCount())
		if c < below || c > below+straddle {
			t.Errorf("le=%v: %d, want between %d and %d", time.Duration(bound)*time.Microsecond, c, below, below+straddle)
		}
	}
}
