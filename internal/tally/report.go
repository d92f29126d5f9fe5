package tally

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram bounds: values are microseconds from 1µs to 1 hour, with three
// significant figures. Larger values are clamped to the top.
const (
	histMin     = 1
	histMax     = int64(time.Hour / time.Microsecond)
	histSigFigs = 3
)

// NewHistogram returns an empty latency histogram in microseconds, the unit
// every histogram in imager uses.
func NewHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(histMin, histMax, histSigFigs)
}

// Record adds d to h, a histogram of NewHistogram, in microseconds and
// clamped to the histogram's range.
func Record(h *hdrhistogram.Histogram, d time.Duration) {
	us := int64(d / time.Microsecond)
	if us < histMin {
		us = histMin
	}
	if us > histMax {
		us = histMax
	}
	_ = h.RecordValue(us) // cannot fail: the value is in range
}

// Percentile returns the q-th percentile (0-100) of a microsecond histogram
// as a duration; 0 for an empty or nil histogram.
func Percentile(h *hdrhistogram.Histogram, q float64) time.Duration {
	if h == nil || h.TotalCount() == 0 {
		return 0
	}
	return time.Duration(h.ValueAtQuantile(q)) * time.Microsecond
}

// Counts tallies planned requests by outcome. For a finished job or round,
// Planned == Success + ClientErrors + ServerErrors + Timeouts + ConnErrors +
// Dropped + Lost + CheckFailed.
type Counts struct {
	// Planned is the number of requests the plan made due; a run stopped
	// early drops the requests that never fell due.
	Planned      int64
	Sent         int64
	Success      int64
	ClientErrors int64
	ServerErrors int64
	Timeouts     int64
	ConnErrors   int64
	Dropped      int64
	// Lost counts planned requests whose fate is unknown: cut off by
	// cancellation, or held by an executor that went away before
	// reporting.
	Lost int64
	// CheckFailed counts responses that failed a response check.
	CheckFailed   int64
	ResponseBytes int64
}

// Failed counts the requests whose outcome is not Success: 4xx, 5xx,
// timeouts, connection errors, dropped, lost and failed checks. For a
// finished job it is Planned − Success (see Outcome).
func (c Counts) Failed() int64 {
	return c.ClientErrors + c.ServerErrors + c.Timeouts + c.ConnErrors + c.Dropped + c.Lost + c.CheckFailed
}

// Accounted is the number of planned requests whose fate is known or
// declared lost; it equals Planned for a finished job.
func (c Counts) Accounted() int64 { return c.Success + c.Failed() }

// Of returns the count of outcome o.
func (c *Counts) Of(o Outcome) int64 {
	if p := c.field(o); p != nil {
		return *p
	}
	return 0
}

// field returns the counter of outcome o, nil for an unknown outcome.
func (c *Counts) field(o Outcome) *int64 {
	switch o {
	case Success:
		return &c.Success
	case ClientError:
		return &c.ClientErrors
	case ServerError:
		return &c.ServerErrors
	case Timeout:
		return &c.Timeouts
	case ConnError:
		return &c.ConnErrors
	case Dropped:
		return &c.Dropped
	case Lost:
		return &c.Lost
	case CheckFailed:
		return &c.CheckFailed
	}
	return nil
}

// Add adds o into c.
func (c *Counts) Add(o Counts) {
	c.Planned += o.Planned
	c.Sent += o.Sent
	c.Success += o.Success
	c.ClientErrors += o.ClientErrors
	c.ServerErrors += o.ServerErrors
	c.Timeouts += o.Timeouts
	c.ConnErrors += o.ConnErrors
	c.Dropped += o.Dropped
	c.Lost += o.Lost
	c.CheckFailed += o.CheckFailed
	c.ResponseBytes += o.ResponseBytes
}

// Count adds one request with outcome o; an unknown outcome is lost.
func (c *Counts) Count(o Outcome) {
	p := c.field(o)
	if p == nil {
		p = &c.Lost
	}
	*p++
}

// Report is the result of one job, or the merge of several.
type Report struct {
	JobID string
	Round int64
	Counts
	// Latency holds latency from each request's intended send time (or its
	// actual send, when earlier; see Sample.Latency) and Service the time
	// from its actual send, both in microseconds.
	Latency *hdrhistogram.Histogram
	Service *hdrhistogram.Histogram
	// FirstSend and LastSend bound the actual sends; zero when none was sent.
	FirstSend time.Time
	LastSend  time.Time
	// Err is set when the job could not be run at all.
	Err string
	// Dials counts the connections the job opened (a first connect or a
	// reconnect after the target or a failure closed one) and DialErrors
	// the connects that failed. The control plane carries them, and the
	// orchestrator sums them into each round and the run.
	Dials, DialErrors int64
	Breakdown
}

// NewReport returns an empty report with allocated histograms.
func NewReport(jobID string, round int64) *Report {
	return &Report{JobID: jobID, Round: round, Latency: NewHistogram(), Service: NewHistogram()}
}

// Merge folds o into r: counts add, histograms merge, send bounds widen.
func (r *Report) Merge(o *Report) {
	r.Counts.Add(o.Counts)
	r.Dials += o.Dials
	r.DialErrors += o.DialErrors
	if o.Latency != nil {
		if r.Latency == nil {
			r.Latency = NewHistogram()
		}
		r.Latency.Merge(o.Latency)
	}
	if o.Service != nil {
		if r.Service == nil {
			r.Service = NewHistogram()
		}
		r.Service.Merge(o.Service)
	}
	if !o.FirstSend.IsZero() && (r.FirstSend.IsZero() || o.FirstSend.Before(r.FirstSend)) {
		r.FirstSend = o.FirstSend
	}
	if o.LastSend.After(r.LastSend) {
		r.LastSend = o.LastSend
	}
	if o.Err != "" && r.Err == "" {
		r.Err = o.Err
	}
	r.Breakdown.Merge(&o.Breakdown)
}

// EncodeHistogram serialises h in HdrHistogram's compressed V2 form, which
// is what reports carry over the wire; a nil h is an empty histogram. It
// writes what hdrhistogram-go's Encode writes, compressed faster and with
// reused buffers (see encodeV2), and any V2 decoder reads it. The header's
// integer-to-double conversion ratio is the default, 1 (only a histogram of
// 0 significant digits has its own written): imager's histograms have no
// other, as DecodeHistogram drops another that a stream declares.
func EncodeHistogram(h *hdrhistogram.Histogram) ([]byte, error) {
	return encodeV2(h)
}

// DecodeHistogram is the inverse of EncodeHistogram; empty input yields an
// empty histogram. The input may come from anyone: a histogram declaring
// more than 3 significant digits is refused before its counts are
// allocated, and one of another range is returned in imager's own
// (1µs to 1 hour, values outside clamped), so that it merges exactly. The
// histogram has the default conversion ratio whatever the header declares
// (the ratio is metadata, which imager's microsecond counts do not use).
func DecodeHistogram(b []byte) (*hdrhistogram.Histogram, error) {
	if len(b) == 0 {
		return NewHistogram(), nil
	}
	h, err := decodeBounded(b)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}
