package manager

import (
	"math"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
	"github.com/PeladoCollado/imager/types"
)

// fuzzReport builds a report from FuzzCheckReport's arguments: counts
// c, a latency histogram of lat values (none when lat is negative), a
// service histogram of svc, and a breakdown of status 200s, failure
// reasons and one name with its successes and losses.
func fuzzReport(c [9]int64, lat, svc, status, reasons, nameOK, nameLost int64) *tally.Report {
	rep := &tally.Report{JobID: "j", Counts: tally.Counts{
		Planned: c[0], Sent: c[1], Success: c[2], ClientErrors: c[3], ServerErrors: c[4],
		Timeouts: c[5], ConnErrors: c[6], Dropped: c[7], Lost: c[8],
	}}
	if lat >= 0 {
		rep.Latency = tally.NewHistogram()
		_ = rep.Latency.RecordValues(1500, lat)
	}
	if svc >= 0 {
		rep.Service = tally.NewHistogram()
		_ = rep.Service.RecordValues(700, svc)
	}
	rep.StatusCodes = map[int]int64{200: status}
	rep.Errors = map[string]int64{"connection refused": reasons}
	nr := &tally.NameResult{Latency: tally.NewHistogram()}
	nr.Planned, nr.Sent, nr.Success, nr.Lost = nameOK+nameLost, nameOK, nameOK, nameLost
	_ = nr.Latency.RecordValues(1500, nameOK)
	rep.Names = map[string]*tally.NameResult{"home": nr}
	return rep
}

func checkSeeds() []fuzzseed.Seed {
	seed := func(name string, planned uint32, c [9]int64, rest ...int64) fuzzseed.Seed {
		args := []any{planned}
		for _, v := range c {
			args = append(args, v)
		}
		for _, v := range rest {
			args = append(args, v)
		}
		return fuzzseed.Seed{Name: name, Args: append(args, false)}
	}
	return []fuzzseed.Seed{
		// planned, sent, success, 4xx, 5xx, timeouts, conn, dropped, lost;
		// latency, service, status 200s, reasons, name ok, name lost.
		seed("true", 10, [9]int64{10, 9, 6, 1, 0, 1, 1, 1, 0}, 9, 9, 6, 4, 3, 0),
		seed("cut-short", 10, [9]int64{4, 4, 3, 0, 0, 0, 0, 0, 1}, 3, 3, 3, 0, 2, 1),
		seed("inflated", 20, [9]int64{20, 20, 20000, 0, 0, 0, 0, -2, -5}, 20, 20, 20, 0, 0, 0),
		seed("overflow", 20, [9]int64{20, 20, math.MaxInt64, math.MaxInt64, 22, 0, 0, 0, 0}, 20, 20, 20, 0, 0, 0),
		seed("no-histogram", 5, [9]int64{5, 5, 5, 0, 0, 0, 0, 0, 0}, -1, -1, 5, 0, 5, 0),
		seed("forged-name", 10, [9]int64{10, 10, 10, 0, 0, 0, 0, 0, 0}, 10, 10, 10, 0, 11, 0),
	}
}

func TestCheckSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzCheckReport", checkSeeds())
}

// FuzzCheckReport checks that whatever report checkReport accepts, the
// round it is settled into keeps its invariants: every outcome between 0
// and the job's planned count, outcomes adding up to the planned count,
// no more sent than planned, one latency per request that ended, and a
// breakdown within the counts.
func FuzzCheckReport(f *testing.F) {
	f.Fuzz(func(t *testing.T, planned uint32, p, sent, ok, c4, c5, to, ce, dr, lo, lat, svc, status, reasons, nameOK, nameLost int64, stopping bool) {
		rep := fuzzReport([9]int64{p, sent, ok, c4, c5, to, ce, dr, lo}, lat, svc, status, reasons, nameOK, nameLost)
		job := int64(planned)
		if checkReport(rep, job) != nil {
			return
		}
		pr := &pendingRound{
			result: RoundResult{RoundStats: types.RoundStats{PlannedRPS: 10}, Start: time.Unix(1_700_000_000, 0), Interval: time.Second},
			merged: tally.NewReport("", 0),
			jobs:   map[string]*pendingJob{"j": {executor: "e", planned: job}},
		}
		pr.outstanding = 1
		if !pr.settle("j", rep, stopping) {
			t.Fatal("the job was not settled")
		}
		r := pr.finish(pr.result.Start.Add(time.Second))
		checkRound(t, r, job, stopping, rep.Latency != nil)
	})
}

// checkRound fails t unless r keeps a round's invariants for a job of
// planned requests (fewer when the run was stopping); withLatency tells
// that the report had a latency histogram (an in-process report may not).
func checkRound(t *testing.T, r *RoundResult, planned int64, stopping, withLatency bool) {
	t.Helper()
	if r.Counts.Planned > planned || (!stopping && r.Counts.Planned != planned) || r.Counts.Planned < 0 {
		t.Fatalf("round plans %d of the job's %d (stopping %v)", r.Counts.Planned, planned, stopping)
	}
	var sum int64
	for _, o := range tally.Outcomes() {
		n := r.Counts.Of(o)
		if n < 0 || n > r.Counts.Planned {
			t.Fatalf("%s = %d, outside 0..%d", o, n, r.Counts.Planned)
		}
		sum += n
	}
	if sum != r.Counts.Planned || r.Counts.Success+r.Counts.Failed() != r.Counts.Planned {
		t.Fatalf("outcomes add up to %d, not the %d planned: %+v", sum, r.Counts.Planned, r.Counts)
	}
	if r.Counts.Sent < 0 || r.Counts.Sent > r.Counts.Planned-r.Counts.Dropped {
		t.Fatalf("%d sent of %d planned with %d dropped", r.Counts.Sent, r.Counts.Planned, r.Counts.Dropped)
	}
	if n, want := r.Latency.TotalCount(), r.Counts.Planned-r.Counts.Dropped-r.Counts.Lost; withLatency && n != want {
		t.Fatalf("latency histogram holds %d, want %d", n, want)
	}
	var codes int64
	for _, n := range r.StatusCodes {
		codes += n
	}
	if codes < 0 || codes > r.Counts.Planned {
		t.Fatalf("status codes add up to %d of %d planned", codes, r.Counts.Planned)
	}
	for name, nr := range r.Names {
		if nr.Planned < 0 || nr.Planned > r.Counts.Planned || nr.Success > r.Counts.Success {
			t.Fatalf("name %q: %+v beyond the round's %+v", name, nr.Counts, r.Counts)
		}
	}
}
