// Package wiretest runs a raw HTTP/1.1 server on loopback that records the
// bytes of every request it receives, exactly as they arrived, so that
// tests can assert what a request looks like on the wire rather than what
// a server library makes of it.
package wiretest

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Limits on what the server reads of one request.
const (
	maxHead = 64 << 10
	maxBody = 1 << 20
	wait    = 5 * time.Second
)

// Server is a loopback HTTP/1.1 server that answers every request with an
// empty 200 and keeps the request's bytes (head and body) for Next.
type Server struct {
	// URL is the server's base URL, http://127.0.0.1:port.
	URL string
	ln  net.Listener
	got chan string
	wg  sync.WaitGroup
	// accepted counts the connections accepted.
	accepted atomic.Int64
}

// Start starts a Server on 127.0.0.1 and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{URL: "http://" + ln.Addr().String(), ln: ln, got: make(chan string, 64)}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		s.wg.Wait()
	})
	return s
}

// accept serves connections until the listener closes.
func (s *Server) accept() {
	defer s.wg.Done()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		conns.Add(1)
		go func() {
			defer conns.Done()
			s.serve(c)
		}()
	}
}

// serve records and answers requests on c until it closes or fails.
func (s *Server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		_ = c.SetDeadline(time.Now().Add(wait))
		req, err := readRequest(r)
		if err != nil {
			return
		}
		select {
		case s.got <- req:
		default: // nobody is reading: drop it rather than block
		}
		if _, err := io.WriteString(c, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"); err != nil {
			return
		}
	}
}

// readRequest reads one request head and its Content-Length body.
func readRequest(r *bufio.Reader) (string, error) {
	var b bytes.Buffer
	length := 0
	for {
		line, err := r.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			return "", err
		}
		if b.Len() > maxHead {
			return "", errors.New("request head too long")
		}
		if line == "\r\n" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(name, "Content-Length") {
			if length, err = strconv.Atoi(strings.TrimSpace(value)); err != nil || length < 0 || length > maxBody {
				return "", errors.New("bad Content-Length")
			}
		}
	}
	if _, err := io.CopyN(&b, r, int64(length)); err != nil {
		return "", err
	}
	return b.String(), nil
}

// Host is the server's host and port, as a client sends it in Host.
func (s *Server) Host() string { return strings.TrimPrefix(s.URL, "http://") }

// Accepted returns how many connections the server has accepted.
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// Next returns the bytes of the next request received, failing the test if
// none arrives within 5 seconds.
func (s *Server) Next(t testing.TB) string {
	t.Helper()
	select {
	case req := <-s.got:
		return req
	case <-time.After(wait):
		t.Fatal("the server received no request within 5s")
		return ""
	}
}

// Send sends r to the server through the engine, as an executor would, and
// returns the bytes the server received. It fails the test unless the
// request succeeded.
func (s *Server) Send(t testing.TB, r types.RequestSpec) string {
	t.Helper()
	runner := engine.NewRunner(engine.RunnerConfig{MaxInFlight: 4})
	defer runner.Client().CloseConnections()
	rep := runner.Run(context.Background(), tally.Job{
		ID: "wire", TargetURL: s.URL, StartAt: time.Now(), Duration: time.Millisecond,
		Count: 1, Timeout: wait, Requests: []types.RequestSpec{r},
	})
	if rep.Success != 1 {
		t.Fatalf("sending %+v: %+v (err %q, errors %v)", r, rep.Counts, rep.Err, rep.Errors)
	}
	return s.Next(t)
}

// Want returns the bytes r must arrive as when the engine sends it to
// target (an http URL without a path): the request line and headers as
// written (headers sorted by name, a name's values in their order),
// preceded by the User-Agent and Host the engine adds when r has none, and
// Content-Length when r has a body or a method other than GET and HEAD.
// It is the model that "sent exactly as written" is checked against.
func Want(target string, r types.RequestSpec) string {
	var b strings.Builder
	method := r.Method
	if method == "" {
		method = "GET"
	}
	b.WriteString(method + " " + r.Path)
	if r.QueryString != "" {
		b.WriteString("?" + r.QueryString)
	}
	b.WriteString(" HTTP/1.1\r\n")
	has := func(name string) bool {
		for h := range r.Headers {
			if strings.EqualFold(h, name) {
				return true
			}
		}
		return false
	}
	if !has("User-Agent") {
		b.WriteString("User-Agent: imager\r\n")
	}
	if !has("Host") {
		b.WriteString("Host: " + strings.TrimPrefix(target, "http://") + "\r\n")
	}
	for _, name := range slices.Sorted(maps.Keys(r.Headers)) {
		for _, v := range r.Headers[name] {
			b.WriteString(name + ": " + v + "\r\n")
		}
	}
	if len(r.Body) > 0 || (method != "GET" && method != "HEAD") {
		b.WriteString("Content-Length: " + strconv.Itoa(len(r.Body)) + "\r\n")
	}
	b.WriteString("\r\n")
	b.WriteString(r.Body)
	return b.String()
}
