package main

import (
	"fmt"
	"io"
	"time"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// printer writes the per-round progress lines and the final summary.
type printer struct {
	w io.Writer
}

// round prints one line for a finished round.
func (p *printer) round(r *manager.RoundResult) {
	fmt.Fprintf(p.w, "round %3d  planned %6d rps  achieved %8.1f rps  ok %6d  failed %4d  timeouts %4d  dropped %4d  lost %4d  p50 %8s  p99 %8s\n",
		r.Index, r.PlannedRPS, r.AchievedRPS, r.Success, r.Failed(), r.Timeouts, r.Dropped, r.Lost,
		ms(r.Quantile(50)), ms(r.Quantile(99)))
}

// summary prints the totals of a run.
func (p *printer) summary(s *manager.Summary) {
	w := p.w
	fmt.Fprintf(w, "\nsummary\n")
	fmt.Fprintf(w, "  rounds         %d over %v\n", s.Rounds, s.Elapsed.Round(time.Millisecond))
	fmt.Fprintf(w, "  requests       planned %d, sent %d\n", s.Planned, s.Sent)
	fmt.Fprintf(w, "  achieved rate  %.1f rps\n", s.AchievedRPS())
	fmt.Fprintf(w, "  outcomes       success %d, 4xx %d, 5xx %d, timeouts %d, connection errors %d, dropped %d, lost %d\n",
		s.Success, s.ClientErrors, s.ServerErrors, s.Timeouts, s.ConnErrors, s.Dropped, s.Lost)
	fmt.Fprintf(w, "  latency        %s  (from each request's intended send time)\n", quantiles(s))
	if s.Service != nil {
		fmt.Fprintf(w, "  service time   p50 %s  p99 %s  max %s  (from the actual send)\n",
			ms(engine.Percentile(s.Service, 50)), ms(engine.Percentile(s.Service, 99)), ms(engine.Percentile(s.Service, 100)))
	}
	if s.ResponseBytes > 0 {
		fmt.Fprintf(w, "  received       %d bytes of response bodies\n", s.ResponseBytes)
	}
}

func quantiles(s *manager.Summary) string {
	if s.Latency == nil || s.Latency.TotalCount() == 0 {
		return "no responses"
	}
	return fmt.Sprintf("p50 %s  p90 %s  p99 %s  p99.9 %s  max %s",
		ms(engine.Percentile(s.Latency, 50)), ms(engine.Percentile(s.Latency, 90)),
		ms(engine.Percentile(s.Latency, 99)), ms(engine.Percentile(s.Latency, 99.9)),
		ms(engine.Percentile(s.Latency, 100)))
}

// ms formats a duration in milliseconds with sensible precision.
func ms(d time.Duration) string {
	return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
}
