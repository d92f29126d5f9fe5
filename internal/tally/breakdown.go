package tally

import (
	"strings"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Bounds of a Breakdown, so that a report stays small whatever the target
// answers and however many request names a scenario invents.
const (
	// MaxErrorReasons is the most distinct failure reasons a Breakdown
	// keeps, OtherReason included: further reasons are counted under it.
	MaxErrorReasons = 20
	// MaxNames is the most request names a Breakdown keeps, OtherName
	// included: requests with further names are counted under it.
	MaxNames = 100
	// MaxChecks is the most check names a Breakdown keeps, OtherCheck
	// included: further checks are counted under it.
	MaxChecks = 100
	// maxReasonLen bounds the length of one failure reason.
	maxReasonLen = 200
)

// OtherReason and OtherName collect what exceeds the bounds above.
const (
	OtherReason = "other"
	OtherName   = "other"
	OtherCheck  = "other"
)

// Breakdown details a report beyond its outcome counts: responses by HTTP
// status code, the distinct reasons of failed requests, and results by
// request name. Every map is nil until something is recorded.
type Breakdown struct {
	// StatusCodes counts responses by status code (100-599).
	StatusCodes map[int]int64
	// Errors counts failed requests by reason: the transport error, such
	// as a refused connection or a certificate the client does not trust,
	// or why a request was dropped. At most MaxErrorReasons entries.
	Errors map[string]int64
	// Names holds the results of named requests. At most MaxNames entries.
	Names map[string]*NameResult
	// Checks counts, by check name, the responses each response check
	// judged. At most MaxChecks entries.
	Checks map[string]*CheckCount
}

// CheckCount is how often one response check passed and failed.
type CheckCount struct {
	Passed, Failed int64
}

// Check returns the counts of check name, created if needed; past
// MaxChecks names further checks share OtherCheck.
func (b *Breakdown) Check(name string) *CheckCount {
	return boundedEntry(&b.Checks, name, OtherCheck, MaxChecks, func() *CheckCount { return &CheckCount{} })
}

// NameResult is the share of a report of the requests with one name.
type NameResult struct {
	Counts
	// Latency from the intended send time, in microseconds.
	Latency *hdrhistogram.Histogram
}

// AddStatus counts one response with status code code; codes outside
// 100-599 are not counted.
func (b *Breakdown) AddStatus(code int, n int64) {
	if code < 100 || code > 599 || n == 0 {
		return
	}
	if b.StatusCodes == nil {
		b.StatusCodes = make(map[int]int64)
	}
	b.StatusCodes[code] += n
}

// AddError counts n failed requests with the given reason.
func (b *Breakdown) AddError(reason string, n int64) {
	if n == 0 {
		return
	}
	b.addReason(cleanReason(reason), n)
}

// addReason is AddError for a reason cleanReason has made one line.
func (b *Breakdown) addReason(reason string, n int64) {
	if b.Errors == nil {
		b.Errors = make(map[string]int64)
	}
	if _, ok := b.Errors[reason]; !ok && len(b.Errors) >= MaxErrorReasons-1 {
		reason = OtherReason
	}
	b.Errors[reason] += n
}

// cleanReason makes a reason one bounded line.
func cleanReason(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > maxReasonLen {
		s = s[:maxReasonLen] + "…"
	}
	if s == "" {
		s = "unknown error"
	}
	return s
}

// Name returns the result of name, created if needed; past MaxNames names
// it returns the result of OtherName.
func (b *Breakdown) Name(name string) *NameResult {
	return boundedEntry(&b.Names, name, OtherName, MaxNames, func() *NameResult { return &NameResult{Latency: NewHistogram()} })
}

// boundedEntry returns (*m)[name], made with fresh and added if missing,
// the map made if nil. Once the map holds limit-1 keys, a new name shares
// the entry of other, so the map never holds more than limit keys.
func boundedEntry[V any](m *map[string]*V, name, other string, limit int, fresh func() *V) *V {
	if *m == nil {
		*m = make(map[string]*V)
	}
	if v, ok := (*m)[name]; ok {
		return v
	}
	if len(*m) >= limit-1 {
		name = other
		if v, ok := (*m)[name]; ok {
			return v
		}
	}
	v := fresh()
	(*m)[name] = v
	return v
}

// Merge folds o into b, keeping b's bounds.
func (b *Breakdown) Merge(o *Breakdown) {
	for code, n := range o.StatusCodes {
		b.AddStatus(code, n)
	}
	for reason, n := range o.Errors {
		b.AddError(reason, n)
	}
	for name, onr := range o.Names {
		nr := b.Name(name)
		nr.Counts.Add(onr.Counts)
		if onr.Latency != nil {
			nr.Latency.Merge(onr.Latency)
		}
	}
	for name, oc := range o.Checks {
		c := b.Check(name)
		c.Passed += oc.Passed
		c.Failed += oc.Failed
	}
}
