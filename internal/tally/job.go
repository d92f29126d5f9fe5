package tally

import (
	"time"

	"github.com/PeladoCollado/imager/types"
)

// DefaultTimeout is the request timeout used when a job does not set one:
// a request without response headers after it counts as a timeout.
const DefaultTimeout = time.Minute

// Job is one executor's share of one round: Count requests spread evenly
// over [StartAt, StartAt+Duration).
type Job struct {
	ID    string
	Round int64
	// TargetURL is the absolute base URL request paths are joined to.
	TargetURL string
	// StartAt is the wall-clock time the first request is due.
	StartAt time.Time
	// Duration is the length of the job: request i is due at
	// StartAt + i*Duration/Count.
	Duration time.Duration
	// Count is the number of requests to send.
	Count int
	// Timeout is the per-request timeout; zero means DefaultTimeout.
	Timeout time.Duration
	// Requests are used in order and cycled when fewer than Count, unless
	// Order is set. They are the requests as their source wrote them: the
	// engine sends each exactly as written or refuses the job, its
	// headers in the order of their names (sorted), a name's values in
	// their order. Requests share their Headers maps and Body strings
	// with the source and with each other; nothing modifies them.
	Requests []types.RequestSpec
	// Order, when set, makes request i Requests[Order[i%len(Order)]], so
	// that Requests can be a pool of distinct requests (see Pool). Every
	// entry must be less than len(Requests).
	Order []uint32
	// TLS configures connections to an https target; nil means the
	// system roots, verified.
	TLS *TLSConfig
}

// Request returns request i of the job: Requests[Order[i%len(Order)]]
// when the job has an order, else Requests[i%len(Requests)]. The job must
// have requests.
func (j *Job) Request(i int) types.RequestSpec {
	if len(j.Order) > 0 {
		return j.Requests[j.Order[i%len(j.Order)]]
	}
	return j.Requests[i%len(j.Requests)]
}

// MaxRequestBytes bounds the size of one request (see RequestSize). The
// control plane sends a request in one message, so sources refuse larger
// requests when they load them.
const MaxRequestBytes = 32 << 20

// RequestSize is the size of r's fields in bytes: method, path, query,
// name, body, and each header value with its name (a name given several
// values counts once per value, as the wire carries it). It is what
// MaxRequestBytes bounds; the wire adds a few bytes per field.
func RequestSize(r *types.RequestSpec) int {
	n := len(r.Method) + len(r.Path) + len(r.QueryString) + len(r.Name) + len(r.Body)
	for name, vs := range r.Headers {
		for _, v := range vs {
			n += len(name) + len(v)
		}
	}
	return n
}
