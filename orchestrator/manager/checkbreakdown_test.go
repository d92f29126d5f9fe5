package manager

import (
	"math"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/tally"
)

func TestCheckReportBreakdown(t *testing.T) {
	// A true report of 10 requests: 9 ended, 5 of them home requests.
	good := func() *tally.Report {
		return fuzzReport([9]int64{10, 9, 6, 1, 0, 1, 1, 1, 0}, 9, 9, 6, 3, 5, 0)
	}
	tests := []struct {
		name  string
		forge func(*tally.Report)
		want  string // "" for a report that is believed
	}{
		{"true", func(*tally.Report) {}, ""},
		{"outcomes that wrap around", func(r *tally.Report) {
			// MaxInt64 + MaxInt64 + 12 wraps to 10: the sum looks right.
			r.Success, r.ClientErrors, r.ServerErrors, r.Timeouts, r.ConnErrors, r.Dropped = math.MaxInt64, math.MaxInt64, 12, 0, 0, 0
			r.Sent = 10
			r.Latency = tally.NewHistogram()
			_ = r.Latency.RecordValues(1000, 10)
		}, "success (9223372036854775807) is more than its 10 planned"},
		{"status codes inflated", func(r *tally.Report) { r.StatusCodes[200] = 10 }, "status code counts add up to more than 9"},
		{"negative status count", func(r *tally.Report) { r.StatusCodes[500] = -3 }, "status code 500 has a negative count"},
		{"reasons inflated", func(r *tally.Report) { r.Errors["other"] = 2 }, "failure reason counts add up to more than 4"},
		{"name inflated", func(r *tally.Report) { r.Names["home"].Success = 7 }, "names' success add up to more than its 6"},
		{"name negative", func(r *tally.Report) { r.Names["home"].Lost = -1 }, `name "home": lost is negative`},
		{"name histogram inflated", func(r *tally.Report) { _ = r.Names["home"].Latency.RecordValue(9) }, `name "home": its latency histogram holds 6`},
		{"service times inflated", func(r *tally.Report) { _ = r.Service.RecordValue(9) }, "service-time histogram holds 10 requests"},
		{"checks believed", func(r *tally.Report) { r.Check("status").Passed, r.Check("status").Failed = 5, 3 }, ""},
		{"check inflated", func(r *tally.Report) { r.Check("status").Passed = 9 }, `check "status" judged 9 responses, more than the 8 received`},
		{"check negative", func(r *tally.Report) { r.Check("body").Failed = -1 }, `check "body" has a negative count`},
		{"too many checks", func(r *tally.Report) {
			r.Checks = map[string]*tally.CheckCount{}
			for i := range tally.MaxChecks + 1 {
				r.Checks[strings.Repeat("c", i+1)] = &tally.CheckCount{}
			}
		}, "more than the 100 allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep := good()
			tt.forge(rep)
			wantCheck(t, checkReport(rep, 10), tt.want)
		})
	}
}

// wantCheck fails t unless err is nil for want "" or else contains want.
func wantCheck(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("refused: %v", err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("checkReport = %v, want an error containing %q", err, want)
	}
}
