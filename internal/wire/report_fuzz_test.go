package wire_test

import (
	"maps"
	"math"
	"runtime"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// realReport is a report as an executor makes one: outcomes, histograms,
// status codes, failure reasons and two names.
func realReport(t testing.TB) *tally.Report {
	rep := tally.NewReport("r3-e1", 3)
	rep.Counts = tally.Counts{Planned: 6, Sent: 5, Success: 3, ClientErrors: 1, ConnErrors: 1, Dropped: 1, ResponseBytes: 96}
	for _, us := range []int64{800, 950, 2100, 40000, 3_000_000} {
		if err := rep.Latency.RecordValue(us); err != nil {
			t.Fatal(err)
		}
		if err := rep.Service.RecordValue(us / 2); err != nil {
			t.Fatal(err)
		}
	}
	rep.AddStatus(200, 3)
	rep.AddStatus(404, 1)
	rep.AddError("dial tcp 127.0.0.1:9: connect: connection refused", 1)
	rep.AddError("dropped: in-flight cap of 1 reached", 1)
	home := rep.Name("home")
	home.Counts = tally.Counts{Planned: 2, Sent: 2, Success: 2}
	_ = home.Latency.RecordValue(800)
	_ = home.Latency.RecordValue(950)
	rep.Name("sum").Counts = tally.Counts{Planned: 1, Sent: 1, ClientErrors: 1}
	rep.FirstSend = time.Unix(1_700_000_000, 5)
	rep.LastSend = rep.FirstSend.Add(time.Second)
	rep.Dials, rep.DialErrors = 2, 1
	return rep
}

// wire marshals r, failing t on error.
func wm(t testing.TB, r *imagerv1.Report) []byte {
	t.Helper()
	b, err := proto.MarshalOptions{Deterministic: true}.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reportSeeds are the seed corpus of FuzzReportToTally: true reports and
// forged ones.
func reportSeeds(t testing.TB) []fuzzseed.Seed {
	good, err := wire.ReportFromTally(realReport(t))
	if err != nil {
		t.Fatal(err)
	}
	notRun := tally.NewReport("r0-e2", 0)
	notRun.Counts = tally.Counts{Planned: 20, Lost: 20}
	notRun.Err = "bad target URL"
	notRun.AddError("job not run: bad target URL", 20)
	failed, err := wire.ReportFromTally(notRun)
	if err != nil {
		t.Fatal(err)
	}
	wide, err := fuzzseed.CraftHistogram(5, 1, math.MaxInt64, nil)
	if err != nil {
		t.Fatal(err)
	}
	forged := proto.Clone(good).(*imagerv1.Report)
	forged.Success, forged.ClientErrors, forged.Dropped = 20000, -5, -2
	forged.ServiceHistogram = wide
	manyNames := proto.Clone(good).(*imagerv1.Report)
	for i := range tally.MaxNames + 1 {
		manyNames.Names = append(manyNames.Names, &imagerv1.NameReport{Name: string(rune('a' + i%26)), Planned: 1, Success: 1})
	}
	dupNames := proto.Clone(good).(*imagerv1.Report)
	dupNames.Names = append(dupNames.Names, dupNames.Names...)
	badHist := proto.Clone(good).(*imagerv1.Report)
	badHist.LatencyHistogram = badHist.LatencyHistogram[:len(badHist.LatencyHistogram)/2]
	return []fuzzseed.Seed{
		{Name: "true", Args: []any{wm(t, good)}},
		{Name: "not-run", Args: []any{wm(t, failed)}},
		{Name: "forged-wide-histogram", Args: []any{wm(t, forged)}},
		{Name: "too-many-names", Args: []any{wm(t, manyNames)}},
		{Name: "duplicate-names", Args: []any{wm(t, dupNames)}},
		{Name: "truncated-histogram", Args: []any{wm(t, badHist)}},
		{Name: "empty", Args: []any{[]byte{}}},
	}
}

func TestReportSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzReportToTally", reportSeeds(t))
}

// histogramBudget bounds what decoding one histogram may allocate.
const histogramBudget = 4 << 20

// FuzzReportToTally decodes hostile wire reports: the conversion must
// never panic, must allocate within a budget whatever the histograms
// claim, must keep the breakdown's bounds, and a report it accepts must
// survive a round trip through the wire unchanged.
func FuzzReportToTally(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var w imagerv1.Report
		if proto.Unmarshal(b, &w) != nil {
			return
		}
		var rep *tally.Report
		var err error
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		rep, err = wire.ReportToTally(&w)
		runtime.ReadMemStats(&after)
		if n, limit := after.TotalAlloc-before.TotalAlloc, uint64((3+len(w.Names))*histogramBudget+16*len(b)); n > limit {
			t.Fatalf("decoding a %d-byte report allocated %d bytes, more than %d", len(b), n, limit)
		}
		if err != nil {
			return
		}
		if len(rep.Names) > tally.MaxNames || len(rep.Errors) > tally.MaxErrorReasons {
			t.Fatalf("%d names and %d reasons, over the bounds", len(rep.Names), len(rep.Errors))
		}
		again, err := wire.ReportFromTally(rep)
		if err != nil {
			t.Fatalf("re-encoding an accepted report: %v", err)
		}
		var back imagerv1.Report
		if err := proto.Unmarshal(wm(t, again), &back); err != nil {
			t.Fatalf("re-reading an accepted report: %v", err)
		}
		rep2, err := wire.ReportToTally(&back)
		if err != nil {
			t.Fatalf("re-decoding an accepted report: %v", err)
		}
		sameReport(t, rep, rep2)
	})
}

// sameReport fails t unless a and b hold the same results.
func sameReport(t *testing.T, a, b *tally.Report) {
	t.Helper()
	if a.Counts != b.Counts || a.JobID != b.JobID || a.Round != b.Round || a.Err != b.Err ||
		!a.FirstSend.Equal(b.FirstSend) || !a.LastSend.Equal(b.LastSend) ||
		a.Dials != b.Dials || a.DialErrors != b.DialErrors {
		t.Fatalf("round trip changed the report: %+v, now %+v", a, b)
	}
	if !a.Latency.Equals(b.Latency) || !a.Service.Equals(b.Service) {
		t.Fatal("round trip changed a histogram")
	}
	if !maps.Equal(a.StatusCodes, b.StatusCodes) || !maps.Equal(a.Errors, b.Errors) {
		t.Fatalf("round trip changed the breakdown: %v %v, now %v %v", a.StatusCodes, a.Errors, b.StatusCodes, b.Errors)
	}
	if len(a.Names) != len(b.Names) {
		t.Fatalf("round trip changed the names: %d, now %d", len(a.Names), len(b.Names))
	}
	for name, nr := range a.Names {
		if o := b.Names[name]; o == nil || o.Counts != nr.Counts || !o.Latency.Equals(nr.Latency) {
			t.Fatalf("round trip changed name %q", name)
		}
	}
}
