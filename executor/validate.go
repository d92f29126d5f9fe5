package executor

import (
	"errors"
	"fmt"
	"time"

	"github.com/PeladoCollado/imager/engine"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// Bounds on the jobs an executor accepts. A job outside them comes from a
// misbehaving or hostile orchestrator: it is not run, and its report says
// why and counts its requests as lost. They are far above what a real
// test asks of one executor (its share of one round) yet keep a bad job
// from pinning the CPU or outliving a shutdown.
const (
	// MaxJobCount is the most requests one job may ask for.
	MaxJobCount = 10_000_000
	// MaxJobRate is the highest rate one job may ask for, in requests per
	// second (count over duration).
	MaxJobRate = 5_000_000
	// MaxJobDuration is the longest job.
	MaxJobDuration = time.Hour
	// MaxJobTimeout is the longest per-request timeout; zero means the
	// engine's default.
	MaxJobTimeout = time.Hour
	// MaxJobSkew is how far from the executor's clock a job's start may
	// lie, either way: rounds are dispatched at most a second ahead, so
	// this only tolerates clock skew between machines.
	MaxJobSkew = 10 * time.Minute
)

// validateJob checks job against the bounds above, as of now. It returns
// nil for a job the executor may run, or an error naming the first field
// out of bounds.
func validateJob(job *imagerv1.Job, now time.Time) error {
	count := job.GetCount()
	dur := time.Duration(job.GetDurationNanos())
	switch {
	case count <= 0:
		return fmt.Errorf("count is %d, want at least 1", count)
	case count > MaxJobCount:
		return fmt.Errorf("count is %d, want at most %d", count, MaxJobCount)
	case dur <= 0:
		return fmt.Errorf("duration is %v, want more than zero", dur)
	case dur > MaxJobDuration:
		return fmt.Errorf("duration is %v, want at most %v", dur, MaxJobDuration)
	case float64(count)/dur.Seconds() > MaxJobRate:
		return fmt.Errorf("rate is %.0f requests/s (%d in %v), want at most %d",
			float64(count)/dur.Seconds(), count, dur, MaxJobRate)
	}
	if t := time.Duration(job.GetTimeoutNanos()); t < 0 || t > MaxJobTimeout {
		return fmt.Errorf("request timeout is %v, want 0 (the default) to %v", t, MaxJobTimeout)
	}
	start := time.Unix(0, job.GetStartAtUnixNanos())
	if skew := start.Sub(now); skew > MaxJobSkew || skew < -MaxJobSkew {
		return fmt.Errorf("start time %s is %v from this executor's clock, want within %v",
			start.UTC().Format(time.RFC3339Nano), skew.Round(time.Millisecond), MaxJobSkew)
	}
	n := len(job.GetRequests())
	if n == 0 {
		return errors.New("no requests")
	}
	for i, o := range job.GetOrder() {
		if int(o) >= n {
			return fmt.Errorf("order[%d] is %d, want less than the %d requests", i, o, n)
		}
	}
	return nil
}

// rejectedReport is the report of a job that is not run (it failed
// validation, say): nothing was sent and every request it planned (none
// when its count is not positive) is lost, with the reason, if any, in Err
// and the error list.
func rejectedReport(job *imagerv1.Job, reason error) *engine.Report {
	rep := engine.NewReport(job.GetJobId(), job.GetRound())
	planned := max(job.GetCount(), 0)
	rep.Planned = planned
	rep.Lost = planned
	rep.Err = "job refused"
	if reason != nil {
		rep.Err += ": " + reason.Error()
	}
	rep.AddError(rep.Err, planned)
	return rep
}
