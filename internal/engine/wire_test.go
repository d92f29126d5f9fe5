package engine_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/wiretest"
	"github.com/PeladoCollado/imager/types"
)

// TestSentAsWritten sends requests to a raw loopback server and compares
// the bytes it received with what was written: nothing normalised, nothing
// replaced. HOST in a want stands for the server's host and port.
func TestSentAsWritten(t *testing.T) {
	srv := wiretest.Start(t)
	const ua = "User-Agent: imager\r\n"
	tests := []struct {
		name string
		req  types.RequestSpec
		want string
	}{
		{"lower-case method", types.RequestSpec{Method: "get", Path: "/x"},
			"get /x HTTP/1.1\r\n" + ua + "Host: HOST\r\nContent-Length: 0\r\n\r\n"},
		{"double slash", types.RequestSpec{Method: "GET", Path: "//evil.example/x"},
			"GET //evil.example/x HTTP/1.1\r\n" + ua + "Host: HOST\r\n\r\n"},
		{"dot segments and escapes", types.RequestSpec{Method: "GET", Path: "/a/../b/./c%2f%41", QueryString: "q=%20&r=a?b"},
			"GET /a/../b/./c%2f%41?q=%20&r=a?b HTTP/1.1\r\n" + ua + "Host: HOST\r\n\r\n"},
		{"query in path", types.RequestSpec{Method: "GET", Path: "/sum?a=7&b=9"},
			"GET /sum?a=7&b=9 HTTP/1.1\r\n" + ua + "Host: HOST\r\n\r\n"},
		{"Host header", types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{"Host": {"vhost.example"}}},
			"GET / HTTP/1.1\r\n" + ua + "Host: vhost.example\r\n\r\n"},
		{"lower-case host header", types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{"host": {"a.example:8443"}}},
			"GET / HTTP/1.1\r\n" + ua + "host: a.example:8443\r\n\r\n"},
		{"header names sorted, values in order", types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{
			"x-lower": {"1"}, "Cookie": {"c=3", "a=1;b=2"}, "X-Tab": {" a\tb "}}},
			"GET / HTTP/1.1\r\n" + ua + "Host: HOST\r\nCookie: c=3\r\nCookie: a=1;b=2\r\nX-Tab:  a\tb \r\nx-lower: 1\r\n\r\n"},
		{"own User-Agent", types.RequestSpec{Method: "GET", Path: "/", Headers: map[string][]string{"user-agent": {"me"}}},
			"GET / HTTP/1.1\r\nHost: HOST\r\nuser-agent: me\r\n\r\n"},
		{"body without a Content-Type", types.RequestSpec{Method: "POST", Path: "/p", Body: "abc"},
			"POST /p HTTP/1.1\r\n" + ua + "Host: HOST\r\nContent-Length: 3\r\n\r\nabc"},
		{"two content types kept", types.RequestSpec{Method: "PUT", Path: "/p", Body: "{}", Headers: map[string][]string{
			"content-type": {"c/d"}, "Content-Type": {"a/b"}}},
			"PUT /p HTTP/1.1\r\n" + ua + "Host: HOST\r\nContent-Type: a/b\r\ncontent-type: c/d\r\nContent-Length: 2\r\n\r\n{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := strings.ReplaceAll(tt.want, "HOST", srv.Host())
			if got := srv.Send(t, tt.req); got != want {
				t.Errorf("server received\n%q\nwant\n%q", got, want)
			}
			if model := wiretest.Want(srv.URL, tt.req); model != want {
				t.Errorf("wiretest.Want() =\n%q\nwant what is sent\n%q", model, want)
			}
			rendered, err := engine.Render(srv.URL, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if rendered != want {
				t.Errorf("Render() =\n%q\nwant what is sent\n%q", rendered, want)
			}
		})
	}
}

// TestConnectionCloseHonoured checks that a request's own Connection:
// close is sent once and makes the client close the connection, so the
// next request goes out on a new one; without it the connection is kept.
func TestConnectionCloseHonoured(t *testing.T) {
	for _, tt := range []struct {
		headers   map[string][]string
		wantConns int
	}{
		{nil, 1},
		{map[string][]string{"Connection": {"close"}}, 2},
	} {
		srv := wiretest.Start(t)
		// One connection, so that both requests go over it unless the
		// first one closes it.
		runner := engine.NewRunner(engine.RunnerConfig{MaxInFlight: 2, Connections: 1})
		req := types.RequestSpec{Method: "GET", Path: "/", Headers: tt.headers}
		// Two requests 500 ms apart: the first is answered long before
		// the second is due, so a kept connection is idle and reused.
		rep := runner.Run(context.Background(), tally.Job{TargetURL: srv.URL, StartAt: time.Now(), Duration: time.Second, Count: 2,
			Requests: []types.RequestSpec{req}})
		runner.Client().CloseConnections()
		if rep.Success != 2 {
			t.Fatalf("headers %v: %+v, want 2 successes", tt.headers, rep.Counts)
		}
		want := "GET / HTTP/1.1\r\nUser-Agent: imager\r\nHost: " + srv.Host() + "\r\n"
		for name, vs := range tt.headers { // one value
			want += name + ": " + vs[0] + "\r\n"
		}
		for range 2 {
			if got := srv.Next(t); got != want+"\r\n" {
				t.Errorf("server received %q, want %q", got, want+"\r\n")
			}
		}
		if got := srv.Accepted(); got != tt.wantConns {
			t.Errorf("headers %v: %d connections, want %d", tt.headers, got, tt.wantConns)
		}
	}
}

// TestUnsendableRequestsRefused checks that a job carrying a request that
// cannot be sent as written (one that skipped the request sources'
// checks) sends nothing and says why.
func TestUnsendableRequestsRefused(t *testing.T) {
	srv := wiretest.Start(t)
	tests := []struct {
		name string
		req  types.RequestSpec
		want string
	}{
		{"CR LF in path", types.RequestSpec{Path: "/x\r\nX-Evil: 1"}, "control character 0x0d"},
		{"space in path", types.RequestSpec{Path: "/a b"}, "holds a space"},
		{"CR LF in header", types.RequestSpec{Path: "/", Headers: map[string][]string{"X-A": {"1\r\nX-Evil: 1"}}}, "CR or LF"},
		{"lower-case method with a space", types.RequestSpec{Method: "get x", Path: "/"}, "not a valid HTTP method token"},
		{"fragment", types.RequestSpec{Path: "/x#top"}, "fragment is never sent"},
		{"two Host headers", types.RequestSpec{Path: "/", Headers: map[string][]string{"Host": {"a"}, "HOST": {"b"}}}, "Host is given 2 times"},
		{"Content-Length", types.RequestSpec{Path: "/", Headers: map[string][]string{"Content-Length": {"9"}}}, "set from the body"},
	}
	runner := engine.NewRunner(engine.RunnerConfig{MaxInFlight: 2})
	for _, tt := range tests {
		rep := runner.Run(context.Background(), tally.Job{TargetURL: srv.URL, StartAt: time.Now(), Duration: time.Millisecond, Count: 1,
			Requests: []types.RequestSpec{tt.req}})
		if rep.Lost != 1 || !strings.Contains(rep.Err, tt.want) {
			t.Errorf("%s: lost %d, err %q; want 1 lost and an error containing %q", tt.name, rep.Lost, rep.Err, tt.want)
		}
		if _, err := engine.Render(srv.URL, tt.req); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: Render error %v, want one containing %q", tt.name, err, tt.want)
		}
	}
}

// TestLargeBodySentAsWritten checks the bodies the engine writes apart
// from the request head (larger than it copies behind the head) and those
// at the edge: a raw server receives exactly what Render shows.
func TestLargeBodySentAsWritten(t *testing.T) {
	srv := wiretest.Start(t)
	for _, size := range []int{4 << 10, 4<<10 + 1, 300 << 10} {
		body := strings.Repeat("0123456789abcdef", size/16+1)[:size]
		req := types.RequestSpec{Method: "POST", Path: "/upload", Body: body, Headers: map[string][]string{"Content-Type": {"a/b"}}}
		want, err := engine.Render(srv.URL, req)
		if err != nil {
			t.Fatal(err)
		}
		if got := srv.Send(t, req); got != want {
			t.Errorf("body of %d bytes: the server received %d bytes, want the %d Render shows", size, len(got), len(want))
		}
		if model := wiretest.Want(srv.URL, req); model != want {
			t.Errorf("body of %d bytes: wiretest.Want() differs from what is sent", size)
		}
	}
}
