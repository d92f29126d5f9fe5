package manager

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Fakes for the scheduler tests: an executor that runs jobs on the
// bubble's fake clock, a request source and a scripted load calculator.

var (
	_ Executor               = (*fakeExecutor)(nil)
	_ types.RequestSource    = (*fakeSource)(nil)
	_ LoadCalculator         = (*scriptedCalculator)(nil)
	_ FeedbackLoadCalculator = (*scriptedCalculator)(nil)
)

// testLatency is the latency every fake request records.
const testLatency = 2 * time.Millisecond

// fakeExecutor runs jobs on the fake clock: each job reports when its
// interval is over, as if every request had succeeded.
type fakeExecutor struct {
	id       string
	capacity int
	sched    *Scheduler
	ctx      context.Context // ends the fake's report goroutines

	// dispatchErr fails every Dispatch; silent, when set, picks the jobs
	// never reported; sent, when set, is how many of a job's requests go
	// out (all succeed); dials, when set, fills in a report's connection
	// counts.
	dispatchErr error
	silent      func(tally.Job) bool
	sent        func(count int) int
	dials       func(*tally.Report)

	mu   sync.Mutex
	jobs []tally.Job
	at   []time.Time // when each job was dispatched
}

// newFake returns an executor reporting to s until ctx ends.
func newFake(ctx context.Context, s *Scheduler, id string, capacity int) *fakeExecutor {
	return &fakeExecutor{id: id, capacity: capacity, sched: s, ctx: ctx}
}

func (f *fakeExecutor) ID() string    { return f.id }
func (f *fakeExecutor) Capacity() int { return f.capacity }

// Dispatch records job and, unless told otherwise, reports it once its
// interval is over.
func (f *fakeExecutor) Dispatch(job tally.Job) error {
	f.mu.Lock()
	f.jobs = append(f.jobs, job)
	f.at = append(f.at, time.Now())
	f.mu.Unlock()
	if f.dispatchErr != nil {
		return f.dispatchErr
	}
	if f.silent != nil && f.silent(job) {
		return nil
	}
	sent := job.Count
	if f.sent != nil {
		sent = f.sent(job.Count)
	}
	go func() {
		t := time.NewTimer(time.Until(job.StartAt.Add(job.Duration)))
		defer t.Stop()
		select {
		case <-f.ctx.Done():
			return
		case <-t.C:
		}
		rep := successReport(job, sent)
		if f.dials != nil {
			f.dials(rep)
		}
		f.sched.Report(f.id, rep)
	}()
	return nil
}

// counts returns the Count of every job dispatched so far, in order.
func (f *fakeExecutor) counts() []int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]int, len(f.jobs))
	for i, j := range f.jobs {
		out[i] = j.Count
	}
	return out
}

// snapshot returns the jobs dispatched so far and when.
func (f *fakeExecutor) snapshot() ([]tally.Job, []time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.jobs), slices.Clone(f.at)
}

// successReport is the report of job when sent of its requests went out,
// evenly spaced, and all succeeded.
func successReport(job tally.Job, sent int) *tally.Report {
	rep := tally.NewReport(job.ID, job.Round)
	rep.Planned = int64(job.Count)
	rep.Sent = int64(sent)
	rep.Success = int64(sent)
	if sent > 0 {
		rep.FirstSend = job.StartAt
		rep.LastSend = job.StartAt.Add(job.Duration * time.Duration(sent-1) / time.Duration(job.Count))
	}
	for range sent {
		_ = rep.Latency.RecordValue(testLatency.Microseconds())
		_ = rep.Service.RecordValue(testLatency.Microseconds() / 2)
	}
	return rep
}

// fakeSource yields GET /n forever, or fails after failAfter specs when
// that is set.
type fakeSource struct {
	n         int
	failAfter int
}

var errSourceDry = errors.New("source ran dry")

func (s *fakeSource) Next() (types.RequestSpec, error) {
	if s.failAfter > 0 && s.n >= s.failAfter {
		return types.RequestSpec{}, errSourceDry
	}
	s.n++
	return types.RequestSpec{Method: "GET", Path: "/n"}, nil
}

func (s *fakeSource) Reset() error { s.n = 0; return nil }

// scriptedCalculator returns its rates in turn, then -1 (end of test) or,
// with repeat set, the last rate forever. It records what Next returned
// and every observation.
type scriptedCalculator struct {
	rates  []int
	repeat bool

	mu       sync.Mutex
	returned []int
	observed []LoadObservation
}

func (c *scriptedCalculator) Next() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	rps := -1
	switch n := len(c.returned); {
	case n < len(c.rates):
		rps = c.rates[n]
	case c.repeat && len(c.rates) > 0:
		rps = c.rates[len(c.rates)-1]
	}
	c.returned = append(c.returned, rps)
	return rps
}

func (c *scriptedCalculator) Observe(o LoadObservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.observed = append(c.observed, o)
}

func (c *scriptedCalculator) calls() ([]int, []LoadObservation) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.returned), slices.Clone(c.observed)
}
