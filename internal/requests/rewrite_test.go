package requests

import (
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/wiretest"
)

// rewriteCase is one request record: either refused at load with an error
// naming file:line and containing refused, or sent as exactly the bytes
// in wire (HOST standing for the target's host and port).
type rewriteCase struct {
	name    string
	line    string
	refused string
	wire    string
}

const uaHost = "User-Agent: imager\r\nHost: HOST\r\n"

var rewriteCases = []rewriteCase{
	{name: "CR LF in path", line: `{"method":"GET","path":"/x\r\nX-Evil: 1"}`, refused: `path "/x\r\nX-Evil: 1" holds the control character 0x0d`},
	{name: "LF in query", line: `{"method":"GET","path":"/x","queryString":"a=1\nb"}`, refused: "query \"a=1\\nb\" holds the control character 0x0a"},
	{name: "CR LF in header", line: `{"method":"GET","path":"/","headers":{"X-A":["1\r\nX-Evil: 1"]}}`, refused: `header X-A: the value "1\r\nX-Evil: 1" holds a CR or LF`},
	{name: "NUL in header", line: `{"method":"GET","path":"/","headers":{"X-A":["a\u0000"]}}`, refused: "header X-A: the value \"a\\x00\" holds the control character 0x00"},
	{name: "space in path", line: `{"method":"GET","path":"/a b"}`, refused: `path "/a b" holds a space: percent-encode it as %20`},
	{name: "non-ASCII path", line: `{"method":"GET","path":"/ä"}`, refused: `path "/ä" holds the non-ASCII byte 0xc3: percent-encode it (%C3)`},
	{name: "fragment", line: `{"method":"GET","path":"/x#top"}`, refused: `path "/x#top" holds '#': a fragment is never sent`},
	{name: "empty query", line: `{"method":"GET","path":"/x?"}`, refused: `path "/x?" ends with '?' and an empty query`},
	{name: "query twice", line: `{"method":"GET","path":"/x?a=1","queryString":"b=2"}`, refused: `path "/x?a=1" has a query and the query "b=2" is given too`},
	{name: "method with a space", line: `{"method":"GET /x","path":"/"}`, refused: `method "GET /x" is not a valid HTTP method token`},
	{name: "header name with a colon", line: `{"method":"GET","path":"/","headers":{"X:A":["1"]}}`, refused: `header name "X:A" is not a valid HTTP token`},
	{name: "two Host values", line: `{"method":"GET","path":"/","headers":{"Host":["a"],"host":["b"]}}`, refused: "header Host is given 2 times: give one value"},
	{name: "empty Host", line: `{"method":"GET","path":"/","headers":{"Host":[""]}}`, refused: "header Host is empty"},
	{name: "Content-Length", line: `{"method":"POST","path":"/","headers":{"Content-Length":["9"]}}`, refused: "header Content-Length is set from the body when the request is sent: remove it"},
	{name: "Transfer-Encoding", line: `{"method":"POST","path":"/","headers":{"Transfer-Encoding":["chunked"]}}`, refused: "header Transfer-Encoding is set from the body"},
	{name: "header without values", line: `{"method":"GET","path":"/","headers":{"X-A":[]}}`, refused: "header X-A has no values"},

	{name: "lower-case method", line: `{"method":"get","path":"/x"}`, wire: "get /x HTTP/1.1\r\n" + uaHost + "Content-Length: 0\r\n\r\n"},
	{name: "double slash", line: `{"method":"GET","path":"//evil.example/x"}`, wire: "GET //evil.example/x HTTP/1.1\r\n" + uaHost + "\r\n"},
	{name: "dot segments", line: `{"method":"GET","path":"/a/../b/./c%2F"}`, wire: "GET /a/../b/./c%2F HTTP/1.1\r\n" + uaHost + "\r\n"},
	{name: "query in path", line: `{"method":"GET","path":"/sum?a=7&b=9"}`, wire: "GET /sum?a=7&b=9 HTTP/1.1\r\n" + uaHost + "\r\n"},
	{name: "queryString", line: `{"method":"GET","path":"/sum","queryString":"a=7&b=%20"}`, wire: "GET /sum?a=7&b=%20 HTTP/1.1\r\n" + uaHost + "\r\n"},
	{name: "Host header", line: `{"method":"GET","path":"/","headers":{"Host":["vhost.example"]}}`, wire: "GET / HTTP/1.1\r\nUser-Agent: imager\r\nHost: vhost.example\r\n\r\n"},
	{name: "header spelling and cookies", line: `{"method":"GET","path":"/","headers":{"cookie":["a=1;b=2","c=3"],"x-trace":["1"]}}`,
		wire: "GET / HTTP/1.1\r\n" + uaHost + "cookie: a=1;b=2\r\ncookie: c=3\r\nx-trace: 1\r\n\r\n"},
	{name: "body", line: `{"method":"POST","path":"/p","headers":{"Content-Type":["application/json"]},"body":"{}"}`,
		wire: "POST /p HTTP/1.1\r\n" + uaHost + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
}

// TestFileSourceSendsAsWrittenOrRefuses loads each case from a request
// file and either checks the refusal names the file and line, or sends the
// record through the engine to a raw loopback server and compares the
// bytes it received.
func TestFileSourceSendsAsWrittenOrRefuses(t *testing.T) {
	srv := wiretest.Start(t)
	for _, tt := range rewriteCases {
		t.Run(tt.name, func(t *testing.T) {
			path := writeRequests(t, "\n"+tt.line+"\n")
			src, err := NewFileSource(path)
			if tt.refused != "" {
				if err == nil || !strings.HasPrefix(err.Error(), path+":2: ") || !strings.Contains(err.Error(), tt.refused) {
					t.Fatalf("NewFileSource error %v, want %q and %q", err, path+":2: ", tt.refused)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			spec, _ := src.Next()
			want := strings.ReplaceAll(tt.wire, "HOST", srv.Host())
			if got := srv.Send(t, spec); got != want {
				t.Errorf("server received\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// TestAdHocSourceSendsAsWritten covers the ad hoc source: the URL's own
// path and query go out as written, with a Host header honoured.
func TestAdHocSourceSendsAsWritten(t *testing.T) {
	srv := wiretest.Start(t)
	src, err := NewAdHocSource(AdHocRequest{URL: srv.URL + "//a/../b?x=%41", Method: "purge", Headers: []string{"Host: vhost.example"}})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := src.Next()
	want := "purge //a/../b?x=%41 HTTP/1.1\r\nUser-Agent: imager\r\nHost: vhost.example\r\nContent-Length: 0\r\n\r\n"
	if got := srv.Send(t, spec); got != want {
		t.Errorf("server received\n%q\nwant\n%q", got, want)
	}
}
