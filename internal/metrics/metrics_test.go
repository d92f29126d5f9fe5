package metrics

import (
	"slices"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// gather returns the families on reg by name, failing the test on error.
func gather(t *testing.T, reg prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// checkFamilies asserts that every name in want is gathered from reg and
// that every gathered family has a help text.
func checkFamilies(t *testing.T, reg prometheus.Gatherer, want []string) {
	t.Helper()
	got := gather(t, reg)
	for _, name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("metric %q not gathered; got %v", name, keys(got))
		}
	}
	for name, mf := range got {
		if mf.GetHelp() == "" {
			t.Errorf("metric %q has no help text", name)
		}
	}
}

func keys(m map[string]*dto.MetricFamily) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestBuckets(t *testing.T) {
	tests := []struct {
		name        string
		got         []float64
		first, last float64
	}{
		{"latency", LatencyBuckets(), 100e-6, 60},
		{"size", SizeBuckets(), 64, 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.got[0]; got != tt.first {
				t.Errorf("first bucket = %v, want %v", got, tt.first)
			}
			if got := tt.got[len(tt.got)-1]; got != tt.last {
				t.Errorf("last bucket = %v, want %v", got, tt.last)
			}
			for i := 1; i < len(tt.got); i++ {
				if tt.got[i] <= tt.got[i-1] {
					t.Errorf("buckets not increasing at %d: %v", i, tt.got)
				}
			}
		})
	}
	// Callers may not corrupt the buckets of later collectors.
	b := LatencyBuckets()
	b[0] = 42
	if got := LatencyBuckets()[0]; got != 100e-6 {
		t.Errorf("LatencyBuckets()[0] after caller mutation = %v, want 1e-4", got)
	}
}

func TestNilRegisterer(t *testing.T) {
	if _, err := NewOrchestrator(nil); err == nil {
		t.Error("NewOrchestrator(nil) error = nil, want an error")
	}
	if _, err := NewExecutor(nil); err == nil {
		t.Error("NewExecutor(nil) error = nil, want an error")
	}
}

func TestBothOnOneRegistry(t *testing.T) {
	// An all-in-one local run may put both sets on one registry.
	reg := prometheus.NewRegistry()
	if _, err := NewOrchestrator(reg); err != nil {
		t.Fatalf("NewOrchestrator: %v", err)
	}
	if _, err := NewExecutor(reg); err != nil {
		t.Fatalf("NewExecutor on the orchestrator's registry: %v", err)
	}
}
