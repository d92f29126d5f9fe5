package engine

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// header is one line of a prepared request's headers.
type header struct {
	name, value string
}

// prepared is a request resolved against a target: everything the hot path
// needs, built once per job so that sending allocates nothing.
type prepared struct {
	method []byte
	uri    []byte
	// headers are the request's headers in the order they are sent:
	// sorted by name, a name's values in their order.
	headers []header
	// body is the request's Body string, shared, never written.
	body []byte
	name string
	// host is the target's host and port, sent as the Host header unless
	// the request has its own (hasHost).
	host []byte
	// hasHost, hasUserAgent and connClose say what the request's own
	// headers hold: a Host, a User-Agent, a Connection: close.
	hasHost, hasUserAgent, connClose bool
	// isHead says the method is HEAD: its response has no body.
	isHead bool
	// checks are the request's response checks, compiled once per job
	// (compileChecks); nil for none.
	checks *checkSet
	// wire and wireBody are the request's bytes as fill and fasthttp
	// write them, for plain-HTTP targets only (see renderWire): wire is
	// the head, followed by the body when it is small; wireBody is a
	// larger body, written after wire from the request's own bytes.
	wire, wireBody []byte
}

// prepare resolves reqs against target, which must be an absolute http or
// https URL. Every request must be sendable exactly as written
// (checkRequest); the first one that is not fails the job.
func prepare(target string, reqs []types.RequestSpec) ([]prepared, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, fmt.Errorf("target URL %q: %w", target, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("target URL %q: want an absolute http or https URL", target)
	}
	if len(reqs) == 0 {
		return nil, errors.New("job has no requests")
	}
	host := targetHost(target)
	out := make([]prepared, len(reqs))
	var sorter headerSorter
	for i := range reqs {
		r := &reqs[i]
		method := r.Method
		if method == "" {
			method = fasthttp.MethodGet
		}
		if err := checkRequest(method, r); err != nil {
			return nil, fmt.Errorf("request %d: %w", i+1, err)
		}
		p := prepared{method: []byte(method), uri: []byte(URL(target, *r)), headers: sorter.sorted(r.Headers), body: stringBytes(r.Body),
			name: r.Name, host: host, isHead: method == fasthttp.MethodHead}
		p.scanHeaders()
		out[i] = p
	}
	if u.Scheme == "http" {
		if err := renderWire(out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// URL joins a request's path and query onto target, the base URL.
func URL(target string, r types.RequestSpec) string {
	uri := strings.TrimSuffix(target, "/") + r.Path
	if r.QueryString != "" {
		uri += "?" + r.QueryString
	}
	return uri
}

// fill writes p into a fasthttp request: the one place a request is
// built, for sending and for showing. Nothing is rewritten: fasthttp's
// special handling of headers is off, so every header goes out as given
// (name spelling, order, repeated values, Cookie and Host included), and
// path normalising is off, so the path goes out as written. The engine
// adds only what the request lacks: Host (the target's), User-Agent and,
// when there is a body or the method may carry one, Content-Length.
func (p *prepared) fill(req *fasthttp.Request) {
	req.Header.DisableSpecialHeader()
	req.Header.DisableNormalizing()
	req.Header.SetMethodBytes(p.method)
	req.SetRequestURIBytes(p.uri)
	req.URI().DisablePathNormalizing = true
	if !p.hasUserAgent {
		req.Header.Add(fasthttp.HeaderUserAgent, userAgent)
	}
	if !p.hasHost {
		req.Header.AddBytesV(fasthttp.HeaderHost, p.host)
	}
	for _, h := range p.headers {
		req.Header.Add(h.name, h.value)
	}
	if p.connClose {
		// Not written again (special headers are off); it tells the
		// client to close the connection after the response.
		req.Header.SetConnectionClose()
	}
	if len(p.body) > 0 {
		req.SetBodyRaw(p.body)
	}
}

// Render returns r exactly as the engine would write it to the wire when
// sending it to target: request line, headers and body.
func Render(target string, r types.RequestSpec) (string, error) {
	ps, err := prepare(target, []types.RequestSpec{r})
	if err != nil {
		return "", err
	}
	req := fasthttp.AcquireRequest()
	defer fasthttp.ReleaseRequest(req)
	ps[0].fill(req)
	return req.String(), nil
}

// userAgent is the User-Agent the engine's client sends.
const userAgent = "imager"

// ClientConfig tunes a Client.
type ClientConfig struct {
	// MaxConnsPerHost caps connections to one target host; it should be at
	// least the in-flight cap. Zero means 10000.
	MaxConnsPerHost int
	// TLSConfig configures connections to https targets; nil means the
	// system roots, verified.
	TLSConfig *tls.Config
}

// Client sends single requests with fasthttp and classifies the outcome.
// It tracks the connections it opens so that CloseConnections can cut off
// requests still in flight at shutdown.
type Client struct {
	http      *fasthttp.Client
	tlsConfig *tls.Config

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

// NewClient returns a Client. Retries are disabled: a load tester reports
// what happened to each request rather than hiding failures behind retries.
func NewClient(cfg ClientConfig) *Client {
	if cfg.MaxConnsPerHost <= 0 {
		cfg.MaxConnsPerHost = 10000
	}
	c := &Client{conns: make(map[*trackedConn]struct{}), tlsConfig: cfg.TLSConfig}
	c.http = &fasthttp.Client{
		Name:                          userAgent,
		MaxConnsPerHost:               cfg.MaxConnsPerHost,
		MaxIdemponentCallAttempts:     1,
		RetryIfErr:                    neverRetry,
		StreamResponseBody:            true,
		NoDefaultUserAgentHeader:      false,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		DialTimeout:                   c.dial,
		TLSConfig:                     cfg.TLSConfig,
		// Last in, first out: after a burst, the connections it opened
		// go idle and close after MaxIdleConnDuration, instead of being
		// kept alive forever by a steady rate that takes turns on them.
		ConnPoolStrategy: fasthttp.LIFO,
	}
	return c
}

// neverRetry is the RetryIfErr of every fasthttp client the engine builds
// (with MaxIdemponentCallAttempts 1, which already allows a single attempt):
// a failed request is reported, never sent again, whatever its method.
func neverRetry(*fasthttp.Request, int, error) (resetTimeout, retry bool) {
	return false, false
}

// dial opens a TCP connection and tracks it until it is closed.
func (c *Client) dial(addr string, timeout time.Duration) (net.Conn, error) {
	conn, err := fasthttp.DialTimeout(addr, timeout)
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: conn, owner: c, raw: newRawIO(conn)}
	c.mu.Lock()
	c.conns[tc] = struct{}{}
	c.mu.Unlock()
	return tc, nil
}

// CloseConnections closes every open connection, idle or busy. Requests in
// flight fail at once; later requests dial anew.
func (c *Client) CloseConnections() {
	c.mu.Lock()
	conns := make([]*trackedConn, 0, len(c.conns))
	for tc := range c.conns {
		conns = append(conns, tc)
	}
	c.mu.Unlock()
	for _, tc := range conns {
		_ = tc.Close()
	}
}

// OpenConnections returns how many connections are open.
func (c *Client) OpenConnections() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.conns)
}

// trackedConn is a connection its Client knows of until it is closed.
type trackedConn struct {
	net.Conn
	owner  *Client
	raw    *rawIO // nil: reads and writes go through net.Conn
	once   sync.Once
	closed atomic.Bool
}

// Read reads from the connection, with raw system calls where it can.
func (t *trackedConn) Read(b []byte) (int, error) {
	if t.raw == nil {
		return t.Conn.Read(b)
	}
	return t.raw.read(b)
}

// Write writes to the connection, with raw system calls where it can.
func (t *trackedConn) Write(b []byte) (int, error) {
	if t.raw == nil {
		return t.Conn.Write(b)
	}
	return t.raw.write(b)
}

// writeRead writes all of w and then reads into b (see rawIO.writeRead);
// werr is a failure of the write, rerr of the read.
func (t *trackedConn) writeRead(w, b []byte) (n int, werr, rerr error) {
	if t.raw != nil {
		return t.raw.writeRead(w, b)
	}
	if _, werr = t.Conn.Write(w); werr != nil {
		return 0, werr, nil
	}
	n, rerr = t.Conn.Read(b)
	return n, nil, rerr
}

// Close closes the connection and forgets it; it is safe to call more
// than once, from any goroutine.
func (t *trackedConn) Close() error {
	t.closed.Store(true)
	t.once.Do(func() {
		t.owner.mu.Lock()
		delete(t.owner.conns, t)
		t.owner.mu.Unlock()
	})
	return t.Conn.Close()
}

// send performs p with the given deadline and fills s with the outcome,
// service time, time to first byte and body size. It allocates nothing
// beyond fasthttp's pooled objects.
func (c *Client) send(p *prepared, deadline time.Time, s *tally.Sample) {
	req := fasthttp.AcquireRequest()
	resp := fasthttp.AcquireResponse()
	defer fasthttp.ReleaseRequest(req)
	defer fasthttp.ReleaseResponse(resp)
	sendWith(c.http, req, resp, p, deadline, s, nil)
}

// doer is what sends a request: a fasthttp.Client or HostClient. Its
// concurrency contract is theirs: safe for concurrent use.
type doer interface {
	DoDeadline(req *fasthttp.Request, resp *fasthttp.Response, deadline time.Time) error
}

// sendWith performs p through d using req and resp, which must be reset,
// and fills s as send does. When jb is set, it keeps what p's checks read
// of the response (judgeBuf); without it the checks are not run.
func sendWith(d doer, req *fasthttp.Request, resp *fasthttp.Response, p *prepared, deadline time.Time, s *tally.Sample, jb *judgeBuf) {
	p.fill(req)
	if jb != nil {
		jb.start(p.checks)
		resp.Header.SetNoDefaultContentType(true) // only the Content-Type received
	}

	start := time.Now()
	err := d.DoDeadline(req, resp, deadline)
	headers := time.Now()
	s.FirstByte = headers.Sub(start)
	s.Err = err
	if err != nil {
		s.Outcome = classifyErr(err)
		s.Status = 0
		s.Service = s.FirstByte
		s.Bytes = 0
		return
	}
	s.Status = resp.StatusCode()
	s.Outcome = tally.Classify(s.Status)
	judged := jb != nil && p.checks != nil && p.checks.runs(s.Status)
	if judged {
		if p.checks.headers {
			jb.captureHeaders(&resp.Header)
		}
		jb.limit = p.checks.bodyLimit(s.Status)
	}
	n, err := readFastBody(resp, jb)
	if err != nil && (s.Outcome == tally.Success || judged) {
		// Headers arrived but the body did not: the response is not
		// complete, so the request did not succeed.
		s.Outcome = classifyErr(err)
		s.Err = fmt.Errorf("reading the response body: %w", err)
	}
	s.Bytes = int(n)
	s.Service = time.Since(start)
}

// readFastBody reads resp's body, keeping its first bytes in jb up to
// its limit (none when jb is nil), and returns its size.
func readFastBody(resp *fasthttp.Response, jb *judgeBuf) (int64, error) {
	keep := jb != nil && jb.limit > 0
	if !resp.IsBodyStream() {
		body := resp.Body()
		if keep {
			jb.view = body[:min(len(body), jb.limit)]
		}
		return int64(len(body)), nil
	}
	var n int64
	var err error
	if keep {
		n, err = jb.readStream(resp.BodyStream())
		jb.view = jb.body
	} else {
		n, err = io.Copy(io.Discard, resp.BodyStream())
	}
	if cerr := resp.CloseBodyStream(); err == nil {
		err = cerr
	}
	return n, err
}

// classifyErr maps a transport error to an outcome: deadline expiries are
// timeouts (no response headers within the request timeout), anything else
// is a connection error.
func classifyErr(err error) tally.Outcome {
	if errors.Is(err, fasthttp.ErrTimeout) || errors.Is(err, fasthttp.ErrDialTimeout) {
		return tally.Timeout
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return tally.Timeout
	}
	return tally.ConnError
}
