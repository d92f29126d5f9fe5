package engine

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/valyala/fasthttp"
)

// Limits of the plain-HTTP response reader.
const (
	// readBufSize is the size of a slot's read buffer. A line of a
	// response (status line, header, chunk size, trailer) must fit in it.
	readBufSize = 8 << 10
	// maxHead bounds the bytes of one response head (status line,
	// headers and the blank line) and of a chunked body's trailers.
	maxHead = 8 << 10
	// maxInterim bounds the interim (1xx) responses before the final
	// one, as fasthttp does.
	maxInterim = 100
)

// bodyMode is how a response's body is delimited.
type bodyMode uint8

// The ways a response body ends.
const (
	bodyNone    bodyMode = iota // no body: HEAD, 1xx, 204, 304
	bodyLength                  // Content-Length bytes
	bodyChunked                 // chunked transfer coding
	bodyEOF                     // until the server closes the connection
)

// respHead is what the response reader keeps of a final response head.
type respHead struct {
	status int
	mode   bodyMode
	length int64 // the body's length when mode is bodyLength
	// close says the connection carries nothing after this response.
	close bool
}

// headerState collects the headers of one response head that say how its
// body is delimited and whether the connection stays open.
type headerState struct {
	http10      bool
	hasLength   bool
	length      int64
	te, chunked bool // a Transfer-Encoding, and chunked its final coding
	close       bool // Connection: close
	keepAlive   bool // Connection: keep-alive
}

// errSwitchingProtocols is a 101 response: the request asked for no
// protocol switch, so the connection no longer speaks HTTP/1.1.
var errSwitchingProtocols = errors.New("unexpected 101 Switching Protocols response")

// errTooLarge is a response line or head past the reader's bounds.
var errTooLarge = fmt.Errorf("response line or head longer than %d bytes", maxHead)

// respReader reads HTTP/1.1 responses from one connection through a fixed
// buffer, reused for every response: it parses heads and discards bodies,
// counting their bytes (keeping what response checks read, see judgeBuf),
// and allocates nothing unless a response is malformed (or the buffers of
// the checks grow). Bytes the connection delivered past the end of a
// response stay buffered (see buffered).
type respReader struct {
	src  io.Reader
	buf  []byte
	r, w int // buf[r:w] is read but not consumed
	// jb, when set, keeps what the checks of the request in flight read:
	// the header lines they name and the first body bytes (judgeBuf).
	jb *judgeBuf
	// wr is src when it can write and read in one wait; pending is a
	// request the next fill writes through it first, and werr that
	// write's failure (see sendThenRead).
	wr      writeReader
	pending []byte
	werr    error
}

// writeReader writes a request and reads the first bytes of its answer in
// one wait for the answer (trackedConn.writeRead); werr is a failure of
// the write, rerr of the read.
type writeReader interface {
	writeRead(w, b []byte) (n int, werr, rerr error)
}

// sendThenRead arranges for w to be written by the next fill, in one wait
// with the read of the answer, and reports whether it could: only when
// nothing is buffered (so that the next read of a line fills) and the
// source can. Otherwise the caller writes w itself.
func (rd *respReader) sendThenRead(w []byte) bool {
	if rd.wr == nil || rd.buffered() > 0 || len(w) == 0 {
		return false
	}
	rd.pending, rd.werr = w, nil
	return true
}

// reset makes rd read from src (nil for none) with an empty buffer,
// allocated on first use.
func (rd *respReader) reset(src io.Reader) {
	if rd.buf == nil && src != nil {
		rd.buf = make([]byte, readBufSize)
	}
	rd.src, rd.r, rd.w = src, 0, 0
	rd.wr, _ = src.(writeReader)
	rd.pending, rd.werr = nil, nil
}

// buffered returns how many bytes are read but not consumed.
func (rd *respReader) buffered() int { return rd.w - rd.r }

// fill reads more from the connection, moving the unconsumed bytes to the
// front of the buffer when it is full at the end.
func (rd *respReader) fill() error {
	switch {
	case rd.r == rd.w:
		rd.r, rd.w = 0, 0
	case rd.w == len(rd.buf):
		rd.w = copy(rd.buf, rd.buf[rd.r:rd.w])
		rd.r = 0
	}
	var n int
	var err error
	if w := rd.pending; w != nil {
		rd.pending = nil
		var werr error
		if n, werr, err = rd.wr.writeRead(w, rd.buf[rd.w:]); werr != nil {
			rd.werr = werr
			return werr
		}
	} else {
		n, err = rd.src.Read(rd.buf[rd.w:])
	}
	rd.w += n
	switch {
	case n > 0:
		return nil
	case err == nil:
		return io.ErrNoProgress
	}
	return err
}

// line returns the next line, without its line ending (CRLF or a bare
// LF), and adds its length to *used, which must stay within limit. The
// line is valid until the next read.
func (rd *respReader) line(used *int, limit int) ([]byte, error) {
	for {
		if i := bytes.IndexByte(rd.buf[rd.r:rd.w], '\n'); i >= 0 {
			line := rd.buf[rd.r : rd.r+i]
			rd.r += i + 1
			if *used += i + 1; *used > limit {
				return nil, errTooLarge
			}
			if n := len(line); n > 0 && line[n-1] == '\r' {
				line = line[:n-1]
			}
			return line, nil
		}
		if rd.buffered() == len(rd.buf) || *used+rd.buffered() > limit {
			return nil, errTooLarge
		}
		if err := rd.fill(); err != nil {
			return nil, err
		}
	}
}

// unexpectedEOF turns the end of the stream inside a response into
// io.ErrUnexpectedEOF.
func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// readHead reads the head of the next final response, skipping interim
// (1xx) responses, and works out how its body is delimited; isHead says
// the request was a HEAD, whose response has no body. A 101 is an error
// that still reports its status.
func (rd *respReader) readHead(isHead bool) (respHead, error) {
	for n := 0; ; n++ {
		var hs headerState
		status, err := rd.readOne(n == 0, &hs)
		switch {
		case err != nil:
			return respHead{}, err
		case status == fasthttp.StatusSwitchingProtocols:
			return respHead{status: status, close: true}, errSwitchingProtocols
		case status < 200 && n >= maxInterim:
			return respHead{}, fmt.Errorf("more than %d interim responses", maxInterim)
		case status < 200:
			continue
		}
		return hs.frame(status, isHead), nil
	}
}

// readOne reads one response head into hs and returns its status. An end
// of stream before the first byte of the first response is
// fasthttp.ErrConnectionClosed: the server closed the connection rather
// than answer.
func (rd *respReader) readOne(first bool, hs *headerState) (int, error) {
	capture := rd.jb != nil && rd.jb.set != nil && rd.jb.set.headers
	if capture {
		rd.jb.headers = rd.jb.headers[:0] // of an interim response
	}
	used := 0
	line, err := rd.line(&used, maxHead)
	if err != nil {
		if err == io.EOF && first && rd.buffered() == 0 {
			return 0, fasthttp.ErrConnectionClosed
		}
		return 0, unexpectedEOF(err)
	}
	status, err := hs.statusLine(line)
	if err != nil {
		return 0, err
	}
	for {
		line, err := rd.line(&used, maxHead)
		if err != nil {
			return 0, unexpectedEOF(err)
		}
		if len(line) == 0 {
			return status, nil
		}
		if err := hs.header(line); err != nil {
			return 0, err
		}
		if capture {
			rd.jb.captureLine(line)
		}
	}
}

// frame works out how the body of a final response with status is
// delimited and whether the connection closes after it.
func (hs *headerState) frame(status int, isHead bool) respHead {
	h := respHead{status: status, close: hs.close || (hs.http10 && !hs.keepAlive)}
	switch {
	case isHead || status == fasthttp.StatusNoContent || status == fasthttp.StatusNotModified:
		h.mode = bodyNone
	case hs.te && hs.chunked:
		h.mode = bodyChunked
		// A length beside chunked framing is a smuggling attempt or a
		// broken intermediary: trust the connection no further.
		h.close = h.close || hs.hasLength
	case hs.te, !hs.hasLength:
		h.mode = bodyEOF
		h.close = true
	default:
		h.mode, h.length = bodyLength, hs.length
	}
	return h
}

// readBody discards the body h announces and returns its size: the bytes
// of its content, without chunked framing. On an error the size is what
// arrived before it. The first bytes are kept in rd.jb up to its limit.
func (rd *respReader) readBody(h *respHead) (int64, error) {
	switch h.mode {
	case bodyLength:
		return rd.discard(h.length)
	case bodyChunked:
		return rd.chunked()
	case bodyEOF:
		return rd.untilEOF()
	}
	return 0, nil
}

// discard consumes n bytes.
func (rd *respReader) discard(n int64) (int64, error) {
	var done int64
	for done < n {
		if rd.r == rd.w {
			if err := rd.fill(); err != nil {
				return done, unexpectedEOF(err)
			}
		}
		k := min(n-done, int64(rd.buffered()))
		if rd.jb != nil && rd.jb.limit > 0 {
			rd.jb.keep(rd.buf[rd.r : rd.r+int(k)])
		}
		rd.r += int(k)
		done += k
	}
	return done, nil
}

// untilEOF consumes everything up to the end of the stream.
func (rd *respReader) untilEOF() (int64, error) {
	var n int64
	for {
		n += int64(rd.buffered())
		if rd.jb != nil && rd.jb.limit > 0 {
			rd.jb.keep(rd.buf[rd.r:rd.w])
		}
		rd.r = rd.w
		if err := rd.fill(); err != nil {
			if err == io.EOF {
				return n, nil
			}
			return n, err
		}
	}
}

// chunked consumes a chunked body and its trailers.
func (rd *respReader) chunked() (int64, error) {
	var total int64
	for {
		used := 0
		line, err := rd.line(&used, len(rd.buf))
		if err != nil {
			return total, unexpectedEOF(err)
		}
		size, err := chunkSize(line)
		if err != nil {
			return total, err
		}
		if size == 0 {
			return total, rd.trailers()
		}
		n, err := rd.discard(size)
		total += n
		if err != nil {
			return total, err
		}
		used = 0
		if line, err = rd.line(&used, len(rd.buf)); err != nil {
			return total, unexpectedEOF(err)
		}
		if len(line) != 0 {
			return total, errors.New("chunk data not followed by a line ending")
		}
	}
}

// trailers consumes the trailer section that ends a chunked body.
func (rd *respReader) trailers() error {
	used := 0
	for {
		line, err := rd.line(&used, maxHead)
		if err != nil {
			return unexpectedEOF(err)
		}
		if len(line) == 0 {
			return nil
		}
	}
}
