package engine

import (
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/testutil/fuzzseed"
)

// chunkReader hands out its data at most size bytes per Read (all of
// what is left when size is 0), then io.EOF.
type chunkReader struct {
	data []byte
	size int
}

func (c *chunkReader) Read(b []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := len(c.data)
	if c.size > 0 {
		n = min(n, c.size)
	}
	n = copy(b, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// readAll reads one response from raw as a slot does: head, then body.
func readAll(raw string, isHead bool, size int) (respHead, int64, error) {
	var rd respReader
	rd.reset(&chunkReader{data: []byte(raw), size: size})
	h, err := rd.readHead(isHead)
	if err != nil {
		return h, 0, err
	}
	n, err := rd.readBody(&h)
	if err == nil && rd.buffered() > 0 {
		h.close = true // as sendPlain treats bytes past the response
	}
	return h, n, err
}

func TestReadResponse(t *testing.T) {
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", maxHead) + "\r\nContent-Length: 0\r\n\r\n"
	tests := []struct {
		name   string
		raw    string
		isHead bool
		status int
		bytes  int64
		close  bool
		err    string // a part of the error; empty for none
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 200, 5, false, ""},
		{"no reason, bare LF", "HTTP/1.1 404\nContent-Length: 1\n\nx", false, 404, 1, false, ""},
		{"names in any case", "HTTP/1.1 200 OK\r\ncOnTeNt-LeNgTh: 3\r\nCONNECTION: Close\r\n\r\nabc", false, 200, 3, true, ""},
		{"chunked, extensions, trailers", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n" +
			"5;a=b\r\nhello\r\nA ; c\r\n0123456789\r\n0\r\nX-T: 1\r\nX-U: 2\r\n\r\n", false, 200, 15, false, ""},
		{"chunked not last is close-delimited", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\nabc", false, 200, 3, true, ""},
		{"chunked beside a length", "HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n\r\n", false, 200, 1, true, ""},
		{"close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 200, 13, true, ""},
		{"HTTP/1.0", "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, true, ""},
		{"HTTP/1.0 keep-alive", "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\nok", false, 200, 2, false, ""},
		{"interim responses", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n" +
			"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok", false, 201, 2, false, ""},
		{"101", "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n", false, 101, 0, true, "101 Switching Protocols"},
		{"204 ignores a length", "HTTP/1.1 204 No Content\r\nContent-Length: 7\r\n\r\n", false, 204, 0, false, ""},
		{"304", "HTTP/1.1 304 Not Modified\r\nContent-Length: 7\r\n\r\n", false, 304, 0, false, ""},
		{"HEAD", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, 200, 0, false, ""},
		{"same length twice", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx", false, 200, 1, false, ""},
		{"headers too large", big, false, 0, 0, false, "longer than"},
		{"garbage", "garbage\r\n\r\n", false, 0, 0, false, "malformed status line"},
		{"HTTP/2 status line", "HTTP/2.0 200 OK\r\n\r\n", false, 0, 0, false, "malformed status line"},
		{"status 99", "HTTP/1.1 099 Odd\r\n\r\n", false, 0, 0, false, "malformed status line"},
		{"space before colon", "HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\nx", false, 0, 0, false, "malformed header line"},
		{"folded header", "HTTP/1.1 200 OK\r\nX-A: 1\r\n  2\r\n\r\n", false, 0, 0, false, "malformed header line"},
		{"bad length", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", false, 0, 0, false, "malformed Content-Length"},
		{"conflicting lengths", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", false, 0, 0, false, "conflicting"},
		{"nothing", "", false, 0, 0, false, "closed connection before returning the first response byte"},
		{"head cut short", "HTTP/1.1 200 OK\r\nContent-Le", false, 0, 0, false, "unexpected EOF"},
		{"body cut short", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 200, 3, false, "unexpected EOF"},
		{"chunk cut short", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", false, 200, 2, false, "unexpected EOF"},
		{"chunk size not hex", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", false, 200, 0, false, "malformed chunk size"},
		{"chunk size too large", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000000000000000\r\n", false, 200, 0, false, "too large"},
		{"chunk without line end", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n", false, 200, 1, false, "not followed"},
	}
	for _, tt := range tests {
		for _, size := range []int{0, 1, 7} {
			h, n, err := readAll(tt.raw, tt.isHead, size)
			if tt.err == "" && err != nil || tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)) {
				t.Errorf("%s (reads of %d): error %v, want %q", tt.name, size, err, tt.err)
				continue
			}
			if h.status != tt.status || n != tt.bytes || (err == nil && h.close != tt.close) {
				t.Errorf("%s (reads of %d): status %d, %d bytes, close %v; want %d, %d, %v",
					tt.name, size, h.status, n, h.close, tt.status, tt.bytes, tt.close)
			}
		}
	}
}

// Bytes that arrived with a response but after its end stay buffered,
// which makes sendPlain close the connection.
func TestReadResponseLeavesExtraBytes(t *testing.T) {
	if h, n, err := readAll("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1", false, 0); err != nil || n != 1 || !h.close {
		t.Errorf("%d bytes, close %v, error %v; want 1 byte and the connection closed", n, h.close, err)
	}
}

// The reader turns the end of the stream before any byte into fasthttp's
// ErrConnectionClosed, as the fasthttp path reports it.
func TestReadResponseClosedBeforeAnswer(t *testing.T) {
	if _, _, err := readAll("", false, 0); !errors.Is(err, fasthttp.ErrConnectionClosed) {
		t.Errorf("error %v, want fasthttp.ErrConnectionClosed", err)
	}
	if _, _, err := readAll(strings.Repeat("HTTP/1.1 100 Continue\r\n\r\n", maxInterim+1), false, 0); err == nil ||
		!strings.Contains(err.Error(), "interim") {
		t.Errorf("error %v, want too many interim responses", err)
	}
}

// A keep-alive connection carries response after response through the
// same buffer without allocating.
func TestReadResponseAllocatesNothing(t *testing.T) {
	one := "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello" +
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n"
	src := &chunkReader{}
	var rd respReader
	rd.reset(src)
	allocs := testing.AllocsPerRun(100, func() {
		src.data = []byte(one)
		for range 2 {
			h, err := rd.readHead(false)
			if err != nil {
				t.Fatal(err)
			}
			if n, err := rd.readBody(&h); err != nil || (n != 5 && n != 3) {
				t.Fatalf("body of %d bytes, error %v", n, err)
			}
		}
	})
	// The conversion of one to bytes is the one allocation per run.
	if allocs > 1 {
		t.Errorf("%v allocations per two responses, want none beyond the input", allocs)
	}
}

// responseSeeds are the seed corpus of FuzzReadResponse: a raw response
// stream, whether the request was a HEAD, and the size of each read.
func responseSeeds() []fuzzseed.Seed {
	seed := func(name, raw string, isHead bool, size uint8) fuzzseed.Seed {
		return fuzzseed.Seed{Name: name, Args: []any{[]byte(raw), isHead, size}}
	}
	return []fuzzseed.Seed{
		seed("content-length", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", false, 0),
		seed("chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;a=b\r\nhello\r\n0\r\nX-T: 1\r\n\r\n", false, 3),
		seed("close-delimited", "HTTP/1.1 200 OK\r\n\r\nuntil the end", false, 1),
		seed("http10", "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 2\r\n\r\nok", false, 0),
		seed("interim", "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", false, 2),
		seed("switching", "HTTP/1.1 101 Switching Protocols\r\n\r\n", false, 0),
		seed("head", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", true, 0),
		seed("two-responses", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nxHTTP/1.1 404\nContent-Length: 0\n\n", false, 5),
		seed("garbage", "garbage\r\n\r\n", false, 0),
		seed("truncated", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", false, 0),
		seed("huge-chunk", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffff\r\n", false, 0),
		seed("conflicting-length", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxy", false, 0),
	}
}

func TestResponseSeeds(t *testing.T) {
	fuzzseed.Sync(t, "FuzzReadResponse", responseSeeds())
}

// FuzzReadResponse feeds the response reader hostile streams, read in
// pieces of any size: it must never panic, and what it accepts must be
// consistent with the bytes it was given. Its seeds are in
// testdata/fuzz/FuzzReadResponse (responseSeeds).
func FuzzReadResponse(f *testing.F) {
	// With an odd size the reader also keeps what response checks read:
	// the Content-Type lines and the first 16 body bytes.
	jc := &jobChecks{}
	cs := jc.add(mustSet(f, `{"header":{"Content-Type":true},"body_contains":"x","max_body_bytes":16}`))
	f.Fuzz(func(t *testing.T, raw []byte, isHead bool, size uint8) {
		var rd respReader
		rd.reset(&chunkReader{data: raw, size: int(size)})
		var jb judgeBuf
		if size&1 == 1 {
			rd.jb = &jb
		}
		var total int64
		for range 4 { // responses on one kept-alive connection
			jb.start(cs)
			h, err := rd.readHead(isHead)
			if err != nil {
				return
			}
			if h.status < 200 || h.status > 999 {
				t.Fatalf("final status %d", h.status)
			}
			jb.limit = cs.set.BodyLimit()
			n, err := rd.readBody(&h)
			checkKept(t, &rd, n)
			if total += n; n < 0 || total > int64(len(raw)) {
				t.Fatalf("body of %d bytes (%d in all) from %d bytes of input", n, total, len(raw))
			}
			if err != nil {
				return
			}
			if h.mode == bodyLength && n != h.length || h.mode == bodyNone && n != 0 {
				t.Fatalf("mode %d, length %d: read %d bytes", h.mode, h.length, n)
			}
			if h.close {
				return
			}
		}
	})
}

// checkKept checks what rd kept for the checks of a response whose body
// was n bytes: its first bytes up to the limit, and only the header lines
// named.
func checkKept(t *testing.T, rd *respReader, n int64) {
	t.Helper()
	jb := rd.jb
	if jb == nil {
		return
	}
	if want := min(n, int64(jb.limit)); int64(len(jb.body)) != want {
		t.Fatalf("kept %d body bytes of %d, limit %d", len(jb.body), n, jb.limit)
	}
	for _, h := range jb.headers {
		if !equalFold(h.Name, "Content-Type") {
			t.Fatalf("kept header %q", h.Name)
		}
	}
}

// fakeWriteReader answers from a fixed text and records what writeRead
// was asked to write; werr, when set, fails the write.
type fakeWriteReader struct {
	answer  *strings.Reader
	written []string
	fused   int
	werr    error
}

func (f *fakeWriteReader) Read(b []byte) (int, error) { return f.answer.Read(b) }

func (f *fakeWriteReader) writeRead(w, b []byte) (int, error, error) {
	f.fused++
	if f.werr != nil {
		return 0, f.werr, nil
	}
	f.written = append(f.written, string(w))
	n, err := f.answer.Read(b)
	return n, nil, err
}

// A request handed to sendThenRead is written once, by the reader's next
// fill, in the same call that reads the answer's first bytes; later
// fills read. It is not taken when bytes are buffered or the source
// cannot, and a failed write comes back as the reader's werr.
func TestSendThenRead(t *testing.T) {
	f := &fakeWriteReader{answer: strings.NewReader("HTTP/1.1 204 No Content\r\nX-A: 1\r\n\r\n")}
	var rd respReader
	rd.reset(f)
	if !rd.sendThenRead([]byte("GET / HTTP/1.1\r\n\r\n")) {
		t.Fatal("sendThenRead refused with nothing buffered")
	}
	h, err := rd.readHead(false)
	if err != nil || h.status != 204 || rd.werr != nil || rd.pending != nil {
		t.Fatalf("readHead = %d, %v (werr %v, pending %q); want 204", h.status, err, rd.werr, rd.pending)
	}
	if f.fused != 1 || len(f.written) != 1 || f.written[0] != "GET / HTTP/1.1\r\n\r\n" {
		t.Fatalf("writeRead called %d times writing %q; want once, the request", f.fused, f.written)
	}

	f.answer = strings.NewReader("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\nHTTP/1.1")
	rd.reset(f)
	if _, err := rd.readHead(false); err != nil || rd.buffered() == 0 {
		t.Fatalf("readHead: %v with %d bytes buffered; want bytes left over", err, rd.buffered())
	}
	if rd.sendThenRead([]byte("x")) {
		t.Error("sendThenRead took a request with bytes buffered")
	}

	rd.reset(strings.NewReader("")) // a source without writeRead
	if rd.sendThenRead([]byte("x")) {
		t.Error("sendThenRead took a request its source cannot write")
	}

	f = &fakeWriteReader{answer: strings.NewReader(""), werr: errors.New("broken pipe")}
	rd.reset(f)
	rd.sendThenRead([]byte("GET / HTTP/1.1\r\n\r\n"))
	if _, err := rd.readHead(false); err == nil || rd.werr == nil || rd.werr.Error() != "broken pipe" {
		t.Fatalf("readHead after a failed write: %v, werr %v; want the write's error as werr", err, rd.werr)
	}
}
