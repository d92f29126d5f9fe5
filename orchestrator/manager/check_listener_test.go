package manager

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// listeningFake is a fake executor that hears of its refused reports.
type listeningFake struct {
	*fakeExecutor
	mu      sync.Mutex
	refused []string // "job: reason"
}

var _ RefusalListener = (*listeningFake)(nil)

func (l *listeningFake) ReportRefused(jobID string, reason error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refused = append(l.refused, jobID+": "+reason.Error())
}

func (l *listeningFake) calls() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.refused)
}

// An executor whose reports do not add up is told of each refusal; one
// whose reports are true is told nothing.
func TestRefusalListenerHearsRefusedReports(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator:     types.CalculatorOf(NewStepFunctionLoadCalculator(10, 10, 1)),
			Interval:       time.Second,
			Duration:       2 * time.Second,
			RequestTimeout: 100 * time.Millisecond,
		})
		honest := &listeningFake{fakeExecutor: newFake(ctx, h.sched, "exec-a", 1)}
		forger := &listeningFake{fakeExecutor: newFake(ctx, h.sched, "exec-b", 1)}
		forger.sent = func(n int) int { return n - 3 }
		h.sched.Join(honest)
		h.sched.Join(forger)
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v, want nil", err)
		}
		if got := honest.calls(); len(got) != 0 {
			t.Errorf("honest executor told of refusals %q, want none", got)
		}
		got := forger.calls()
		want := []string{"r0-exec-b: ", "r1-exec-b: "}
		if len(got) != len(want) {
			t.Fatalf("forger told of refusals %q, want one per round (%d)", got, len(want))
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) || !strings.Contains(got[i], "outcomes add up to") {
				t.Errorf("refusal %d = %q, want %q and the reason", i, got[i], want[i])
			}
		}
	})
}
