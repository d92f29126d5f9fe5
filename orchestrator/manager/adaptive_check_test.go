package manager_test

import (
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// chk is an observation of round at rate rps with planned requests of
// which timeouts timed out and checkFailed failed a response check; its
// p99 is 1 ms, well within any latency limit.
func chk(round int64, rps int, planned, timeouts, checkFailed int64) action {
	return action{obs: manager.LoadObservation{
		Round: round, PlannedRPS: rps, Planned: planned, Sent: planned,
		Success: planned - timeouts - checkFailed, Timeouts: timeouts, CheckFailed: checkFailed,
		Failed: timeouts + checkFailed, P99: time.Millisecond, Max: time.Millisecond,
	}}
}

// Check failures are errors to the adaptive search: half the round failing
// checks breaches in latency mode however fast the answers, and in timeout
// mode they add up with timeouts.
func TestAdaptiveCheckFailuresBreach(t *testing.T) {
	tests := []struct {
		name    string
		limitMs int64
		obs     action
		want    []int // Next before and after the observation
	}{
		{"latency mode: fast but half wrong breaches", 250, chk(0, 10, 10, 0, 5), []int{10, 1}},
		{"latency mode: a few wrong answers are healthy", 250, chk(0, 10, 10, 0, 4), []int{10, 20}},
		{"timeout mode: timeouts and check failures add up", 0, chk(0, 10, 10, 3, 2), []int{10, 1}},
		{"timeout mode: under half is healthy", 0, chk(0, 10, 10, 2, 2), []int{10, 20}},
		{"timeout mode: check failures alone breach", 0, chk(0, 10, 10, 0, 6), []int{10, 1}},
		{"nothing planned is healthy", 0, chk(0, 10, 0, 0, 0), []int{10, 20}},
	}
	for _, tt := range tests {
		got := play(t, 10, 1000, tt.limitMs, []action{N, tt.obs, N})
		if !slices.Equal(got, tt.want) {
			t.Errorf("%s: rates %v, want %v", tt.name, got, tt.want)
		}
	}
}
