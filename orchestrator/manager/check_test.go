package manager

import (
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/tally"
)

func TestCheckReport(t *testing.T) {
	good := func() *tally.Report {
		rep := tally.NewReport("j", 0)
		rep.Counts = tally.Counts{Planned: 10, Sent: 9, Success: 6, ClientErrors: 1, Timeouts: 1, ConnErrors: 1, Dropped: 1}
		for range 9 {
			_ = rep.Latency.RecordValue(1000)
		}
		return rep
	}
	tests := []struct {
		name  string
		forge func(*tally.Report)
		want  string // "" for a report that is believed
	}{
		{"true", func(*tally.Report) {}, ""},
		{"cut short by a stop", func(r *tally.Report) {
			// 4 fell due before the stop; one was in flight and is lost.
			r.Counts = tally.Counts{Planned: 4, Sent: 4, Success: 3, Lost: 1}
			r.Latency = tally.NewHistogram()
			for range 3 {
				_ = r.Latency.RecordValue(1000)
			}
		}, ""},
		{"negative", func(r *tally.Report) { r.Dropped, r.Success = -2, 9 }, "dropped is negative"},
		{"inflated", func(r *tally.Report) { r.Success = 20000 }, "outcomes add up to 20004"},
		{"more planned than the job", func(r *tally.Report) { r.Planned, r.Success = 20, 16 }, "plans 20 requests, the job 10"},
		{"more ended than sent", func(r *tally.Report) { r.Sent = 5 }, "9 requests ended but only 5 were sent"},
		{"sent beyond the plan", func(r *tally.Report) { r.Sent = 10 }, "10 sent of 10 planned with 1 dropped"},
		{"histogram disagrees", func(r *tally.Report) { _ = r.Latency.RecordValue(5) }, "latency histogram holds 10 requests, its counts 9"},
	}
	for _, tt := range tests {
		rep := good()
		tt.forge(rep)
		err := checkReport(rep, 10)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: refused: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: checkReport = %v, want an error containing %q", tt.name, err, tt.want)
		}
	}
}
