package manager

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

func TestSyntheticTargetObserve(t *testing.T) {
	m := SyntheticTarget{BaseLatency: 10 * time.Millisecond, CapacityRPS: 100, ErrorRate: 0.1, Timeout: time.Second}
	tests := []struct {
		rps                  int
		wantP50, wantP99     time.Duration
		wantTimeouts, wantOK int64
	}{
		{rps: 0, wantP50: 10 * time.Millisecond, wantP99: 40 * time.Millisecond},
		{rps: 50, wantP50: 20 * time.Millisecond, wantP99: 80 * time.Millisecond, wantOK: 45},
		{rps: 200, wantP50: 200 * time.Millisecond, wantP99: time.Second, wantTimeouts: 100, wantOK: 90},
	}
	for _, tt := range tests {
		got := m.Observe(3, tt.rps, time.Second)
		if got.P50 != tt.wantP50 || got.P99 != tt.wantP99 || got.Timeouts != tt.wantTimeouts || got.Success != tt.wantOK {
			t.Errorf("Observe(%d rps) = p50 %v p99 %v timeouts %d success %d, want %v %v %d %d",
				tt.rps, got.P50, got.P99, got.Timeouts, got.Success, tt.wantP50, tt.wantP99, tt.wantTimeouts, tt.wantOK)
		}
		// Failed is every outcome but success, timeouts included.
		if sum := got.Success + got.Failed; sum != got.Planned || got.Failed < got.Timeouts || got.Round != 3 || got.PlannedRPS != tt.rps {
			t.Errorf("Observe(%d rps) = %+v: success+failed add to %d, want planned %d", tt.rps, got, sum, got.Planned)
		}
	}
}

func rates(rs []PlannedRound) []int {
	out := make([]int, len(rs))
	for i, r := range rs {
		out[i] = r.RPS
	}
	return out
}

func TestDryRun(t *testing.T) {
	tests := []struct {
		name   string
		calc   LoadCalculator
		model  SyntheticTarget
		rounds int
		want   []int
	}{
		{"step", NewStepFunctionLoadCalculator(10, 30, 10), SyntheticTarget{}, 5, []int{10, 20, 30, 30, 30}},
		{"calculator ends early", &scriptedCalculator{rates: []int{5, 6}}, SyntheticTarget{}, 5, []int{5, 6}},
		// Healthy up to 100 rps at a 250ms p99 limit: base 20ms gives p99
		// 80ms/(1-u), within 250ms while u <= 0.68. With the one-round lag
		// each rate runs twice before its result is judged.
		{"adaptive finds the knee", NewAdaptiveExponentialLoadCalculator(10, 500, 250), SyntheticTarget{CapacityRPS: 100}, 16,
			[]int{10, 10, 20, 20, 40, 40, 80, 80, 1, 1, 60, 60, 1, 1, 70, 70}},
	}
	for _, tt := range tests {
		planned, err := DryRun(types.CalculatorOf(tt.calc), tt.model, tt.rounds, time.Second, nil)
		if err != nil {
			t.Fatalf("%s: DryRun: %v", tt.name, err)
		}
		got := rates(planned)
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rates %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestDryRunCalculatorError: a calculator that fails ends the dry run with
// its error, keeping the rounds planned before it.
func TestDryRunCalculatorError(t *testing.T) {
	boom := errors.New("scenario.lua:3: boom")
	planned, err := DryRun(&failingCalculator{rates: []int{7, 8}, err: boom}, SyntheticTarget{}, 5, time.Second, nil)
	if !errors.Is(err, boom) {
		t.Fatalf("DryRun error = %v, want the calculator's", err)
	}
	if got := rates(planned); !slices.Equal(got, []int{7, 8}) {
		t.Errorf("rates before the failure = %v, want [7 8]", got)
	}
}
