package executor

import (
	"errors"
	"fmt"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
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

// validateWireJob checks what only a wire job can get wrong: a count
// that does not fit the engine's int. validateJob checks the rest once the
// job is converted.
func validateWireJob(job *imagerv1.Job) error {
	if c := job.GetCount(); int64(int(c)) != c {
		return fmt.Errorf("count is %d, want at most %d", c, MaxJobCount)
	}
	return nil
}

// validateJob checks job against the bounds above, as of now. It returns
// nil for a job the executor may run, or an error naming the first field
// out of bounds. The engine checks the order indices again; checking them
// here refuses the job before it starts.
func validateJob(job tally.Job, now time.Time) error {
	count := job.Count
	dur := job.Duration
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
	if t := job.Timeout; t < 0 || t > MaxJobTimeout {
		return fmt.Errorf("request timeout is %v, want 0 (the default) to %v", t, MaxJobTimeout)
	}
	start := job.StartAt
	if skew := start.Sub(now); skew > MaxJobSkew || skew < -MaxJobSkew {
		return fmt.Errorf("start time %s is %v from this executor's clock, want within %v",
			start.UTC().Format(time.RFC3339Nano), skew.Round(time.Millisecond), MaxJobSkew)
	}
	// The engine checks the order's indices when it prepares the job.
	if len(job.Requests) == 0 {
		return errors.New("no requests")
	}
	return nil
}
