package tally

import (
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/types"
)

// spec is the request type, for brevity.
type spec = types.RequestSpec

func TestPool(t *testing.T) {
	big := strings.Repeat("x", 4*smallBody)
	bigCopy := strings.Clone(big)
	a := spec{Method: "GET", Path: "/a"}
	b := spec{Method: "GET", Path: "/b"}
	aHdr := spec{Method: "GET", Path: "/a", Headers: map[string][]string{"X": {"1"}}}
	aHdrCopy := spec{Method: "GET", Path: "/a", Headers: map[string][]string{"X": {"1"}}}
	aHdrOther := spec{Method: "GET", Path: "/a", Headers: map[string][]string{"X": {"2"}}}
	aHdrTwo := spec{Method: "GET", Path: "/a", Headers: map[string][]string{"X": {"1", "2"}}}
	aHdrSwapped := spec{Method: "GET", Path: "/a", Headers: map[string][]string{"X": {"2", "1"}}}
	aEmptyMap := spec{Method: "GET", Path: "/a", Headers: map[string][]string{}}
	aName := spec{Method: "GET", Path: "/a", Name: "n"}
	aQuery := spec{Method: "GET", Path: "/a", QueryString: "q=1"}
	post := spec{Method: "POST", Path: "/a", Body: "small"}
	postCopy := spec{Method: "POST", Path: "/a", Body: strings.Clone("small")}
	bigA := spec{Method: "POST", Path: "/up", Body: big}
	bigB := spec{Method: "POST", Path: "/up", Body: bigCopy}
	tests := []struct {
		name      string
		seq       []spec
		pool      int
		wantOrder bool
	}{
		{"one request repeated", []spec{a, a, a, a}, 1, false},
		{"all distinct", []spec{a, b, aHdr, aName, aQuery, post}, 6, false},
		{"headers by content", []spec{aHdr, aHdr, aHdrCopy, a}, 2, true},
		{"header values in order", []spec{aHdr, aHdrOther, aHdrTwo, aHdrSwapped}, 4, false},
		{"an empty header map is none", []spec{a, aEmptyMap, aHdr}, 2, true},
		{"a cycle", []spec{a, b, a, b, a}, 2, false},
		{"not a cycle", []spec{a, a, b, a}, 2, true},
		{"small bodies by content", []spec{post, post, postCopy, a}, 2, true},
		{"large body by identity", []spec{bigA, bigA, bigA}, 1, false},
		{"large equal bodies in other memory are distinct", []spec{bigA, bigB, bigB}, 2, true},
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
				if !sameRequest(&got, &want) && !(len(got.Body) > smallBody && got.Body == want.Body) {
					t.Errorf("request %d = %+v, want %+v", i, got, want)
				}
			}
		})
	}
	if pool, order := Pool(nil); pool != nil || order != nil {
		t.Errorf("Pool(nil) = %v, %v", pool, order)
	}
}

// naivePool is Pool by definition: each request's first equal, by
// sameRequest, in a quadratic scan.
func naivePool(seq []spec) (pool []spec, order []uint32) {
	for _, r := range seq {
		k := slices.IndexFunc(pool, func(p spec) bool { return sameRequest(&p, &r) })
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
	hdr := map[string][]string{"Accept": {"*/*"}}
	for trial := range 500 {
		n := 1 + rng.IntN(40)
		distinct := 1 + rng.IntN(8)
		seq := make([]spec, n)
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
			seq[i] = spec{Method: "GET", Path: "/p" + strconv.Itoa(k), Headers: hdr}
			switch k % 3 {
			case 1:
				seq[i].Body = "b" + strconv.Itoa(k)
			case 2: // the same content in a map of its own
				seq[i].Headers = map[string][]string{"Accept": {"*/*"}, "X-K": {strconv.Itoa(k)}}
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
