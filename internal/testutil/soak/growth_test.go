package soak

import (
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// testRule is the rule the growth tests apply: 10% plus 5 units, ceiling 1000.
var testRule = Rule{Name: "x", RelMargin: 0.10, AbsMargin: 5, Ceiling: 1000}

// flat returns n samples around level with noise of +-noise.
func flat(n int, level, noise float64, r *rand.Rand) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = level + noise*(2*r.Float64()-1)
	}
	return out
}

// withSteps returns 60 samples around 100 with noise, raised by size from
// each index in at onwards.
func withSteps(r *rand.Rand, size float64, at ...int) []float64 {
	v := flat(60, 100, 3, r)
	for _, i := range at {
		for j := i; j < len(v); j++ {
			v[j] += size
		}
	}
	return v
}

func TestRuleCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	leak := make([]float64, 60)
	for i := range leak {
		leak[i] = 100 + 2*float64(i) // +2 per sample: a leak
	}
	slowLeak := make([]float64, 60)
	for i := range slowLeak {
		slowLeak[i] = 100 + 0.6*float64(i) + 3*(2*r.Float64()-1) // thirds' medians about 9.6 apart, over 7.5
	}
	warmRamp := flat(60, 100, 3, r)
	for i := range 12 {
		warmRamp[i] = 20 + 7*float64(i) // ramps up during the warm-up only
	}
	spikes := flat(60, 100, 3, r)
	spikes[40], spikes[55] = 180, 190 // single samples, far above
	tests := []struct {
		name   string
		values []float64
		warm   int
		want   string // substring of the error; "" for none
	}{
		{"flat with noise", flat(60, 100, 5, r), 12, ""},
		{"ramp inside the warm-up", warmRamp, 12, ""},
		{"single spikes", spikes, 12, ""},
		{"one step in the first third", withSteps(r, 50, 20), 12, ""},
		// The middle third is samples 28-43; a step at 33 leaves its median on
		// the new level. (A step larger than the allowed growth exactly in
		// the middle of the middle third would fail: the rule's blind spot.)
		{"one step in the middle third", withSteps(r, 50, 33), 12, ""},
		{"one step in the last third", withSteps(r, 50, 50), 12, ""},
		{"two steps: a staircase", withSteps(r, 20, 25, 42), 12, "x keeps growing: medians of the thirds"},
		{"linear growth", leak, 12, "x keeps growing"},
		{"slow linear growth", slowLeak, 12, "x keeps growing"},
		{"over the ceiling", append(flat(10, 100, 1, r), 1001), 2, "over the ceiling of 1000.0"},
		{"ceiling counts warm-up samples", append([]float64{5000}, flat(10, 100, 1, r)...), 3, "sample 0 is 5000.0"},
		{"too short", []float64{1, 2, 3, 4}, 2, "too few samples"},
		{"warm-up longer than series", []float64{1, 2}, 3, "warm-up of 3 samples out of 2"},
		{"small series within the absolute margin", []float64{9, 9, 9, 9, 10, 11, 13}, 1, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := testRule.Check(tc.values, tc.warm)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("Check = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestThirds(t *testing.T) {
	early, middle, late, err := Thirds([]float64{1000, 1, 2, 30, 4, 5, 6, 7, 9}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// 8 samples after the warm-up: thirds of 2, {1,2}, {30,4,5,6} and {7,9}.
	if early != 1.5 || middle != 5.5 || late != 8 {
		t.Errorf("Thirds = %v, %v, %v; want 1.5, 5.5, 8", early, middle, late)
	}
}

func TestJudgeAndTable(t *testing.T) {
	rules := Rules{
		RSS:        Rule{Name: "rss_mib", RelMargin: 0.2, AbsMargin: 8, Ceiling: 100},
		FDs:        Rule{Name: "fds", RelMargin: 0.1, AbsMargin: 4, Ceiling: 100},
		Goroutines: Rule{Name: "goroutines", RelMargin: 0.1, AbsMargin: 4, Ceiling: 100},
	}
	var good, leaky, nometrics Series
	good.Name, leaky.Name, nometrics.Name = "good", "leaky", "target"
	for i := range 9 {
		good.Samples = append(good.Samples, Sample{RSS: 10 << 20, FDs: 10, Goroutines: 20})
		leaky.Samples = append(leaky.Samples, Sample{RSS: 10 << 20, FDs: 10 + 5*i, Goroutines: 20})
		nometrics.Samples = append(nometrics.Samples, Sample{RSS: 10 << 20, FDs: 10, Goroutines: -1})
	}
	errs := Judge([]Series{good, leaky, nometrics}, 0, rules)
	if len(errs) != 1 || !strings.HasPrefix(errs[0].Error(), "leaky: fds keeps growing") {
		t.Fatalf("Judge = %v, want one error for leaky's fds", errs)
	}
	tab := Table([]Series{good, nometrics}, 2)
	lines := strings.Split(strings.TrimSpace(tab), "\n")
	if len(lines) != 10 {
		t.Fatalf("table has %d lines, want a header and 9 rows:\n%s", len(lines), tab)
	}
	if f := strings.Fields(lines[1]); f[0] != "0w" || f[1] != "10.0" || f[6] != "-" {
		t.Errorf("first row %q: want t_s 0w (warm-up), rss 10.0, target goroutines -", lines[1])
	}
	if f := strings.Fields(lines[3]); f[0] != "0" {
		t.Errorf("third row %q: want no warm-up mark", lines[3])
	}
}

func TestReadProcOfSelf(t *testing.T) {
	pid := os.Getpid()
	rss, err := ReadRSS(pid)
	if err != nil {
		t.Fatal(err)
	}
	if rss < 1<<20 {
		t.Errorf("ReadRSS = %d bytes, want at least 1 MiB for a Go test binary", rss)
	}
	before, err := CountFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	after, err := CountFDs(pid)
	if err != nil {
		t.Fatal(err)
	}
	if after != before+1 {
		t.Errorf("CountFDs went from %d to %d after opening a file, want +1", before, after)
	}
	if _, err := ReadRSS(-1); err == nil || !strings.Contains(err.Error(), "/proc/-1/status") {
		t.Errorf("ReadRSS(-1) = %v, want an error naming /proc/-1/status", err)
	}
}

// TestRuleOnRecordedPoolStep feeds the rule the open fds of an executor
// from a 10-minute soak at 500 rps on a machine with a load average of 20:
// its connection pool to the target grew once, from 48 to 103, during a
// stall and stayed there. That is bounded and must pass; the same series
// with a second step of the same size later must fail.
func TestRuleOnRecordedPoolStep(t *testing.T) {
	fdsRule := Rule{Name: "fds", RelMargin: 0.10, AbsMargin: 16, Ceiling: 4096}
	v := []float64{38, 39, 39, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 48, 65}
	for len(v) < 60 {
		v = append(v, 103)
	}
	if err := fdsRule.Check(v, 12); err != nil {
		t.Errorf("recorded series: %v, want nil (one step is bounded)", err)
	}
	for i := 45; i < len(v); i++ {
		v[i] += 55
	}
	if err := fdsRule.Check(v, 12); err == nil {
		t.Error("recorded series with a second step: nil, want keeps growing")
	}
}

// TestMedian: the middle value, or the mean of the middle two, with the
// argument left in order.
func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{{[]float64{5}, 5}, {[]float64{9, 1, 5}, 5}, {[]float64{80, 55, 60, 77}, 68.5}} {
		in := slices.Clone(tc.in)
		if got := Median(in); got != tc.want {
			t.Errorf("Median(%v) = %v, want %v", tc.in, got, tc.want)
		}
		if !slices.Equal(in, tc.in) {
			t.Errorf("Median reordered %v to %v", tc.in, in)
		}
	}
}
