package script

import (
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/wiretest"
)

// TestLuaRequestSentAsWrittenOrRefused returns each case from request()
// and either checks the refusal names the scenario file and line and says
// what is wrong (in the words the request file source uses), or sends the
// request through the engine to a raw loopback server and compares the
// bytes it received. HOST stands for the server's host and port.
func TestLuaRequestSentAsWrittenOrRefused(t *testing.T) {
	const refusal = "scenario.lua:1: request() returned a request that cannot be sent as written: "
	const uaHost = "User-Agent: imager\r\nHost: HOST\r\n"
	srv := wiretest.Start(t)
	tests := []struct {
		name, ret string
		refused   string
		wire      string
	}{
		{name: "CR LF in path", ret: `{path = "/x\r\nX-Evil: 1"}`, refused: `path "/x\r\nX-Evil: 1" holds the control character 0x0d`},
		{name: "LF in query string", ret: `{path = "/x", query = "a=1\nb"}`, refused: `query "a=1\nb" holds the control character 0x0a`},
		{name: "CR LF in header", ret: `{path = "/", headers = {["X-A"] = "1\r\nX-Evil: 1"}}`, refused: `header X-A: the value "1\r\nX-Evil: 1" holds a CR or LF`},
		{name: "NUL in header", ret: `{path = "/", headers = {["X-A"] = "a\0"}}`, refused: `header X-A: the value "a\x00" holds the control character 0x00`},
		{name: "space in path", ret: `{path = "/a b"}`, refused: `path "/a b" holds a space: percent-encode it as %20`},
		{name: "non-ASCII path", ret: `{path = "/\195\164"}`, refused: `path "/ä" holds the non-ASCII byte 0xc3: percent-encode it (%C3)`},
		{name: "fragment", ret: `{path = "/x#top"}`, refused: `path "/x#top" holds '#': a fragment is never sent`},
		{name: "empty query", ret: `{path = "/x?"}`, refused: `path "/x?" ends with '?' and an empty query`},
		{name: "query twice", ret: `{path = "/x?a=1", query = {b = 2}}`, refused: `path "/x?a=1" has a query and the query "b=2" is given too`},
		{name: "method with a space", ret: `{path = "/", method = "GET /x"}`, refused: `method "GET /x" is not a valid HTTP method token`},
		{name: "header name with a colon", ret: `{path = "/", headers = {["X:A"] = "1"}}`, refused: `header name "X:A" is not a valid HTTP token`},
		{name: "two Host values", ret: `{path = "/", headers = {Host = {"a", "b"}}}`, refused: "header Host is given 2 times: give one value"},
		{name: "Host and host", ret: `{path = "/", headers = {Host = "a", host = "b"}}`, refused: "header Host is given 2 times: give one value"},
		{name: "empty Host", ret: `{path = "/", headers = {Host = ""}}`, refused: "header Host is empty"},
		{name: "Content-Length", ret: `{path = "/", method = "POST", headers = {["Content-Length"] = 9}}`, refused: "header Content-Length is set from the body when the request is sent: remove it"},

		{name: "lower-case method", ret: `{path = "/x", method = "get"}`, wire: "get /x HTTP/1.1\r\n" + uaHost + "Content-Length: 0\r\n\r\n"},
		{name: "double slash", ret: `{path = "//evil.example/x"}`, wire: "GET //evil.example/x HTTP/1.1\r\n" + uaHost + "\r\n"},
		{name: "dot segments", ret: `{path = "/a/../b/./c%2F"}`, wire: "GET /a/../b/./c%2F HTTP/1.1\r\n" + uaHost + "\r\n"},
		{name: "query in path", ret: `{path = "/sum?a=7&b=9"}`, wire: "GET /sum?a=7&b=9 HTTP/1.1\r\n" + uaHost + "\r\n"},
		{name: "query table", ret: `{path = "/sum", query = {b = "x y", a = 7}}`, wire: "GET /sum?a=7&b=x+y HTTP/1.1\r\n" + uaHost + "\r\n"},
		{name: "Host header", ret: `{path = "/", headers = {Host = "vhost.example"}}`, wire: "GET / HTTP/1.1\r\nUser-Agent: imager\r\nHost: vhost.example\r\n\r\n"},
		{name: "header spelling and cookies", ret: `{path = "/", headers = {cookie = {"a=1;b=2", "c=3"}, ["x-trace"] = 1}}`,
			wire: "GET / HTTP/1.1\r\n" + uaHost + "cookie: a=1;b=2\r\ncookie: c=3\r\nx-trace: 1\r\n\r\n"},
		{name: "body", ret: `{method = "POST", path = "/p", headers = {["Content-Type"] = "application/json"}, body = "{}"}`,
			wire: "POST /p HTTP/1.1\r\n" + uaHost + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vm := newVM(t, "function request()\nreturn "+tt.ret+"\nend\n", VMConfig{})
			spec, err := vm.Request()
			if tt.refused != "" {
				wantErr(t, err, refusal+tt.refused)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := strings.ReplaceAll(tt.wire, "HOST", srv.Host())
			if got := srv.Send(t, spec); got != want {
				t.Errorf("server received\n%q\nwant\n%q", got, want)
			}
		})
	}
}
