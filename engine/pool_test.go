package engine

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestPool(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 4*smallBody)
	bigCopy := bytes.Clone(big)
	a := Request{Method: "GET", Path: "/a"}
	b := Request{Method: "GET", Path: "/b"}
	aHdr := Request{Method: "GET", Path: "/a", Headers: []Header{{"X", "1"}}}
	aName := Request{Method: "GET", Path: "/a", Name: "n"}
	aQuery := Request{Method: "GET", Path: "/a", Query: "q=1"}
	post := Request{Method: "POST", Path: "/a", Body: []byte("small")}
	postCopy := Request{Method: "POST", Path: "/a", Body: []byte("small")}
	bigA := Request{Method: "POST", Path: "/up", Body: big}
	bigB := Request{Method: "POST", Path: "/up", Body: bigCopy}
	tests := []struct {
		name      string
		seq       []Request
		pool      int
		wantOrder bool
	}{
		{"one request repeated", []Request{a, a, a, a}, 1, false},
		{"all distinct", []Request{a, b, aHdr, aName, aQuery, post}, 6, false},
		{"a cycle", []Request{a, b, a, b, a}, 2, false},
		{"not a cycle", []Request{a, a, b, a}, 2, true},
		{"small bodies by content", []Request{post, post, postCopy, a}, 2, true},
		{"large body by identity", []Request{bigA, bigA, bigA}, 1, false},
		{"large equal bodies in other memory are distinct", []Request{bigA, bigB, bigB}, 2, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool, order := Pool(tt.seq)
			if len(pool) != tt.pool || (order != nil) != tt.wantOrder {
				t.Fatalf("pool of %d, order %v; want %d, order set %v", len(pool), order, tt.pool, tt.wantOrder)
			}
			job := Job{Requests: pool, Order: order, Count: len(tt.seq)}
			for i, want := range tt.seq {
				got := job.Request(i)
				if !sameRequest(&got, &want) && !(len(got.Body) > smallBody && bytes.Equal(got.Body, want.Body)) {
					t.Errorf("request %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	if pool, order := Pool(nil); pool != nil || order != nil {
		t.Errorf("Pool(nil) = %v, %v", pool, order)
	}
}

// TestRunFollowsOrder checks that a job with an order sends its pool's
// requests in that order, cycled over Count.
func TestRunFollowsOrder(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	})
	r := NewRunner(RunnerConfig{})
	job := Job{
		TargetURL: url, Count: 6, Duration: 60 * time.Millisecond, StartAt: time.Now(),
		Requests: []Request{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b"}},
		Order:    []uint32{0, 0, 1},
	}
	rep := r.Run(context.Background(), job)
	checkAccounted(t, rep)
	if rep.Success != 6 {
		t.Fatalf("success %d of 6: %+v", rep.Success, rep.Counts)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(paths)
	if got := strings.Join(paths, " "); got != "/a /a /a /a /b /b" {
		t.Errorf("target saw %s, want four /a and two /b", got)
	}
}

func TestRunRefusesBadOrder(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	job := Job{TargetURL: "http://127.0.0.1:1", Count: 3, Requests: []Request{{Path: "/"}}, Order: []uint32{0, 1}}
	rep := r.Run(context.Background(), job)
	if !strings.Contains(rep.Err, "order entry 1 names request 1 of 1") || rep.Lost != 3 {
		t.Errorf("err %q lost %d, want the bad order entry named and 3 lost", rep.Err, rep.Lost)
	}
}

// naivePool is Pool by definition: each request's first equal, by
// sameRequest, in a quadratic scan.
func naivePool(seq []Request) (pool []Request, order []uint32) {
	for _, r := range seq {
		k := slices.IndexFunc(pool, func(p Request) bool { return sameRequest(&p, &r) })
		if k < 0 {
			k = len(pool)
			pool = append(pool, r)
		}
		order = append(order, uint32(k))
	}
	if len(pool) == len(seq) || isCycle(order, len(pool)) {
		return pool, nil
	}
	return pool, order
}

func TestPoolMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	hdr := []Header{{Name: "Accept", Value: "*/*"}}
	for trial := range 500 {
		n := 1 + rng.IntN(40)
		distinct := 1 + rng.IntN(8)
		seq := make([]Request, n)
		for i := range seq {
			k := rng.IntN(distinct)
			switch trial % 3 {
			case 0: // cycled, as a file source gives
				k = i % distinct
			case 1: // cycled but for one request
				k = i % distinct
				if i == n-1 && n > distinct {
					k = distinct
				}
			}
			seq[i] = Request{Method: "GET", Path: "/p" + strconv.Itoa(k), Headers: hdr}
			if k%2 == 1 {
				seq[i].Body = []byte("b" + strconv.Itoa(k))
			}
		}
		pool, order := Pool(seq)
		wantPool, wantOrder := naivePool(seq)
		if len(pool) != len(wantPool) || !slices.Equal(order, wantOrder) {
			t.Fatalf("trial %d: Pool gave %d requests, order %v; want %d, %v", trial, len(pool), order, len(wantPool), wantOrder)
		}
		for i := range pool {
			if !sameRequest(&pool[i], &wantPool[i]) {
				t.Fatalf("trial %d: pool[%d] = %+v, want %+v", trial, i, pool[i], wantPool[i])
			}
		}
	}
}
