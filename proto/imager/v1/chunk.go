package imagerv1

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Message size limits of the control plane, on both sides. A job is sent
// as a Job message followed by JobPart messages of about PartBytes each,
// so that no message nears gRPC's default 4 MiB limit however many
// requests a job has. One request is never split: a request of up to
// MaxRequestBytes travels in a message of its own, which is why
// MaxMessageBytes is larger. Sources refuse larger requests when they
// load them.
const (
	PartBytes       = 1 << 20
	MaxRequestBytes = tally.MaxRequestBytes
	MaxMessageBytes = MaxRequestBytes + 1<<20
)

// maxParts bounds the JobPart messages one Job may announce: a job of a
// million distinct requests of 1 KiB needs about a thousand.
const maxParts = 1 << 16

// minBudget is the smallest message budget SplitJob works with.
const minBudget = 1 << 10

// orderEntryBytes is the most bytes one order entry takes on the wire.
const orderEntryBytes = 5

// RequestSize is the wire size of r inside a job.
func RequestSize(r *Request) int {
	return proto.Size(r) + 8
}

// SplitJob returns the messages that carry job: the Job itself with as
// many of its requests and order entries as fit in about budget bytes and
// Parts set, then the JobPart messages with the rest, in order. job is not
// modified. A budget of zero or less means PartBytes; budgets under
// minBudget are raised to it.
func SplitJob(job *Job, budget int) []*OrchestratorMessage {
	if budget <= 0 {
		budget = PartBytes
	}
	budget = max(budget, minBudget)
	head := &Job{
		JobId: job.GetJobId(), Round: job.GetRound(), TargetUrl: job.GetTargetUrl(),
		StartAtUnixNanos: job.GetStartAtUnixNanos(), DurationNanos: job.GetDurationNanos(),
		Count: job.GetCount(), TimeoutNanos: job.GetTimeoutNanos(), Tls: job.GetTls(),
	}
	var parts []*JobPart
	used := proto.Size(head)
	// addRequest appends to the open message: the head until a part is
	// opened.
	addRequest := func(r *Request) {
		if len(parts) == 0 {
			head.Requests = append(head.Requests, r)
		} else {
			parts[len(parts)-1].Requests = append(parts[len(parts)-1].Requests, r)
		}
	}
	open := func() {
		parts = append(parts, &JobPart{JobId: job.GetJobId()})
		used = len(job.GetJobId()) + 8
	}
	for _, r := range job.GetRequests() {
		n := RequestSize(r)
		if used+n > budget && (len(parts) > 0 || len(head.Requests) > 0) {
			open()
		}
		addRequest(r)
		used += n
	}
	order := job.GetOrder()
	for len(order) > 0 {
		room := (budget - used) / orderEntryBytes
		if room <= 0 {
			open()
			continue
		}
		take := order[:min(room, len(order))]
		order = order[len(take):]
		if len(parts) == 0 {
			head.Order = take
		} else {
			parts[len(parts)-1].Order = append(parts[len(parts)-1].Order, take...)
		}
		used += len(take) * orderEntryBytes
	}
	head.Parts = int32(len(parts))
	msgs := make([]*OrchestratorMessage, 0, 1+len(parts))
	msgs = append(msgs, &OrchestratorMessage{Kind: &OrchestratorMessage_Job{Job: head}})
	for _, p := range parts {
		msgs = append(msgs, &OrchestratorMessage{Kind: &OrchestratorMessage_JobPart{JobPart: p}})
	}
	return msgs
}

// ErrPartOutOfPlace is returned by JobAssembler when a JobPart arrives
// with no job waiting for it, or for another job.
var ErrPartOutOfPlace = errors.New("job part out of place")

// JobAssembler puts a job sent by SplitJob back together on the executor.
// It is used by the one goroutine that reads the stream. It holds at most
// one incomplete job, and never more of it than its count can use: a job
// needs no more distinct requests, and no longer an order, than the
// requests it sends.
type JobAssembler struct {
	// MaxCount, when positive, refuses a job announcing parts whose count
	// exceeds it before any part is taken in.
	MaxCount int64

	pending *Job
	left    int32
}

// Job takes a Job message. It returns the job when it is complete (no
// parts announced); otherwise it keeps it until its parts arrive. The jobs
// it gives up on come back in abandoned, with err saying why: the job that
// was still waiting for parts (they were skipped), and j itself when its
// announcement is out of bounds. Abandoned jobs are not run; their
// requests are lost.
func (a *JobAssembler) Job(j *Job) (complete *Job, abandoned []*Job, err error) {
	var errs []error
	if a.pending != nil {
		abandoned = append(abandoned, a.pending)
		errs = append(errs, fmt.Errorf("job %s: %d parts missing when job %s arrived", a.pending.GetJobId(), a.left, j.GetJobId()))
		a.pending = nil
	}
	switch p := j.GetParts(); {
	case p == 0:
		return j, abandoned, errors.Join(errs...)
	case p < 0 || p > maxParts:
		errs = append(errs, fmt.Errorf("job %s: announces %d parts, want 0 to %d", j.GetJobId(), p, maxParts))
		return nil, append(abandoned, j), errors.Join(errs...)
	case a.MaxCount > 0 && j.GetCount() > a.MaxCount:
		errs = append(errs, fmt.Errorf("job %s: count %d in parts, want at most %d", j.GetJobId(), j.GetCount(), a.MaxCount))
		return nil, append(abandoned, j), errors.Join(errs...)
	}
	a.pending, a.left = j, j.GetParts()
	return nil, abandoned, errors.Join(errs...)
}

// Part takes a JobPart message and returns the job once its last part is
// in. A part that brings the job's requests or order past its count
// abandons the job.
func (a *JobAssembler) Part(p *JobPart) (complete, abandoned *Job, err error) {
	if a.pending == nil || p.GetJobId() != a.pending.GetJobId() {
		return nil, nil, fmt.Errorf("%w: part of job %q", ErrPartOutOfPlace, p.GetJobId())
	}
	j := a.pending
	count := max(j.GetCount(), 1)
	if int64(len(j.Requests)+len(p.GetRequests())) > count || int64(len(j.Order)+len(p.GetOrder())) > count {
		a.pending = nil
		return nil, j, fmt.Errorf("job %s: parts carry more requests or order entries than its count of %d", j.GetJobId(), j.GetCount())
	}
	j.Requests = append(j.Requests, p.GetRequests()...)
	j.Order = append(j.Order, p.GetOrder()...)
	if a.left--; a.left > 0 {
		return nil, nil, nil
	}
	a.pending = nil
	return j, nil, nil
}

// Pending returns the job waiting for parts, or nil.
func (a *JobAssembler) Pending() *Job { return a.pending }
