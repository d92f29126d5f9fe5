package manager

import (
	"context"
	"slices"
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

// cycleSource yields its paths in turn, forever.
type cycleSource struct {
	paths []string
	n     int
}

func (s *cycleSource) Next() (types.RequestSpec, error) {
	p := s.paths[s.n%len(s.paths)]
	s.n++
	return types.RequestSpec{Method: "GET", Path: p}, nil
}

func (s *cycleSource) Reset() error { s.n = 0; return nil }

// The scheduler draws each job's requests into one slice that it reuses:
// a job's pool is its own memory, so the next job's draw cannot change it,
// whether the pool is a cycle's few requests (copied out of the draw) or
// every request drawn (the draw given to the job).
func TestDrawnRequestsAreNotSharedWithJobs(t *testing.T) {
	paths := func(reqs []types.RequestSpec) []string {
		var out []string
		for _, r := range reqs {
			out = append(out, r.Path)
		}
		return out
	}
	s := &Scheduler{cfg: SchedulerConfig{Source: &cycleSource{paths: []string{"/a", "/b", "/c"}}}}
	draw := func(n int) ([]types.RequestSpec, []uint32) {
		t.Helper()
		reqs, err := s.nextRequests(n)
		if err != nil {
			t.Fatal(err)
		}
		return s.poolOf(reqs)
	}
	first, order := draw(7) // /a /b /c cycled
	if got := paths(first); !slices.Equal(got, []string{"/a", "/b", "/c"}) || order != nil {
		t.Fatalf("first pool %v, order %v; want /a /b /c cycled", got, order)
	}
	second, _ := draw(5) // /b /c /a cycled
	if got := paths(first); !slices.Equal(got, []string{"/a", "/b", "/c"}) {
		t.Fatalf("the second draw changed the first job's pool to %v", got)
	}
	if got := paths(second); !slices.Equal(got, []string{"/b", "/c", "/a"}) {
		t.Fatalf("second pool %v, want /b /c /a", got)
	}
	distinct, order := draw(2) // /a /b: all distinct, the pool is the draw
	if got := paths(distinct); !slices.Equal(got, []string{"/a", "/b"}) || order != nil {
		t.Fatalf("distinct pool %v, order %v; want /a /b", got, order)
	}
	draw(3) // /c /a /b
	if got := paths(distinct); !slices.Equal(got, []string{"/a", "/b"}) {
		t.Fatalf("the next draw changed an all-distinct job's pool to %v", got)
	}
	if got := paths(second); !slices.Equal(got, []string{"/b", "/c", "/a"}) {
		t.Fatalf("a later draw changed the second job's pool to %v", got)
	}
}
