package manager

import (
	"context"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// bigSource yields POST /up with a body of n bytes, the same string each
// time.
type bigSource struct{ body string }

func (s *bigSource) Next() (types.RequestSpec, error) {
	return types.RequestSpec{Method: "POST", Path: "/up", Body: s.body}, nil
}

func (s *bigSource) Reset() error { return nil }

func TestSchedulerRefusesOversizedRequest(t *testing.T) {
	bubble(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		h := newHarness(t, SchedulerConfig{
			Calculator: types.CalculatorOf(&scriptedCalculator{rates: []int{4}, repeat: true}),
			Source:     &bigSource{body: strings.Repeat("x", tally.MaxRequestBytes+1)},
			Interval:   time.Second,
		})
		h.sched.Join(newFake(ctx, h.sched, "exec-a", 1))
		_, err := h.wait(h.start(ctx), time.Minute)
		if err == nil || !strings.Contains(err.Error(), "POST /up request of 33554440 bytes exceeds the limit of 33554432 bytes") {
			t.Fatalf("Run = %v, want the oversized request refused", err)
		}
	})
}

func TestNextRequestsSharesBodies(t *testing.T) {
	body := strings.Repeat("x", 2048)
	s := &Scheduler{cfg: SchedulerConfig{Source: &bigSource{body: body}}}
	reqs, err := s.nextRequests(5)
	if err != nil {
		t.Fatal(err)
	}
	pool, order := tally.Pool(reqs)
	if len(pool) != 1 || order != nil || pool[0].Body != body {
		t.Fatalf("pool of %d requests, order %v; want the one request with its body", len(pool), order)
	}
	for i := 1; i < len(reqs); i++ {
		if unsafe.StringData(reqs[i].Body) != unsafe.StringData(reqs[0].Body) {
			t.Errorf("request %d has its own copy of the body", i)
		}
	}
}
