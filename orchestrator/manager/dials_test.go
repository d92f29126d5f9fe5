package manager

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

func TestCheckReportDials(t *testing.T) {
	tests := []struct {
		name          string
		dials, errors int64
		want          string // "" for a report that is believed
	}{
		{"none", 0, 0, ""},
		{"reconnects", 6, 4, ""},
		{"one per planned request", 10, 10, ""},
		{"negative dials", -1, 0, "dials is negative (-1)"},
		{"negative dial errors", 3, -2, "dial_errors is negative (-2)"},
		{"more dials than planned", 11, 0, "dials (11) is more than its 10 planned requests"},
		{"forged to overflow", math.MaxInt64, math.MaxInt64, "dials (9223372036854775807) is more than its 10 planned"},
	}
	for _, tt := range tests {
		rep := tally.NewReport("j", 0)
		rep.Counts = tally.Counts{Planned: 10, Sent: 10, Success: 6, ConnErrors: 4}
		_ = rep.Latency.RecordValues(1000, 10)
		rep.Dials, rep.DialErrors = tt.dials, tt.errors
		err := checkReport(rep, 10)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: checkReport = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}

// TestSchedulerSumsDials runs two rounds across three executors: two
// report the connections they opened and failed to open, which are summed
// into each round, the summary and the metrics; the third forges a count
// that would overflow the sums, and its report is refused.
func TestSchedulerSumsDials(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(&scriptedCalculator{rates: []int{30, 60}}),
			Interval:   time.Second,
		})
		a, b, c := newFake(ctx, h.sched, "exec-a", 1), newFake(ctx, h.sched, "exec-b", 1), newFake(ctx, h.sched, "exec-c", 1)
		a.dials = func(r *tally.Report) { r.Dials, r.DialErrors = 3, 1 }
		b.dials = func(r *tally.Report) { r.Dials = 2 }
		c.dials = func(r *tally.Report) { r.Dials = math.MaxInt64 }
		for _, e := range []*fakeExecutor{a, b, c} {
			h.sched.Join(e)
		}
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 2 {
			t.Fatalf("%d rounds, want 2", len(rounds))
		}
		checkAccounting(t, rounds)
		for _, r := range rounds {
			if r.Dials != 5 || r.DialErrors != 1 {
				t.Errorf("round %d: dials %d, dial errors %d; want 5 and 1 (exec-a's and exec-b's)", r.Round, r.Dials, r.DialErrors)
			}
			if want := int64(r.PlannedRPS / 3); r.Counts.Lost != want {
				t.Errorf("round %d: %d lost, want exec-c's %d", r.Round, r.Counts.Lost, want)
			}
		}
		sum := h.sched.Summary()
		if sum.Dials != 10 || sum.DialErrors != 2 {
			t.Errorf("summary: dials %d, dial errors %d; want 10 and 2", sum.Dials, sum.DialErrors)
		}
		for _, m := range []struct {
			name string
			want float64
		}{
			{"imager_orchestrator_connections_opened_total", 10},
			{"imager_orchestrator_connection_failures_total", 2},
			{"imager_orchestrator_reports_refused_total", 2},
		} {
			if got := h.metric(m.name, ""); got != m.want {
				t.Errorf("%s = %v, want %v", m.name, got, m.want)
			}
		}
	})
}

// TestPendingRoundSumsDials settles three jobs of one round, two reported
// and one never, and folds the round into a summary twice: the reports'
// connection counts add up, and the missing report adds none.
func TestPendingRoundSumsDials(t *testing.T) {
	start := time.Unix(1_700_000_000, 0)
	p := &pendingRound{
		result: RoundResult{RoundStats: types.RoundStats{PlannedRPS: 30}, Start: start, Interval: time.Second},
		merged: tally.NewReport("", 0),
		jobs:   map[string]*pendingJob{"a": {planned: 10}, "b": {planned: 10}, "c": {planned: 10}},
	}
	p.outstanding = 3
	for id, d := range map[string][2]int64{"a": {4, 2}, "b": {1, 0}} {
		rep := successReport(tally.Job{ID: id, Count: 10, StartAt: start, Duration: time.Second}, 10)
		rep.Dials, rep.DialErrors = d[0], d[1]
		p.settle(id, rep, false)
	}
	p.settle("c", nil, false)
	r := p.finish(start.Add(time.Second))
	if r.Dials != 5 || r.DialErrors != 2 || r.Counts.Lost != 10 {
		t.Errorf("round: dials %d, dial errors %d, lost %d; want 5, 2 and job c's 10", r.Dials, r.DialErrors, r.Counts.Lost)
	}
	var sum Summary
	sum.Add(r)
	sum.Add(r)
	if sum.Dials != 10 || sum.DialErrors != 4 {
		t.Errorf("summary of the round twice: dials %d, dial errors %d; want 10 and 4", sum.Dials, sum.DialErrors)
	}
}
