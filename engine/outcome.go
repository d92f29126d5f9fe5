// Package engine is the load engine shared by executors and local runs: it
// paces a job's requests open-loop at their planned times, sends them with
// fasthttp, classifies each outcome and records latency in HdrHistograms.
// It knows nothing of Kubernetes or gRPC.
package engine

import "time"

// Outcome classifies how one planned request ended.
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
	// Aborted is a request cut short because the run was cancelled; it is
	// accounted as lost.
	Aborted
	numOutcomes
)

var outcomeNames = [numOutcomes]string{"success", "client_error", "server_error", "timeout", "connection_error", "dropped", "aborted"}

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

// Failed reports whether the outcome counts as a failure in the seed's
// success/failed split (everything but Success).
func (o Outcome) Failed() bool { return o != Success }

// Classify maps an HTTP status code to its outcome. Per the seed's
// definition 503 and 504 are timeouts.
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
	// Latency runs from the request's intended send time to its end: the
	// coordinated-omission corrected latency.
	Latency time.Duration
	// Service runs from the actual send to the end.
	Service time.Duration
	// FirstByte runs from the actual send to the response headers.
	FirstByte time.Duration
	// Bytes is the size of the response body.
	Bytes int
}

// Observer receives every finished request, for live metrics. It is called
// from many goroutines at once and must not block.
type Observer interface {
	ObserveRequest(s *Sample)
}
