// Package tally is the data model the load engine, the executors and the
// orchestrator share: a job and its requests, the outcome of each request,
// and a job's report (counts by outcome, a breakdown by status, failure
// reason and request name, and HdrHistograms of latency) with its wire
// encoding. It has no HTTP client: package engine sends the requests.
package tally

import "time"

// Outcome classifies how one planned request ended. Every planned request
// ends in exactly one outcome, so for any job, round or run
//
//	planned = success + client_error + server_error + timeout +
//	          connection_error + dropped + lost + check_failed
//
// A request is "failed" when its outcome is anything but Success: the
// failed count is planned − success, the numerator of error_rate. This is
// the one meaning of "failed" in imager: the imager_failed metric, the
// round lines, the summary and the results file all use it.
type Outcome uint8

// The outcomes of a planned request.
const (
	// Success is a 2xx or 3xx response.
	Success Outcome = iota
	// ClientError is a 4xx response.
	ClientError
	// ServerError is a 5xx response other than 503 and 504.
	ServerError
	// Timeout is a 503 or 504 response, or no response headers within the
	// request timeout.
	Timeout
	// ConnError is a request that could not connect or broke off without a
	// status line.
	ConnError
	// Dropped is a request never sent because the in-flight cap was reached.
	Dropped
	// Lost is a request whose fate is unknown: cut short because the run
	// was cancelled, or held by an executor that went away before it
	// reported.
	Lost
	// CheckFailed is a response that would have counted as a success (or
	// had a status its request's checks allow) but failed one of the
	// request's response checks.
	CheckFailed
	numOutcomes
)

// outcomeNames is the one table of outcome names: metric labels, log
// attributes and the keys of the results file's outcomes object.
var outcomeNames = [numOutcomes]string{"success", "client_error", "server_error", "timeout", "connection_error", "dropped", "lost", "check_failed"}

// String returns a short, stable, label-safe name such as "timeout".
func (o Outcome) String() string {
	if o < numOutcomes {
		return outcomeNames[o]
	}
	return "unknown"
}

// Outcomes lists every outcome, in order, for callers that pre-create
// per-outcome metrics.
func Outcomes() []Outcome {
	out := make([]Outcome, numOutcomes)
	for i := range out {
		out[i] = Outcome(i)
	}
	return out
}

// ParseOutcome returns the outcome named name, as String spells it.
func ParseOutcome(name string) (Outcome, bool) {
	for i, n := range outcomeNames {
		if n == name {
			return Outcome(i), true
		}
	}
	return 0, false
}

// Failed reports whether the outcome is a failure: anything but Success.
func (o Outcome) Failed() bool { return o != Success }

// Classify maps an HTTP status code to its outcome. As imager has always
// defined them, 503 and 504 are timeouts.
func Classify(status int) Outcome {
	switch {
	case status == 503 || status == 504:
		return Timeout
	case status >= 200 && status < 400:
		return Success
	case status >= 400 && status < 500:
		return ClientError
	case status >= 500:
		return ServerError
	default:
		// 1xx or nonsense: the request did not get a usable response.
		return ConnError
	}
}

// Sample is what is known about one finished request. Durations are zero
// when they do not apply (a dropped request has no service time).
type Sample struct {
	Outcome Outcome
	// Status is the HTTP status, 0 when no response arrived.
	Status int
	// Latency runs from the request's intended send time, or from its
	// actual send when it was sent early (in a send window), to its end:
	// the coordinated-omission corrected latency.
	Latency time.Duration
	// Service runs from the actual send to the end.
	Service time.Duration
	// FirstByte runs from the actual send to the response headers.
	FirstByte time.Duration
	// Bytes is the size of the response body.
	Bytes int
	// Err is the transport error of a request that got no complete
	// response; nil otherwise.
	Err error
}

// Observer receives every finished request, for live metrics. It is called
// from many goroutines at once and must not block.
type Observer interface {
	ObserveRequest(s *Sample)
}
