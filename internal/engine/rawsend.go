package engine

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
)

// The plain-HTTP path. A slot sending to an http target writes each
// request's wire bytes, rendered once per job by fasthttp itself, to its
// own connection and reads the response with a respReader: no request or
// response objects, pools or body-stream wrappers per request, and one
// deadline for the whole exchange. https targets keep fasthttp's
// HostClient (see slot.send).

// inlineBody is the body size up to which a request's body is copied
// behind its head, so that the request goes out in one write. A larger
// body is written from the request's own bytes, which requests share, in
// a second write: copying it would double the job's memory for no gain
// worth a second system call.
const inlineBody = 4 << 10

// errNotRendered is a plain-HTTP request without wire bytes; prepare
// renders every request of an http target, so it means a bug.
var errNotRendered = errors.New("internal error: request has no rendered wire bytes")

// renderWire sets the wire bytes of every request of ps: each is filled
// into a fasthttp.Request (fill) and written by (*fasthttp.Request).Write,
// exactly as the fasthttp path sends it, once per job. The heads share
// one allocation.
func renderWire(ps []prepared) error {
	req := new(fasthttp.Request)
	var sp headSplitter
	bw := bufio.NewWriterSize(&sp, 4096)
	var arena []byte
	ends := make([]int, len(ps))
	for i := range ps {
		p := &ps[i]
		req.Reset()
		p.fill(req)
		sp = headSplitter{head: arena, start: len(arena), body: p.body}
		bw.Reset(&sp)
		err := req.Write(bw)
		if err == nil {
			err = bw.Flush()
		}
		if err == nil {
			err = sp.check()
		}
		if err != nil {
			return fmt.Errorf("request %d: rendering its wire bytes: %w", i+1, err)
		}
		arena = sp.head
		if len(p.body) <= inlineBody {
			arena = append(arena, p.body...)
		} else {
			p.wireBody = p.body
		}
		ends[i] = len(arena)
	}
	start := 0
	for i := range ps {
		ps[i].wire = arena[start:ends[i]:ends[i]]
		start = ends[i]
	}
	return nil
}

// headSplitter receives a request as fasthttp writes it: it appends the
// head (up to and including the blank line) to head and checks that the
// rest is exactly body, without copying it. The head ends at the first
// empty line, as no field of a prepared request holds a CR or LF
// (checkRequest).
type headSplitter struct {
	head     []byte
	start    int // where this request's head starts in head
	body     []byte
	seen     int  // body bytes received and matched
	headDone bool // the blank line was received
	bad      bool // the bytes after the head were not the body
}

// Write takes in the next bytes of the request.
func (sp *headSplitter) Write(b []byte) (int, error) {
	n := len(b)
	if !sp.headDone {
		from := max(sp.start, len(sp.head)-3)
		sp.head = append(sp.head, b...)
		i := bytes.Index(sp.head[from:], []byte("\r\n\r\n"))
		if i < 0 {
			return n, nil
		}
		end := from + i + 4
		b = sp.head[end:]
		sp.head, sp.headDone = sp.head[:end], true
	}
	if len(b) > len(sp.body)-sp.seen || !bytes.Equal(b, sp.body[sp.seen:sp.seen+len(b)]) {
		sp.bad = true
	} else {
		sp.seen += len(b)
	}
	return n, nil
}

// check reports whether the request was its head followed by its body.
func (sp *headSplitter) check() error {
	if !sp.headDone || sp.bad || sp.seen != len(sp.body) {
		return errors.New("fasthttp wrote something other than a head followed by the body")
	}
	return nil
}

// sendPlain performs p over s's own connection with the given deadline
// and fills smp as sendWith does.
func (s *slot) sendPlain(p *prepared, deadline time.Time, smp *tally.Sample) {
	start := time.Now()
	s.jb.start(p.checks)
	h, err := s.exchange(p, start, deadline)
	headers := time.Now()
	smp.FirstByte = headers.Sub(start)
	s.answered = smp.FirstByte
	if c := s.conn.Load(); c != nil && c.raw != nil {
		if d, ok := c.raw.answeredAfter(start); ok {
			s.answered = min(d, smp.FirstByte)
		}
	}
	smp.Err = err
	if err != nil {
		s.dropConn()
		smp.Outcome = classifyErr(err)
		smp.Status = h.status // 0, or the 101 that is not HTTP/1.1 any more
		smp.Service = smp.FirstByte
		smp.Bytes = 0
		return
	}
	smp.Status = h.status
	smp.Outcome = tally.Classify(h.status)
	s.jb.limit = p.checks.bodyLimit(h.status)
	n, err := s.rd.readBody(&h)
	s.jb.view = s.jb.body
	end := time.Now()
	switch {
	case err != nil:
		s.dropConn()
		if smp.Outcome == tally.Success || (p.checks != nil && p.checks.runs(h.status)) {
			// Headers arrived but the body did not: the response is
			// not complete, so the request did not succeed.
			smp.Outcome = classifyErr(err)
			smp.Err = fmt.Errorf("reading the response body: %w", err)
		}
	case h.close || p.connClose || s.rd.buffered() > 0:
		// Bytes past the response answer nothing that was asked.
		s.dropConn()
	default:
		s.lastUse = end
	}
	smp.Bytes = int(n)
	smp.Service = end.Sub(start)
}

// exchange writes p over s's connection, dialling one when it has none
// usable, and reads the response head, all before deadline.
func (s *slot) exchange(p *prepared, now, deadline time.Time) (respHead, error) {
	if len(p.wire) == 0 {
		return respHead{}, errNotRendered
	}
	if !now.Before(deadline) {
		return respHead{}, fasthttp.ErrTimeout
	}
	c, err := s.plainConn(now, deadline)
	if err != nil {
		return respHead{}, err
	}
	if c.raw != nil {
		c.raw.clearArrival()
	}
	// One deadline for the write, the head and the body.
	if err := c.SetDeadline(deadline); err != nil {
		return respHead{}, fmt.Errorf("setting the request deadline: %w", err)
	}
	// The last write goes out in one wait with the read of the answer
	// when it can (respReader.sendThenRead).
	last, what := p.wire, "the request"
	if len(p.wireBody) > 0 {
		if _, err := c.Write(p.wire); err != nil {
			return respHead{}, fmt.Errorf("writing the request: %w", err)
		}
		last, what = p.wireBody, "the request body"
	}
	if !s.rd.sendThenRead(last) {
		if _, err := c.Write(last); err != nil {
			return respHead{}, fmt.Errorf("writing %s: %w", what, err)
		}
	}
	h, err := s.rd.readHead(p.isHead)
	if s.rd.werr != nil {
		return respHead{}, fmt.Errorf("writing %s: %w", what, s.rd.werr)
	}
	if s.rd.pending != nil {
		s.rd.pending = nil
		return respHead{}, errors.New("internal error: the request was not written")
	}
	if err != nil {
		return h, fmt.Errorf("reading the response head: %w", err)
	}
	return h, nil
}

// plainConn returns s's connection, or a new one when it has none, it
// was closed, or it has been idle longer than idleConn (servers close
// idle keep-alive connections, and a request sent as they do fails).
// Dial errors are returned as the dialer gives them, naming the address.
func (s *slot) plainConn(now, deadline time.Time) (*trackedConn, error) {
	if c := s.usableConn(now); c != nil {
		if s.ahead {
			// Opened ahead: counted now that a request goes out on it.
			s.ahead = false
			s.dials.Add(1)
		}
		return c, nil
	}
	s.dropConn()
	nc, err := s.dial(s.addr, deadline.Sub(now))
	if err != nil {
		return nil, err
	}
	tc := nc.(*trackedConn)
	s.rd.reset(tc)
	s.lastUse = now
	return tc, nil
}

// usableConn returns s's connection when it is open and has not been
// idle longer than idleConn, nil otherwise.
func (s *slot) usableConn(now time.Time) *trackedConn {
	c := s.conn.Load()
	if c != nil && !c.closed.Load() && now.Sub(s.lastUse) <= idleConn {
		return c
	}
	return nil
}

// openAhead opens s's connection before its first request is due
// (worker.warm) when s has no usable one. The dial is counted when a
// request first goes out on the connection (plainConn), since a report's
// dials count connections opened to send requests and so stay at most its
// requests (the orchestrator refuses more); a connection opened ahead that
// no request used is not counted. A failed dial is not counted either: the
// first request dials again and counts its own attempt.
func (s *slot) openAhead(now, deadline time.Time) {
	if s.usableConn(now) != nil {
		return
	}
	s.dropConn()
	nc, err := s.client.dial(s.addr, deadline.Sub(now))
	if err != nil {
		return
	}
	tc := nc.(*trackedConn)
	s.conn.Store(tc)
	s.rd.reset(tc)
	s.lastUse = now
	s.ahead = true
}

// dropConn closes s's connection, if any, and forgets what was read
// from it.
func (s *slot) dropConn() {
	if c := s.conn.Load(); c != nil {
		_ = c.Close()
		s.conn.Store(nil)
	}
	s.rd.reset(nil)
	s.ahead = false
}

// armIdle starts the countdown after which an unbound slot's plain
// connection is closed. s.mu must be held.
func (s *slot) armIdle() {
	if s.isTLS || s.conn.Load() == nil {
		return
	}
	if s.idle == nil {
		s.idle = time.AfterFunc(idleConn, s.closeIdle)
		return
	}
	s.idle.Reset(idleConn)
}

// closeIdle closes s's plain connection once it has been idle for
// idleConn with no job holding s, as fasthttp closes its idle connections.
func (s *slot) closeIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.conn.Load()
	if s.owner != nil || c == nil || c.closed.Load() {
		return
	}
	if wait := idleConn - time.Since(s.lastUse); wait > 0 {
		s.idle.Reset(wait)
		return
	}
	_ = c.Close()
}
