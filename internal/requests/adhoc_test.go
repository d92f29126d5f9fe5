package requests

import (
	"reflect"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/types"
)

func TestAdHocSourceRepeatsTheRequest(t *testing.T) {
	src, err := NewAdHocSource(AdHocRequest{
		URL:     "https://127.0.0.1:8443/health?x=1&y=%20z",
		Method:  "post",
		Headers: []string{"X-A: b", "Authorization:Bearer x ", "X-A:\tc", "X-Empty:"},
		Body:    "hi",
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := src.Base(), "https://127.0.0.1:8443"; got != want {
		t.Errorf("Base() = %q, want %q", got, want)
	}
	want := types.RequestSpec{
		Method:      "post", // as written: never upper-cased
		Path:        "/health",
		QueryString: "x=1&y=%20z",
		Headers:     map[string][]string{"X-A": {"b", "c"}, "Authorization": {"Bearer x"}, "X-Empty": {""}},
		Body:        "hi",
	}
	for i := range 3 {
		got, err := src.Next()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("Next() #%d = %+v, %v; want %+v", i, got, err, want)
		}
	}
	if err := src.Reset(); err != nil {
		t.Errorf("Reset() = %v", err)
	}
}

func TestAdHocSourceDefaults(t *testing.T) {
	src, err := NewAdHocSource(AdHocRequest{URL: "http://user:pw@localhost:8080"})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := src.Next()
	if got.Method != "GET" || got.Path != "/" || got.QueryString != "" || got.Headers != nil || got.Body != "" {
		t.Errorf("Next() = %+v, want GET / with nothing else", got)
	}
	if got, want := src.Base(), "http://user:pw@localhost:8080"; got != want {
		t.Errorf("Base() = %q, want %q (user information kept)", got, want)
	}
}

func TestSplitURL(t *testing.T) {
	tests := []struct {
		raw, base, path, query string
	}{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", "/", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", "/", ""},
		{"https://[::1]:8443/a/b%2Fc?q=1", "https://[::1]:8443", "/a/b%2Fc", "q=1"},
		{"http://h?x=1", "http://h", "/", "x=1"},
		{"http://h//evil.example/x", "http://h", "//evil.example/x", ""},
		{"http://h/a/../b/./c?q=%20&r=a?b", "http://h", "/a/../b/./c", "q=%20&r=a?b"},
		{"http://u:p@h:1/%41%2F", "http://u:p@h:1", "/%41%2F", ""},
	}
	for _, tt := range tests {
		base, path, query, err := SplitURL(tt.raw)
		if err != nil || base != tt.base || path != tt.path || query != tt.query {
			t.Errorf("SplitURL(%q) = %q, %q, %q, %v; want %q, %q, %q", tt.raw, base, path, query, err, tt.base, tt.path, tt.query)
		}
	}
}

func TestAdHocSourceRefuses(t *testing.T) {
	tests := []struct {
		name string
		req  AdHocRequest
		want string
	}{
		{"relative URL", AdHocRequest{URL: "/health"}, "not an absolute http or https URL"},
		{"ftp URL", AdHocRequest{URL: "ftp://h/x"}, "not an absolute http or https URL"},
		{"fragment", AdHocRequest{URL: "http://h/x#top"}, "fragment"},
		{"empty fragment", AdHocRequest{URL: "http://h/x#"}, "fragment"},
		{"bad URL", AdHocRequest{URL: "http://h:port/"}, "URL"},
		{"empty query", AdHocRequest{URL: "http://h/p?"}, `path "/p?" ends with '?' and an empty query`},
		{"non-ASCII path", AdHocRequest{URL: "http://h/ä"}, "non-ASCII byte 0xc3: percent-encode it (%C3)"},
		{"two Host headers", AdHocRequest{URL: "http://h", Headers: []string{"Host: a", "host: b"}}, "header Host is given 2 times"},
		{"empty Host", AdHocRequest{URL: "http://h", Headers: []string{"Host:"}}, "header Host is empty"},
		{"Content-Length", AdHocRequest{URL: "http://h", Headers: []string{"content-length: 3"}}, "content-length is set from the body"},
		{"method with a space", AdHocRequest{URL: "http://h", Method: "GET /x"}, `method "GET /x" is not a valid HTTP method token`},
		{"method with a slash", AdHocRequest{URL: "http://h", Method: "PO/ST"}, "not a valid HTTP method token"},
		{"header without colon", AdHocRequest{URL: "http://h", Headers: []string{"X-A b"}}, "no colon"},
		{"empty header name", AdHocRequest{URL: "http://h", Headers: []string{": b"}}, "name is empty"},
		{"space before colon", AdHocRequest{URL: "http://h", Headers: []string{"X-A : b"}}, `name "X-A " is not a valid HTTP token`},
		{"non-token name", AdHocRequest{URL: "http://h", Headers: []string{"X(A): b"}}, "not a valid HTTP token"},
		{"CR in value", AdHocRequest{URL: "http://h", Headers: []string{"X-A: b\r\nX-Evil: 1"}}, "CR or LF"},
		{"LF in value", AdHocRequest{URL: "http://h", Headers: []string{"X-A: b\nc"}}, "CR or LF"},
		{"NUL in value", AdHocRequest{URL: "http://h", Headers: []string{"X-A: b\x00"}}, "control character 0x00"},
	}
	for _, tt := range tests {
		_, err := NewAdHocSource(tt.req)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewAdHocSource(%+v) = %v, want an error containing %q", tt.name, tt.req, err, tt.want)
		}
	}
}

func TestParseHeaderKeepsWhatIsAllowed(t *testing.T) {
	tests := []struct {
		line, name, value string
	}{
		{"X-A: b", "X-A", "b"},
		{"x-lower:b", "x-lower", "b"},
		{"X-A: b: c", "X-A", "b: c"},
		{"X-Tab: a\tb", "X-Tab", "a\tb"},
		{"X-UTF8: ünïcode", "X-UTF8", "ünïcode"},
		{"!#$%&'*+-.^_`|~: v", "!#$%&'*+-.^_`|~", "v"},
	}
	for _, tt := range tests {
		name, value, err := ParseHeader(tt.line)
		if err != nil || name != tt.name || value != tt.value {
			t.Errorf("ParseHeader(%q) = %q, %q, %v; want %q, %q", tt.line, name, value, err, tt.name, tt.value)
		}
	}
	for _, m := range []string{"GET", "get", "PROPFIND", "M-SEARCH"} {
		if err := CheckMethod(m); err != nil {
			t.Errorf("CheckMethod(%q) = %v, want nil", m, err)
		}
	}
	for _, m := range []string{"", "G T", "GET\r\n", "GÉT"} {
		if err := CheckMethod(m); err == nil {
			t.Errorf("CheckMethod(%q) = nil, want an error", m)
		}
	}
}
