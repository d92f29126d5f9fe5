package tally

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
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
	// Invalid, when set, is why the job cannot run, found while it was
	// converted from its wire form (response checks that do not parse):
	// the engine refuses such a job as a whole.
	Invalid error
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

// TLSConfig is how the engine connects to an https target.
type TLSConfig struct {
	// InsecureSkipVerify accepts any certificate the target presents.
	InsecureSkipVerify bool
	// CAPEM holds the PEM certificates of the authorities that sign the
	// target's certificate; empty means the system roots.
	CAPEM []byte
	// ClientCertPEM and ClientKeyPEM are the PEM certificate and key the
	// client presents to the target; both or neither.
	ClientCertPEM, ClientKeyPEM []byte
}

// IsZero reports whether t asks for nothing beyond the defaults: t is nil
// or every field is empty.
func (t *TLSConfig) IsZero() bool {
	return t == nil || (!t.InsecureSkipVerify && len(t.CAPEM) == 0 && len(t.ClientCertPEM) == 0 && len(t.ClientKeyPEM) == 0)
}

// Build returns the crypto/tls client configuration t describes. It parses
// every certificate and the key, so that a bad PEM is reported here rather
// than at the first handshake: CAPEM must hold at least one CERTIFICATE
// block and nothing but CERTIFICATE blocks, and ClientCertPEM and
// ClientKeyPEM must be a matching pair, both or neither. A nil or zero t
// gives the defaults: the system roots, verified.
func (t *TLSConfig) Build() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t == nil {
		return c, nil
	}
	c.InsecureSkipVerify = t.InsecureSkipVerify
	if len(t.CAPEM) > 0 {
		pool, err := ParseCertPool(t.CAPEM)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case len(t.ClientCertPEM) == 0 && len(t.ClientKeyPEM) == 0:
	case len(t.ClientCertPEM) == 0:
		return nil, errors.New("client key without a client certificate")
	case len(t.ClientKeyPEM) == 0:
		return nil, errors.New("client certificate without a client key")
	default:
		pair, err := tls.X509KeyPair(t.ClientCertPEM, t.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate and key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// ParseCertPool parses PEM certificates into a pool. Unlike
// x509.CertPool.AppendCertsFromPEM it skips nothing: a block that is not a
// CERTIFICATE or does not parse is an error, and so is finding no block.
func ParseCertPool(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := pemBytes
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}
