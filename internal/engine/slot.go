package engine

import (
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
)

// slot is one connection of a Runner's budget, with what a worker needs to
// send over it without allocating, and a sample buffer. To an http target
// a slot sends over its own connection (rawsend.go): a response reader
// with its buffer, and the time the connection was last used. To an https
// target it sends through a fasthttp.HostClient limited to one
// connection, with a request and a response to reuse.
// A slot is held by at most one worker at a time (see acquire); only its
// conn, dial counters, owner and idle timer are touched by others
// (Runner.CloseConnections, jobRun.stop, closeIdle), atomically or under mu.
type slot struct {
	client  *Client
	addr    string
	isTLS   bool
	hc      *fasthttp.HostClient // https only
	req     *fasthttp.Request    // https only
	resp    *fasthttp.Response   // https only
	rd      respReader           // http only
	jb      judgeBuf             // what response checks read
	lastUse time.Time            // http only: when conn last finished a request
	// ahead is set while conn was opened ahead of its first request and
	// is not counted yet (openAhead).
	ahead bool
	// answered is the target time of the last request sent (http only,
	// see targetTimes).
	answered time.Duration
	buf      []entry

	dials, dialErrs atomic.Int64
	conn            atomic.Pointer[trackedConn]

	mu    sync.Mutex
	owner *jobRun
	idle  *time.Timer // closes an unbound slot's idle http connection
}

// slotStack holds the idle slots, last released first, so that a job
// reuses the connections the previous one kept warm and the others go
// idle (and are closed after idleConn) rather than stale.
type slotStack struct {
	mu   sync.Mutex
	idle []*slot
}

func (st *slotStack) pop() *slot {
	st.mu.Lock()
	defer st.mu.Unlock()
	s := st.idle[len(st.idle)-1]
	st.idle = st.idle[:len(st.idle)-1]
	return s
}

func (st *slotStack) push(s *slot) {
	st.mu.Lock()
	st.idle = append(st.idle, s)
	st.mu.Unlock()
}

// acquire takes a slot of the budget for j, waiting for one until j is
// done; it reports false when j ended first. A token of r.tokens is held
// with every slot taken, so that the stack has a slot for each token.
func (r *Runner) acquire(j *jobRun) (*slot, bool) {
	select {
	case <-r.tokens:
		return r.idle.pop(), true
	case <-j.done:
		return nil, false
	}
}

// release returns s to the budget.
func (r *Runner) release(s *slot) {
	r.idle.push(s)
	r.tokens <- struct{}{}
}

// idleConn is how long a slot's connection may stay idle before the
// client closes it: shorter than the keep-alive timeouts servers commonly
// use (5 s and up), so that a request never goes out on a connection the
// server has just closed, which would fail it.
const idleConn = 2 * time.Second

// bind makes s send for j: to j's target with j's Client, reusing its
// connection when it already points there.
func (s *slot) bind(j *jobRun) {
	if s.client != j.client || s.addr != j.addr || s.isTLS != j.isTLS {
		if s.hc != nil {
			s.hc.CloseIdleConnections()
		}
		s.dropConn()
		s.client, s.addr, s.isTLS = j.client, j.addr, j.isTLS
		s.hc = nil
		if s.isTLS {
			s.hc = s.newHostClient()
		}
	}
	if c := s.conn.Load(); c != nil && c.closed.Load() {
		// Closed while idle (Runner.CloseConnections, closeIdle): forget
		// it rather than fail the job's first request on it.
		if s.hc != nil {
			s.hc.CloseIdleConnections()
		}
		s.conn.Store(nil)
	}
	if s.isTLS && s.req == nil {
		s.req, s.resp = new(fasthttp.Request), new(fasthttp.Response)
	}
	if s.buf == nil {
		s.buf = make([]entry, 0, flushEvery)
	}
	s.rd.jb = &s.jb
	s.mu.Lock()
	s.owner = j
	s.mu.Unlock()
}

// unbind ends s's service for its job; an http connection left open is
// closed once idle for idleConn unless a job takes s first.
func (s *slot) unbind() {
	s.mu.Lock()
	s.owner = nil
	s.armIdle()
	s.mu.Unlock()
}

// cut closes s's connection if s still serves j.
func (s *slot) cut(j *jobRun) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.owner == j {
		if c := s.conn.Load(); c != nil {
			_ = c.Close()
		}
	}
}

// newHostClient returns a client holding at most one connection to s's
// https target, configured as Client's (no retries, streamed bodies, requests
// written as they are), dialling through s.dial.
func (s *slot) newHostClient() *fasthttp.HostClient {
	return &fasthttp.HostClient{
		Addr:                          s.addr,
		Name:                          userAgent,
		IsTLS:                         s.isTLS,
		TLSConfig:                     s.client.tlsConfig,
		DialTimeout:                   s.dial,
		MaxConns:                      1,
		MaxIdemponentCallAttempts:     1,
		RetryIfErr:                    neverRetry,
		StreamResponseBody:            true,
		DisableHeaderNamesNormalizing: true,
		DisablePathNormalizing:        true,
		MaxIdleConnDuration:           idleConn,
	}
}

// dial opens s's connection, tracked by its Client, and counts it.
func (s *slot) dial(addr string, timeout time.Duration) (net.Conn, error) {
	c, err := s.client.dial(addr, timeout)
	if err != nil {
		s.dialErrs.Add(1)
		return nil, err
	}
	tc := c.(*trackedConn)
	s.conn.Store(tc)
	s.dials.Add(1)
	return tc, nil
}

// send performs p over s's connection with the given deadline and fills
// smp with the outcome: to an http target with the slot's own reader and
// writer (sendPlain), to an https one through fasthttp (sendWith).
func (s *slot) send(p *prepared, deadline time.Time, smp *tally.Sample) {
	if !s.isTLS {
		s.sendPlain(p, deadline, smp)
		return
	}
	s.req.Reset()
	s.resp.Reset()
	sendWith(s.hc, s.req, s.resp, p, deadline, smp, &s.jb)
}
