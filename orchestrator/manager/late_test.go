package manager

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// stallingCalculator is a scriptedCalculator whose first Next stalls the
// scheduler's goroutine, as a process starved of CPU would.
type stallingCalculator struct {
	scriptedCalculator
	stall time.Duration
	calls int
}

func (c *stallingCalculator) Next() int {
	if c.calls++; c.calls == 1 {
		time.Sleep(c.stall)
	}
	return c.scriptedCalculator.Next()
}

// TestSchedulerPlansLateRounds checks that a round planned late, but
// within its interval, still runs, and that a round whose interval passed
// before it could be planned is skipped and counted in the summary.
func TestSchedulerPlansLateRounds(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		// Rounds of 1s are planned 500ms ahead. Round 0's planning stalls
		// 2.8s: round 1 is then 1.3s late (skipped), round 2 0.3s late
		// (run), round 3 on time.
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(&stallingCalculator{scriptedCalculator: scriptedCalculator{rates: []int{10}, repeat: true}, stall: 2800 * time.Millisecond}),
			Interval:   time.Second,
			Duration:   4 * time.Second,
		})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		_, err := h.wait(h.start(ctx), time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		rounds, _ := h.results()
		if got, want := indexes(rounds), []int64{0, 2, 3}; !slices.Equal(got, want) {
			t.Errorf("finished rounds %v, want %v (round 1 skipped, late round 2 run)", got, want)
		}
		checkAccounting(t, rounds)
		if sum := h.sched.Summary(); sum.Skipped != 1 || sum.Rounds != 3 {
			t.Errorf("summary: %d rounds, %d skipped; want 3 and 1", sum.Rounds, sum.Skipped)
		}
	})
}
