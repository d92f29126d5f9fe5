package engine

import (
	"bufio"
	"cmp"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// The wire bytes built at prepare time are exactly what Render shows (and
// fasthttp sends): the head, then the body, inline when small.
func TestWireMatchesRender(t *testing.T) {
	const target = "http://127.0.0.1:8080/base/"
	small, large := `{"a":1}`, strings.Repeat("L", inlineBody+1)
	exact := strings.Repeat("E", inlineBody)
	reqs := []types.RequestSpec{
		{Path: "/"},
		{Method: "get", Path: "/x"},
		{Method: "HEAD", Path: "/h", QueryString: "a=1&b=%20"},
		{Method: "OPTIONS", Path: "/o"},
		{Method: "DELETE", Path: "/d", Headers: map[string][]string{"Connection": {"close"}}},
		{Method: "POST", Path: "/p", Body: small, Headers: map[string][]string{"Content-Type": {"application/json"}}},
		{Method: "PUT", Path: "/big", Body: large},
		{Method: "PATCH", Path: "/exact", Body: exact},
		{Method: "GET", Path: "/body-on-get", Body: "x"},
		{Method: "POST", Path: "/empty"},
		{Path: "/own", Headers: map[string][]string{"host": {"vhost:1"}, "USER-AGENT": {"me"},
			"Cookie": {"a=1", "b=2"}, "X-Empty": {""}}},
		{Path: "/q", QueryString: "q=a?b&c=%2F", Headers: map[string][]string{"Connection": {"keep-alive, Close"}}},
	}
	ps, err := prepare(target, reqs)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range reqs {
		want, err := Render(target, r)
		if err != nil {
			t.Fatal(err)
		}
		p := &ps[i]
		if got := string(p.wire) + string(p.wireBody); got != want {
			t.Errorf("%s %s: wire bytes\n%q\nwant what Render shows\n%q", r.Method, r.Path, got, want)
		}
		if inline := len(r.Body) <= inlineBody; inline != (p.wireBody == nil) {
			t.Errorf("%s %s: body of %d bytes inline %v, want %v", r.Method, r.Path, len(r.Body), !inline, inline)
		}
		if p.wireBody != nil && unsafe.SliceData(p.wireBody) != unsafe.StringData(r.Body) {
			t.Errorf("%s %s: a large body was copied", r.Method, r.Path)
		}
		if p.isHead != (r.Method == "HEAD") {
			t.Errorf("%s: isHead %v", r.Method, p.isHead)
		}
	}
	if tls, _ := prepare("https://127.0.0.1/", reqs[:1]); tls[0].wire != nil {
		t.Error("an https request has wire bytes it never uses")
	}
}

// step is what the canned server does for one request: write resp, then
// close the connection (close) or stop reading it until the test ends
// (hang).
type step struct {
	resp        string
	close, hang bool
}

// cannedServer answers the requests it receives, on whatever connection,
// with steps in order, and closes a connection once they run out. It
// returns its URL and its count of accepted connections.
func cannedServer(t *testing.T, steps []step) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		accepted atomic.Int64
		mu       sync.Mutex
		next     int
		wg       sync.WaitGroup
	)
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close(); wg.Wait() })
	serve := func(c net.Conn) {
		defer c.Close()
		br := bufio.NewReader(c)
		for readRequest(br) == nil {
			mu.Lock()
			if next == len(steps) {
				mu.Unlock()
				return
			}
			st := steps[next]
			next++
			mu.Unlock()
			if _, err := io.WriteString(c, st.resp); err != nil || st.close {
				return
			}
			if st.hang {
				<-done
				return
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			wg.Go(func() { serve(c) })
		}
	})
	return "http://" + ln.Addr().String(), &accepted
}

// readRequest reads one request: its head and its Content-Length body.
func readRequest(br *bufio.Reader) error {
	length := 0
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return err
		}
		if line == "\r\n" {
			break
		}
		if name, value, ok := strings.Cut(line, ":"); ok && strings.EqualFold(name, "Content-Length") {
			length, _ = strconv.Atoi(strings.TrimSpace(value))
		}
	}
	_, err := br.Discard(length)
	return err
}

// plainSlot returns a slot bound to send reqs to url, and reqs prepared.
func plainSlot(t *testing.T, url string, reqs ...types.RequestSpec) (*slot, []prepared) {
	t.Helper()
	ps, err := prepare(url, reqs)
	if err != nil {
		t.Fatal(err)
	}
	c := NewClient(ClientConfig{})
	s := &slot{}
	s.bind(&jobRun{client: c, addr: strings.TrimPrefix(url, "http://")})
	t.Cleanup(func() {
		s.dropConn()
		s.unbind()
		c.CloseConnections()
	})
	return s, ps
}

// TestSendPlainResponses sends requests over a slot's own connection to
// a raw server answering with canned bytes, and checks each sample and
// whether the connection was kept (counting dials).
func TestSendPlainResponses(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello"
	const short = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"
	chunked := "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5;x=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n"
	big := "HTTP/1.1 200 OK\r\nX-Big: " + strings.Repeat("b", maxHead) + "\r\n\r\n"
	type want struct {
		outcome       tally.Outcome
		status, bytes int
		err           bool
	}
	success := want{tally.Success, 200, 5, false}
	get, head := types.RequestSpec{Path: "/"}, types.RequestSpec{Method: "HEAD", Path: "/"}
	tests := []struct {
		name    string
		steps   []step
		req     types.RequestSpec
		want    []want // one request each
		dials   int64
		age     bool          // age the connection past idleConn after the first request
		timeout time.Duration // zero: 5 s
	}{
		{"content-length", []step{{resp: ok}, {resp: ok}}, get, []want{success, success}, 1, false, 0},
		{"chunked", []step{{resp: chunked}, {resp: chunked}}, get, []want{{tally.Success, 200, 11, false}, {tally.Success, 200, 11, false}}, 1, false, 0},
		{"close-delimited", []step{{resp: "HTTP/1.1 200 OK\r\n\r\nabcdef", close: true}, {resp: ok}}, get,
			[]want{{tally.Success, 200, 6, false}, success}, 2, false, 0},
		{"HTTP/1.0", []step{{resp: "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\nhello"}, {resp: ok}}, get, []want{success, success}, 2, false, 0},
		{"HTTP/1.0 keep-alive", []step{{resp: "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 5\r\n\r\nhello"}, {resp: ok}}, get,
			[]want{success, success}, 1, false, 0},
		{"server says close", []step{{resp: "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello"}, {resp: ok}}, get,
			[]want{success, success}, 2, false, 0},
		{"request says close", []step{{resp: ok}, {resp: ok}}, types.RequestSpec{Path: "/", Headers: map[string][]string{"Connection": {"close"}}},
			[]want{success, success}, 2, false, 0},
		{"interim responses", []step{{resp: "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n" + ok}, {resp: ok}}, get,
			[]want{success, success}, 1, false, 0},
		{"101", []step{{resp: "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n"}, {resp: ok}}, get,
			[]want{{tally.ConnError, 101, 0, true}, success}, 2, false, 0},
		{"204", []step{{resp: "HTTP/1.1 204 No Content\r\n\r\n"}, {resp: ok}}, get, []want{{tally.Success, 204, 0, false}, success}, 1, false, 0},
		{"HEAD", []step{{resp: "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"}, {resp: "HTTP/1.1 404 No\r\nContent-Length: 9\r\n\r\n"}}, head,
			[]want{{tally.Success, 200, 0, false}, {tally.ClientError, 404, 0, false}}, 1, false, 0},
		{"oversized headers", []step{{resp: big}, {resp: ok}}, get, []want{{tally.ConnError, 0, 0, true}, success}, 2, false, 0},
		{"garbage", []step{{resp: "garbage\r\n\r\n"}, {resp: ok}}, get, []want{{tally.ConnError, 0, 0, true}, success}, 2, false, 0},
		{"closed mid-body", []step{{resp: short, close: true}, {resp: ok}}, get, []want{{tally.ConnError, 200, 3, true}, success}, 2, false, 0},
		{"500 closed mid-body", []step{{resp: strings.Replace(short, "200 OK", "500 Oops", 1), close: true}, {resp: ok}}, get,
			[]want{{tally.ServerError, 500, 3, false}, success}, 2, false, 0},
		{"idle connection closed by the server", []step{{resp: ok, close: true}, {resp: ok}}, get,
			[]want{success, {tally.ConnError, 0, 0, true}, success}, 2, false, 0},
		{"idle connection redialled", []step{{resp: ok, close: true}, {resp: ok}}, get, []want{success, success}, 2, true, 0},
		{"timeout before headers", []step{{hang: true}, {resp: ok}}, get,
			[]want{{tally.Timeout, 0, 0, true}, success}, 2, false, 100 * time.Millisecond},
		{"timeout in the body", []step{{resp: short, hang: true}, {resp: ok}}, get,
			[]want{{tally.Timeout, 200, 3, true}, success}, 2, false, 100 * time.Millisecond},
		{"bytes past the response", []step{{resp: ok + "junk"}, {resp: ok}}, get, []want{success, success}, 2, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			url, accepted := cannedServer(t, tt.steps)
			s, ps := plainSlot(t, url, tt.req)
			timeout := cmp.Or(tt.timeout, 5*time.Second)
			for i, w := range tt.want {
				if i == 1 && tt.age {
					s.lastUse = s.lastUse.Add(-idleConn - time.Millisecond)
				}
				var smp tally.Sample
				s.send(&ps[0], time.Now().Add(timeout), &smp)
				if smp.Outcome != w.outcome || smp.Status != w.status || smp.Bytes != w.bytes || (smp.Err != nil) != w.err {
					t.Errorf("request %d: %v, status %d, %d bytes, error %v; want %v, %d, %d, error %v",
						i+1, smp.Outcome, smp.Status, smp.Bytes, smp.Err, w.outcome, w.status, w.bytes, w.err)
				}
				if smp.FirstByte <= 0 || smp.Service < smp.FirstByte {
					t.Errorf("request %d: first byte %v, service %v", i+1, smp.FirstByte, smp.Service)
				}
			}
			if got := s.dials.Load(); got != tt.dials || accepted.Load() != tt.dials {
				t.Errorf("%d dials (%d accepted), want %d", got, accepted.Load(), tt.dials)
			}
		})
	}
}

// An unbound slot's http connection is closed once idle for idleConn, as
// fasthttp closes its idle connections, but not while a job holds it.
func TestIdlePlainConnectionClosed(t *testing.T) {
	const ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
	url, accepted := cannedServer(t, []step{{resp: ok}, {resp: ok}})
	s, ps := plainSlot(t, url, types.RequestSpec{Path: "/"})
	var smp tally.Sample
	s.send(&ps[0], time.Now().Add(5*time.Second), &smp)
	c := s.conn.Load()
	if smp.Outcome != tally.Success || c == nil {
		t.Fatalf("%v (%v), want a success over a kept connection", smp.Outcome, smp.Err)
	}
	s.lastUse = s.lastUse.Add(-idleConn)
	s.closeIdle() // still bound: kept
	if c.closed.Load() {
		t.Fatal("closed the connection of a bound slot")
	}
	s.unbind()
	if s.idle == nil {
		t.Fatal("unbind armed no idle timer")
	}
	s.closeIdle() // what the timer runs
	if !c.closed.Load() {
		t.Fatal("an idle unbound connection stayed open")
	}
	s.bind(&jobRun{client: s.client, addr: s.addr})
	s.send(&ps[0], time.Now().Add(5*time.Second), &smp)
	if smp.Outcome != tally.Success || accepted.Load() != 2 {
		t.Errorf("%v (%v) after %d dials, want a success over a new connection", smp.Outcome, smp.Err, accepted.Load())
	}
}

// TestPrepareHeaders checks the order prepared headers are sent in
// (sorted by name, a name's values in their order) and that requests
// sharing a header map share its conversion.
func TestPrepareHeaders(t *testing.T) {
	shared := map[string][]string{"b": {"2"}, "A": {"z", "y"}, "a": {"x"}}
	ps, err := prepare("http://127.0.0.1:1", []types.RequestSpec{
		{Path: "/1", Headers: shared}, {Path: "/2", Headers: shared}, {Path: "/3"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range ps[0].headers {
		got = append(got, h.name+"="+h.value)
	}
	if want := "A=z A=y a=x b=2"; strings.Join(got, " ") != want {
		t.Errorf("headers %q, want %q", strings.Join(got, " "), want)
	}
	if &ps[0].headers[0] != &ps[1].headers[0] {
		t.Error("requests sharing a header map converted it twice")
	}
	if ps[2].headers != nil {
		t.Errorf("a request without headers has %v", ps[2].headers)
	}
}
