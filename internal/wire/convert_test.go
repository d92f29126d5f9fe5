package wire_test

import (
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unsafe"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
	"google.golang.org/protobuf/proto"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"github.com/PeladoCollado/imager/types"
)

// jobDiff describes how got differs from want, or returns "". Times compare
// with Equal; an empty body or header list equals a nil one.
func jobDiff(got, want tally.Job) string {
	var d []string
	if got.ID != want.ID || got.Round != want.Round || got.TargetURL != want.TargetURL {
		d = append(d, "id, round or target")
	}
	if !got.StartAt.Equal(want.StartAt) || got.StartAt.IsZero() != want.StartAt.IsZero() {
		d = append(d, "start "+got.StartAt.String()+" != "+want.StartAt.String())
	}
	if got.Duration != want.Duration || got.Count != want.Count || got.Timeout != want.Timeout {
		d = append(d, "duration, count or timeout")
	}
	if len(got.Requests) != len(want.Requests) {
		return strings.Join(append(d, "request count"), "; ")
	}
	for i, g := range got.Requests {
		w := want.Requests[i]
		if g.Method != w.Method || g.Path != w.Path || g.QueryString != w.QueryString || g.Name != w.Name ||
			g.Body != w.Body || !maps.EqualFunc(g.Headers, w.Headers, slices.Equal) || !reflect.DeepEqual(g.Expect, w.Expect) {
			d = append(d, "request "+w.Method+" "+w.Path)
		}
	}
	if !reflect.DeepEqual(got.TLS, want.TLS) {
		d = append(d, "tls")
	}
	if (got.Invalid == nil) != (want.Invalid == nil) {
		d = append(d, fmt.Sprintf("invalid %v", got.Invalid))
	}
	return strings.Join(d, "; ")
}

func TestJobConversionRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		job  tally.Job
	}{
		{name: "full", job: tally.Job{
			ID: "r12-exec-a", Round: 12, TargetURL: "http://10.0.0.7:8080",
			// time.Now carries a monotonic reading and a location; only the
			// instant must survive.
			StartAt:  time.Now().Add(time.Second),
			Duration: time.Second, Count: 250, Timeout: 30 * time.Second,
			Requests: []types.RequestSpec{
				{Method: "POST", Path: "/sum", QueryString: "a=1&b=2",
					Headers: map[string][]string{"X-A": {"2", "1"}, "Content-Type": {"application/json"}},
					Body:    `{"values":[1,2]}`},
				{Method: "GET", Path: "/healthz", Name: "health check"},
				{Method: "PUT", Path: "/bin", Body: "\x00\xff\n"},
			},
			TLS: &tally.TLSConfig{InsecureSkipVerify: true, CAPEM: []byte("ca"), ClientCertPEM: []byte("cert"), ClientKeyPEM: []byte("key")},
		}},
		{name: "nanosecond start", job: tally.Job{ID: "ns", StartAt: time.Unix(1_800_000_000, 999_999_999), Count: 1,
			Requests: []types.RequestSpec{{Method: "GET", Path: "/"}}}},
		{name: "zero start and no requests", job: tally.Job{ID: "empty", Round: 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wire.JobToTally(roundTrip(t, wire.JobFromTally(tt.job)))
			if d := jobDiff(got, tt.job); d != "" {
				t.Errorf("round trip changed the job (%s):\ngot  %+v\nwant %+v", d, got, tt.job)
			}
		})
	}
}

// TestJobWireRequests checks the wire form of requests: headers sorted by
// name with a name's values in their order, a header map used again
// converted once, bodies not copied; and that the way back shares a map
// between requests with the same headers.
func TestJobWireRequests(t *testing.T) {
	shared := map[string][]string{"X-B": {"2", "1"}, "Accept": {"*/*"}, "x-a": {""}}
	body := strings.Repeat("b", 1000)
	job := tally.Job{ID: "j", Count: 3, Requests: []types.RequestSpec{
		{Path: "/1", Headers: shared, Body: body},
		{Path: "/2", Headers: shared, Body: body},
		{Path: "/3", Headers: maps.Clone(shared)},
	}}
	wm := wire.JobFromTally(job)
	var got []string
	for _, h := range wm.GetRequests()[0].GetHeaders() {
		got = append(got, h.GetName()+"="+h.GetValue())
	}
	if want := "Accept=*/* X-B=2 X-B=1 x-a="; strings.Join(got, " ") != want {
		t.Errorf("wm headers %q, want %q", strings.Join(got, " "), want)
	}
	w := wm.GetRequests()
	if w[0].GetHeaders()[0] != w[1].GetHeaders()[0] {
		t.Error("requests sharing a header map do not share its wm headers")
	}
	if unsafe.SliceData(w[0].GetBody()) != unsafe.StringData(body) {
		t.Error("the body was copied for the wire")
	}
	back := wire.JobToTally(roundTrip(t, wm))
	if d := jobDiff(back, job); d != "" {
		t.Fatalf("round trip changed the job: %s", d)
	}
	for i := 1; i < 3; i++ {
		if reflect.ValueOf(back.Requests[i].Headers).UnsafePointer() != reflect.ValueOf(back.Requests[0].Headers).UnsafePointer() {
			t.Errorf("request %d: headers equal to the request before are in a map of their own", i+1)
		}
	}
}

// histogramOf returns a microsecond histogram holding values.
func histogramOf(t *testing.T, values ...int64) *hdrhistogram.Histogram {
	t.Helper()
	h := tally.NewHistogram()
	for _, v := range values {
		if err := h.RecordValue(v); err != nil {
			t.Fatalf("RecordValue(%d): %v", v, err)
		}
	}
	return h
}

// sameHistogram reports how got differs from want, or "".
func sameHistogram(got, want *hdrhistogram.Histogram) string {
	if got.TotalCount() != want.TotalCount() {
		return "total count"
	}
	if got.Min() != want.Min() || got.Max() != want.Max() {
		return "min or max"
	}
	for _, q := range []float64{50, 90, 99, 99.9, 100} {
		if got.ValueAtQuantile(q) != want.ValueAtQuantile(q) {
			return "a percentile"
		}
	}
	return ""
}

func TestReportConversionRoundTrip(t *testing.T) {
	first := time.Unix(1_800_000_000, 123_456_789)
	full := &tally.Report{
		JobID: "r3-exec-b", Round: 3,
		Counts: tally.Counts{Planned: 100, Sent: 97, Success: 80, ClientErrors: 5, ServerErrors: 4, Timeouts: 3,
			ConnErrors: 2, Dropped: 3, Lost: 3, ResponseBytes: 4096},
		Latency:   histogramOf(t, 150, 900, 1200, 25_000, 3_000_000),
		Service:   histogramOf(t, 100, 800, 1100, 20_000, 2_900_000),
		FirstSend: first,
		LastSend:  first.Add(990 * time.Millisecond),
		Err:       "",
		// 2 connections failed (the 2 connection errors), then 4 opened.
		Dials: 4, DialErrors: 2,
		Breakdown: tally.Breakdown{
			StatusCodes: map[int]int64{200: 80, 404: 5, 500: 4, 503: 3},
			Errors:      map[string]int64{"connection refused": 2, "timeout: no response headers within 1s": 1},
			Names: map[string]*tally.NameResult{
				"home": {Counts: tally.Counts{Planned: 60, Sent: 60, Success: 58, ClientErrors: 2}, Latency: histogramOf(t, 150, 900)},
			},
		},
	}
	tests := []struct {
		name string
		rep  *tally.Report
	}{
		{name: "full", rep: full},
		{name: "nothing sent", rep: tally.NewReport("r4-exec-c", 4)},
		{name: "nil histograms and an error", rep: &tally.Report{JobID: "bad", Round: 9,
			Counts: tally.Counts{Planned: 7, Lost: 7}, Err: "unsupported scheme"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wm, err := wire.ReportFromTally(tt.rep)
			if err != nil {
				t.Fatalf("ReportFromTally: %v", err)
			}
			got, err := wire.ReportToTally(roundTrip(t, wm))
			if err != nil {
				t.Fatalf("ToTally: %v", err)
			}
			want := tt.rep
			if got.JobID != want.JobID || got.Round != want.Round || got.Err != want.Err {
				t.Errorf("got (job %q, round %d, err %q), want (%q, %d, %q)", got.JobID, got.Round, got.Err, want.JobID, want.Round, want.Err)
			}
			if got.Counts != want.Counts {
				t.Errorf("counts = %+v, want %+v", got.Counts, want.Counts)
			}
			if got.Dials != want.Dials || got.DialErrors != want.DialErrors {
				t.Errorf("dials %d, dial errors %d; want %d, %d", got.Dials, got.DialErrors, want.Dials, want.DialErrors)
			}
			if !maps.Equal(got.StatusCodes, want.StatusCodes) || !maps.Equal(got.Errors, want.Errors) || len(got.Names) != len(want.Names) {
				t.Errorf("breakdown = %v %v %v, want %v %v %v", got.StatusCodes, got.Errors, got.Names, want.StatusCodes, want.Errors, want.Names)
			}
			for name, w := range want.Names {
				g := got.Names[name]
				if g == nil || g.Counts != w.Counts || sameHistogram(g.Latency, w.Latency) != "" {
					t.Errorf("name %q = %+v, want %+v", name, g, w)
				}
			}
			if !got.FirstSend.Equal(want.FirstSend) || got.FirstSend.IsZero() != want.FirstSend.IsZero() {
				t.Errorf("FirstSend = %v, want %v", got.FirstSend, want.FirstSend)
			}
			if !got.LastSend.Equal(want.LastSend) || got.LastSend.IsZero() != want.LastSend.IsZero() {
				t.Errorf("LastSend = %v, want %v", got.LastSend, want.LastSend)
			}
			for _, h := range []struct {
				name      string
				got, want *hdrhistogram.Histogram
			}{{"latency", got.Latency, want.Latency}, {"service", got.Service, want.Service}} {
				if h.want == nil {
					h.want = tally.NewHistogram()
				}
				if h.got == nil {
					t.Errorf("%s histogram is nil after the round trip", h.name)
					continue
				}
				if d := sameHistogram(h.got, h.want); d != "" {
					t.Errorf("%s histogram: %s differs (got %d values, p99 %d; want %d values, p99 %d)", h.name, d,
						h.got.TotalCount(), h.got.ValueAtQuantile(99), h.want.TotalCount(), h.want.ValueAtQuantile(99))
				}
			}
		})
	}
}

func TestDecodedReportsMerge(t *testing.T) {
	var merged *tally.Report
	for i, values := range [][]int64{{100, 200}, {300, 400, 500}} {
		rep := tally.NewReport("j", 1)
		rep.Latency = histogramOf(t, values...)
		rep.Sent = int64(len(values))
		wm, err := wire.ReportFromTally(rep)
		if err != nil {
			t.Fatalf("ReportFromTally #%d: %v", i, err)
		}
		got, err := wire.ReportToTally(roundTrip(t, wm))
		if err != nil {
			t.Fatalf("ToTally #%d: %v", i, err)
		}
		if merged == nil {
			merged = tally.NewReport("", 1)
		}
		merged.Merge(got)
	}
	if merged.Sent != 5 || merged.Latency.TotalCount() != 5 || merged.Latency.Max() < 500 {
		t.Errorf("merged sent %d, latency count %d, max %d; want 5, 5, >= 500", merged.Sent, merged.Latency.TotalCount(), merged.Latency.Max())
	}
}

func TestReportWithBadHistogram(t *testing.T) {
	tests := []struct {
		name string
		rep  *imagerv1.Report
		want string
	}{
		{"latency", &imagerv1.Report{JobId: "job-x", LatencyHistogram: []byte{1, 2, 3}}, "latency"},
		{"service", &imagerv1.Report{JobId: "job-x", ServiceHistogram: []byte("not a histogram")}, "service"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := wire.ReportToTally(tt.rep)
			if err == nil {
				t.Fatalf("ReportToTally = %+v, nil; want an error", rep)
			}
			if !strings.Contains(err.Error(), "job-x") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("ReportToTally error %q, want it to name job-x and %q", err, tt.want)
			}
		})
	}
}

func TestReportBreakdownIsBounded(t *testing.T) {
	wm := &imagerv1.Report{JobId: "j", Planned: 1000, Success: 1000, StatusCodes: map[int32]int64{200: 1000, 999: 5, -1: 5}}
	for i := range 500 {
		wm.Errors = append(wm.Errors, &imagerv1.ErrorCount{Message: fmt.Sprintf("reason %d", i), Count: 2})
	}
	// A sender keeps at most MaxNames names, its last one "other": a
	// report with more is refused before their histograms are decoded.
	for i := range tally.MaxNames {
		wm.Names = append(wm.Names, &imagerv1.NameReport{Name: fmt.Sprintf("name %d", i), Planned: 10, Success: 10})
	}
	tooMany := proto.Clone(wm).(*imagerv1.Report)
	tooMany.Names = append(tooMany.Names, &imagerv1.NameReport{Name: "one more", Planned: 1, Success: 1})
	if _, err := wire.ReportToTally(tooMany); err == nil || !strings.Contains(err.Error(), "101 names") {
		t.Errorf("ToTally of %d names: %v, want a refusal naming the count", len(tooMany.Names), err)
	}
	got, err := wire.ReportToTally(wm)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Errors) != tally.MaxErrorReasons || len(got.Names) != tally.MaxNames || got.Errors[tally.OtherReason] == 0 || got.Names[tally.OtherName] == nil {
		t.Errorf("%d reasons and %d names kept, want %d and %d, other included", len(got.Errors), len(got.Names), tally.MaxErrorReasons, tally.MaxNames)
	}
	var reasons, named int64
	for _, n := range got.Errors {
		reasons += n
	}
	for _, n := range got.Names {
		named += n.Success
	}
	if reasons != 1000 || named != 1000 {
		t.Errorf("bounded breakdown counts %d reasons and %d named successes, want 1000 each (the rest under other)", reasons, named)
	}
	if len(got.StatusCodes) != 1 || got.StatusCodes[200] != 1000 {
		t.Errorf("status codes %v, want only 200 (codes outside 100-599 are dropped)", got.StatusCodes)
	}
}
