package tally

import (
	"fmt"
	"maps"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
)

// byteReader hands out the bytes of a fuzz input, zeros once it runs out.
type byteReader struct{ b []byte }

func (r *byteReader) next() int {
	if len(r.b) == 0 {
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return int(v)
}

// reportsFrom builds up to four reports from fuzz bytes: counts, latency
// and service values, status codes, failure reasons and names, drawn from
// small alphabets so that they collide and overflow the bounds.
func reportsFrom(b []byte) []*Report {
	r := &byteReader{b: b}
	var out []*Report
	for k := 0; k < 1+r.next()%4; k++ {
		rep := NewReport(fmt.Sprintf("j%d", k), 0)
		for range r.next() % 8 {
			o := Outcome(r.next() % 7)
			rep.Count(o)
			rep.Planned++
			us := int64(r.next()<<8|r.next()) * int64(1+r.next()%200)
			Record(rep.Latency, usDuration(us))
			Record(rep.Service, usDuration(us/2))
			rep.AddStatus(100+r.next()%520, int64(1+r.next()%3))
			rep.AddError(fmt.Sprintf("reason %d", r.next()%30), int64(1+r.next()%5))
			nr := rep.Name(fmt.Sprintf("n%d", r.next()%150))
			nr.Count(o)
			nr.Planned++
			Record(nr.Latency, usDuration(us))
		}
		out = append(out, rep)
	}
	return out
}

func usDuration(us int64) time.Duration { return time.Duration(us) * time.Microsecond }

// distinct counts the distinct keys of the maps key returns for reps.
func distinct[V any](reps []*Report, key func(*Report) map[string]V) int {
	seen := map[string]bool{}
	for _, r := range reps {
		for k := range key(r) {
			seen[k] = true
		}
	}
	return len(seen)
}

// mergeAll merges reps into an empty report, in the order of idx.
func mergeAll(reps []*Report, idx []int) *Report {
	m := NewReport("merged", 0)
	for _, i := range idx {
		m.Merge(reps[i])
	}
	return m
}

// sums totals what merging must preserve whatever the bounds do.
type sums struct {
	counts, names   Counts
	lat, svc, nlat  int64
	status, reasons int64
}

func sumOf(reps ...*Report) sums {
	var s sums
	for _, r := range reps {
		s.counts.Add(r.Counts)
		s.lat += r.Latency.TotalCount()
		s.svc += r.Service.TotalCount()
		for _, n := range r.StatusCodes {
			s.status += n
		}
		for _, n := range r.Errors {
			s.reasons += n
		}
		for _, nr := range r.Names {
			s.names.Add(nr.Counts)
			s.nlat += nr.Latency.TotalCount()
		}
	}
	return s
}

func mergeSeeds() []fuzzseed.Seed {
	many := make([]byte, 0, 600)
	for i := range 600 {
		many = append(many, byte(i*37+11))
	}
	return []fuzzseed.Seed{
		{Name: "empty", Args: []any{[]byte{}}},
		{Name: "two-small", Args: []any{[]byte{1, 2, 0, 3, 200, 5, 100, 1, 7, 2, 9, 1, 1, 4, 30, 2, 10, 0, 9}}},
		{Name: "bounds", Args: []any{many}},
	}
}

func TestMergeSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzMergeReports", mergeSeeds())
}

// FuzzMergeReports merges reports in two orders: counts, histograms and
// status codes must agree and add up; failure reasons and names keep
// their totals and bounds, and agree too while the bounds are not hit.
func FuzzMergeReports(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		reps := reportsFrom(b)
		fwd, rev := make([]int, len(reps)), make([]int, len(reps))
		for i := range reps {
			fwd[i], rev[len(reps)-1-i] = i, i
		}
		a, z := mergeAll(reps, fwd), mergeAll(reps, rev)
		want := sumOf(reps...)
		for _, m := range []*Report{a, z} {
			if got := sumOf(m); got != want {
				t.Fatalf("merged totals %+v, want the inputs' %+v", got, want)
			}
			if len(m.Errors) > MaxErrorReasons || len(m.Names) > MaxNames {
				t.Fatalf("merged breakdown has %d reasons and %d names, over the bounds", len(m.Errors), len(m.Names))
			}
			if m.Accounted() != m.Planned {
				t.Fatalf("merged outcomes add up to %d of %d planned", m.Accounted(), m.Planned)
			}
		}
		if !a.Latency.Equals(z.Latency) || !a.Service.Equals(z.Service) {
			t.Fatal("the merge order changed a histogram")
		}
		if !maps.Equal(a.StatusCodes, z.StatusCodes) {
			t.Fatalf("status codes %v in one order, %v in the other", a.StatusCodes, z.StatusCodes)
		}
		// Within the bounds nothing is folded into "other", so the order
		// cannot matter.
		reasons := distinct(reps, func(r *Report) map[string]int64 { return r.Errors })
		if reasons < MaxErrorReasons && !maps.Equal(a.Errors, z.Errors) {
			t.Fatalf("reasons %v in one order, %v in the other", a.Errors, z.Errors)
		}
		if distinct(reps, func(r *Report) map[string]*NameResult { return r.Names }) < MaxNames {
			for name, nr := range a.Names {
				if o := z.Names[name]; o == nil || o.Counts != nr.Counts || !o.Latency.Equals(nr.Latency) {
					t.Fatalf("name %q differs between merge orders", name)
				}
			}
		}
	})
}
