package requests

import (
	"math"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// operands parses the a and b parameters of a random-sum query string.
func operands(t *testing.T, query string) (a, b int) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("query %q: %v", query, err)
	}
	if len(q) != 2 {
		t.Fatalf("query %q: got %d parameters, want exactly a and b", query, len(q))
	}
	parse := func(name string) int {
		n, err := strconv.Atoi(q.Get(name))
		if err != nil {
			t.Fatalf("query %q: parameter %s: %v", query, name, err)
		}
		return n
	}
	return parse("a"), parse("b")
}

func TestNewRandomSumSourceErrors(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		min, max int
		want     string
	}{
		{"empty path", "", 1, 2, "path is empty"},
		{"relative path", "sum", 1, 2, `path "sum" must start with '/'`},
		{"path with query", "/sum?x=1", 1, 2, "must not contain '?' or '#'"},
		{"path with fragment", "/sum#f", 1, 2, "must not contain '?' or '#'"},
		{"min above max", "/sum", 10, 9, "min 10 is greater than max 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewRandomSumSource(tt.path, tt.min, tt.max, 1)
			if err == nil {
				t.Fatalf("got source %+v, want error containing %q", src, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q: want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRandomSumSourceRanges(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		draws    int
		wantAll  bool // every value of the range must show up
	}{
		{"single value", 5, 5, 50, true},
		{"small range", 1, 4, 400, true},
		{"negative range", -3, 3, 700, true},
		{"demo range", 1, 1000, 2000, false},
		{"full int range", math.MinInt, math.MaxInt, 2000, false},
		{"top of int range", math.MaxInt - 2, math.MaxInt, 300, true},
		{"bottom of int range", math.MinInt, math.MinInt + 2, 300, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewRandomSumSource("/sum", tt.min, tt.max, 42)
			if err != nil {
				t.Fatalf("NewRandomSumSource: %v", err)
			}
			seen := map[int]bool{}
			for _, spec := range nextN(t, src, tt.draws) {
				if spec.Method != "GET" || spec.Path != "/sum" || spec.Headers != nil || spec.Body != "" {
					t.Fatalf("spec %+v: want a bare GET /sum", spec)
				}
				a, b := operands(t, spec.QueryString)
				for _, v := range []int{a, b} {
					if v < tt.min || v > tt.max {
						t.Fatalf("query %q: value %d outside [%d, %d]", spec.QueryString, v, tt.min, tt.max)
					}
					seen[v] = true
				}
			}
			if tt.wantAll {
				if got, want := len(seen), tt.max-tt.min+1; got != want {
					t.Errorf("saw %d distinct values, want all %d of the range", got, want)
				}
			} else {
				// Far fewer distinct values than possible would mean
				// the draws are stuck on a small subset of the range.
				size := uint64(tt.max) - uint64(tt.min) + 1 // 0 for the full range
				possible := uint64(2 * tt.draws)
				if size != 0 && size < possible {
					possible = size
				}
				if got := uint64(len(seen)); got < possible/2 {
					t.Errorf("saw only %d distinct values in %d draws, want at least %d", got, 2*tt.draws, possible/2)
				}
			}
		})
	}
}

func TestRandomSumSourceQueryFormat(t *testing.T) {
	src, err := NewRandomSumSource("/api/sum", 7, 7, 0)
	if err != nil {
		t.Fatalf("NewRandomSumSource: %v", err)
	}
	spec, err := src.Next()
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	if got, want := spec.Path+"?"+spec.QueryString, "/api/sum?a=7&b=7"; got != want {
		t.Errorf("request = %s %s, want GET %s", spec.Method, got, want)
	}
}

func TestRandomSumSourceDeterminism(t *testing.T) {
	queries := func(seed int64, n int) []string {
		src, err := NewRandomSumSource("/sum", 1, 1000, seed)
		if err != nil {
			t.Fatalf("NewRandomSumSource: %v", err)
		}
		out := make([]string, 0, n)
		for _, spec := range nextN(t, src, n) {
			out = append(out, spec.QueryString)
		}
		return out
	}
	first, again, other := queries(7, 50), queries(7, 50), queries(8, 50)
	if !reflect.DeepEqual(first, again) {
		t.Errorf("same seed gave different sequences:\n%v\n%v", first, again)
	}
	if reflect.DeepEqual(first, other) {
		t.Errorf("seeds 7 and 8 gave the same 50 requests: %v", first)
	}

	src, err := NewRandomSumSource("/sum", 1, 1000, 7)
	if err != nil {
		t.Fatalf("NewRandomSumSource: %v", err)
	}
	nextN(t, src, 13)
	if err := src.Reset(); err != nil {
		t.Fatalf("Reset: %v", err)
	}
	for i, spec := range nextN(t, src, 50) {
		if spec.QueryString != first[i] {
			t.Fatalf("after Reset request %d = %q, want %q (same as a fresh source)", i, spec.QueryString, first[i])
		}
	}
}

// TestRandomSumSourceQueryNotShared checks that a returned query string stays
// intact after later calls reuse the source's scratch buffer.
func TestRandomSumSourceQueryNotShared(t *testing.T) {
	src, err := NewRandomSumSource("/sum", 1, 1_000_000, 3)
	if err != nil {
		t.Fatalf("NewRandomSumSource: %v", err)
	}
	first, _ := src.Next()
	saved := strings.Clone(first.QueryString)
	nextN(t, src, 10)
	if first.QueryString != saved {
		t.Errorf("earlier query string changed from %q to %q", saved, first.QueryString)
	}
}
