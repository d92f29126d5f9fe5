package manager

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// batchSource counts how it was asked for requests and which rounds began.
type batchSource struct {
	fakeSource
	batches  []int
	begun    []int64
	misorder bool // a round's requests were drawn before it began
	short    bool // return one request too few
}

var (
	_ types.BatchSource = (*batchSource)(nil)
	_ types.RoundHook   = (*batchSource)(nil)
)

func (s *batchSource) BeginRound(index int64) {
	s.begun = append(s.begun, index)
}

func (s *batchSource) NextBatch(n int) ([]types.RequestSpec, error) {
	s.batches = append(s.batches, n)
	if len(s.begun) != len(s.batches) {
		s.misorder = true
	}
	if s.short {
		n--
	}
	out := make([]types.RequestSpec, n)
	for i := range out {
		out[i] = types.RequestSpec{Method: "GET", Path: "/batch"}
	}
	return out, nil
}

func TestSchedulerUsesBatchSource(t *testing.T) {
	tests := []struct {
		name    string
		short   bool
		wantErr bool
	}{
		{name: "whole batches", short: false},
		{name: "short batch is an error", short: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bubble(t, func(t *testing.T) {
				ctx, cancel := context.WithCancel(t.Context())
				defer cancel()
				src := &batchSource{short: tt.short}
				h := newHarness(t, SchedulerConfig{Calculator: types.CalculatorOf(&scriptedCalculator{rates: []int{10, 20}}), Source: src, Interval: time.Second})
				h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
				_, err := h.wait(h.start(ctx), time.Minute)
				if (err != nil) != tt.wantErr {
					t.Fatalf("Run = %v, want error %v", err, tt.wantErr)
				}
				if src.n != 0 {
					t.Errorf("Next called %d times, want only NextBatch", src.n)
				}
				if tt.wantErr {
					return
				}
				if got, want := src.batches, []int{10, 20}; !slices.Equal(got, want) {
					t.Errorf("NextBatch sizes = %v, want %v", got, want)
				}
				if src.misorder {
					t.Error("requests were drawn for a round before BeginRound")
				}
				// Round 2 begins too: that is where the calculator ends the test.
				if got, want := src.begun, []int64{0, 1, 2}; !slices.Equal(got, want) {
					t.Errorf("BeginRound calls = %v, want %v", got, want)
				}
			})
		})
	}
}

// failingCalculator returns its rates, then fails.
type failingCalculator struct {
	rates []int
	err   error
}

var _ types.Calculator = (*failingCalculator)(nil)

func (c *failingCalculator) NextRate(round int64) (int, bool, error) {
	if round < int64(len(c.rates)) {
		return c.rates[round], false, nil
	}
	return 0, false, c.err
}

func TestSchedulerCalculatorError(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		boom := errors.New("scenario.lua:3: attempt to index a nil value")
		calc := &failingCalculator{rates: []int{10}, err: boom}
		h := newHarness(t, SchedulerConfig{Calculator: calc, Interval: time.Second})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		_, err := h.wait(h.start(ctx), time.Minute)
		if !errors.Is(err, boom) {
			t.Fatalf("Run = %v, want the calculator's error", err)
		}
		// What ran before the failure is still reported.
		rounds, _ := h.results()
		if got, want := indexes(rounds), []int64{0}; !slices.Equal(got, want) {
			t.Fatalf("rounds = %v, want %v", got, want)
		}
		if sum := h.sched.Summary(); sum.Success != 10 {
			t.Errorf("summary successes = %d, want the 10 of round 0", sum.Success)
		}
	})
}

func TestRoundsCarryPodUsage(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		usage := []PodUsage{{Namespace: "ns", Pod: "web-1", CPUMillicores: 150, MemoryBytes: 64 << 20}, {Namespace: "ns", Pod: "web-2", CPUMillicores: 50, MemoryBytes: 32 << 20}}
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(&scriptedCalculator{rates: []int{100}}),
			Interval:   time.Second,
			Usage:      func() []PodUsage { return usage },
		})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		if _, err := h.wait(h.start(ctx), time.Minute); err != nil {
			t.Fatalf("Run = %v", err)
		}
		rounds, _ := h.results()
		if len(rounds) != 1 {
			t.Fatalf("got %d rounds, want 1", len(rounds))
		}
		r := rounds[0]
		if got, want := r.TargetCPU(), 200.0; got != want {
			t.Errorf("TargetCPU = %v, want %v", got, want)
		}
		if got, want := r.TargetMemory(), int64(96<<20); got != want {
			t.Errorf("TargetMemory = %v, want %v", got, want)
		}
		// 200 millicores for 1s over 100 successes: 2ms of CPU each.
		if got, want := r.CPUPerRequest(), 2.0; got != want {
			t.Errorf("CPUPerRequest = %v, want %v", got, want)
		}
	})
}
