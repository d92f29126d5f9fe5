package manager

import (
	"fmt"

	"github.com/PeladoCollado/imager/internal/tally"
)

// checkReport tells why a report cannot be true of a job of planned
// requests, or returns nil. An executor that sends such a report is broken
// or hostile; its requests are counted as lost rather than believed.
func checkReport(rep *tally.Report, planned int64) error {
	c := rep.Counts
	others := []namedCount{{"response_bytes", c.ResponseBytes}, {"dials", rep.Dials}, {"dial_errors", rep.DialErrors}}
	for _, f := range append(outcomeCounts(&c), others...) {
		if f.v < 0 {
			return fmt.Errorf("%s is negative (%d)", f.name, f.v)
		}
	}
	// A report may plan fewer requests than its job (the executor was
	// stopped before the rest fell due: they are counted as lost), never
	// more.
	if c.Planned > planned {
		return fmt.Errorf("it plans %d requests, the job %d", c.Planned, planned)
	}
	if got := c.Accounted(); got != c.Planned {
		return fmt.Errorf("its outcomes add up to %d, not its %d planned requests", got, c.Planned)
	}
	if err := checkOutcomeBounds(&c); err != nil {
		return err
	}
	if err := checkDials(rep); err != nil {
		return err
	}
	if ended := c.Success + c.ClientErrors + c.ServerErrors + c.Timeouts + c.ConnErrors; ended > c.Sent {
		return fmt.Errorf("%d requests ended but only %d were sent", ended, c.Sent)
	}
	if c.Sent > c.Planned-c.Dropped {
		return fmt.Errorf("%d sent of %d planned with %d dropped", c.Sent, c.Planned, c.Dropped)
	}
	// Every request that ended, whatever its outcome, has a latency;
	// dropped and lost requests have none.
	if rep.Latency != nil {
		if n, want := rep.Latency.TotalCount(), c.Planned-c.Dropped-c.Lost; n != want {
			return fmt.Errorf("its latency histogram holds %d requests, its counts %d", n, want)
		}
	}
	return checkBreakdown(rep)
}

// checkDials refuses connection counts above the report's planned
// requests. An executor opens a connection only to send a request, with
// at most one attempt per request, so a true report has dials plus dial
// errors at most its sent requests; the bound checked, each count at most
// the planned requests, is looser than that so as not to refuse a true
// report over a detail of how the engine connects. It is what keeps a
// forged count from overflowing the round's and the run's sums: like the
// outcomes, neither sum can exceed the requests planned. checkReport has
// refused negative counts.
func checkDials(rep *tally.Report) error {
	for _, f := range []namedCount{{"dials", rep.Dials}, {"dial_errors", rep.DialErrors}} {
		if f.v > rep.Planned {
			return fmt.Errorf("%s (%d) is more than its %d planned requests: a connection is opened only to send one", f.name, f.v, rep.Planned)
		}
	}
	return nil
}

// RefusalListener is an Executor that wants to hear of its refused
// reports, for example to disconnect a repeat offender. The scheduler calls
// ReportRefused from its own goroutine, once per refused report (whose
// requests count as lost): it must not block.
type RefusalListener interface {
	ReportRefused(jobID string, reason error)
}
