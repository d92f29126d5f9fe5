package sumservice

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	const textPlain = "text/plain; charset=utf-8"
	tests := []struct {
		name       string
		method     string
		target     string
		wantStatus int
		wantBody   string
	}{
		{"sum", "GET", "/sum?a=7&b=9", 200, "16\n"},
		{"zeros", "GET", "/sum?a=0&b=0", 200, "0\n"},
		{"negatives", "GET", "/sum?a=-7&b=-9", 200, "-16\n"},
		{"mixed signs", "GET", "/sum?b=-10&a=3", 200, "-7\n"},
		{"explicit plus sign", "GET", "/sum?a=%2B5&b=1", 200, "6\n"},
		{"extra parameters ignored", "GET", "/sum?a=1&b=2&c=x", 200, "3\n"},
		{"repeated parameter uses first", "GET", "/sum?a=1&a=100&b=2", 200, "3\n"},
		{"largest sum", "GET", "/sum?a=9223372036854775806&b=1", 200, "9223372036854775807\n"},
		{"smallest sum", "GET", "/sum?a=-9223372036854775807&b=-1", 200, "-9223372036854775808\n"},
		{"opposite extremes", "GET", "/sum?a=9223372036854775807&b=-9223372036854775808", 200, "-1\n"},
		{"missing both", "GET", "/sum", 400, "missing parameter \"a\"\n"},
		{"missing b", "GET", "/sum?a=1", 400, "missing parameter \"b\"\n"},
		{"missing a", "GET", "/sum?b=1", 400, "missing parameter \"a\"\n"},
		{"empty a", "GET", "/sum?a=&b=1", 400, "parameter \"a\" is not an integer: \"\"\n"},
		{"non-integer b", "GET", "/sum?a=1&b=x", 400, "parameter \"b\" is not an integer: \"x\"\n"},
		{"decimal a", "GET", "/sum?a=1.5&b=1", 400, "parameter \"a\" is not an integer: \"1.5\"\n"},
		{"hex a", "GET", "/sum?a=0x10&b=1", 400, "parameter \"a\" is not an integer: \"0x10\"\n"},
		{"newline in value stays on one line", "GET", "/sum?a=1&b=2%0A3", 400, "parameter \"b\" is not an integer: \"2\\n3\"\n"},
		{"long value is shortened", "GET", "/sum?a=" + strings.Repeat("z", 100) + "&b=1", 400,
			"parameter \"a\" is not an integer: \"" + strings.Repeat("z", 64) + "...\"\n"},
		{"operand out of range", "GET", "/sum?a=9223372036854775808&b=0", 400,
			"parameter \"a\" is out of the 64-bit integer range: \"9223372036854775808\"\n"},
		{"positive overflow", "GET", "/sum?a=9223372036854775807&b=1", 400,
			"sum of 9223372036854775807 and 1 overflows a 64-bit integer\n"},
		{"negative overflow", "GET", "/sum?a=-9223372036854775808&b=-1", 400,
			"sum of -9223372036854775808 and -1 overflows a 64-bit integer\n"},
		{"malformed query", "GET", "/sum?a=1&b=%zz", 400, "malformed query string\n"},
		{"POST sum", "POST", "/sum?a=1&b=2", 405, "method POST not allowed, use GET\n"},
		{"HEAD sum", "HEAD", "/sum?a=1&b=2", 405, ""},
		{"DELETE healthz", "DELETE", "/healthz", 405, "method DELETE not allowed, use GET\n"},
		{"healthz", "GET", "/healthz", 200, "ok\n"},
		{"healthz ignores query", "GET", "/healthz?x=1", 200, "ok\n"},
		{"unknown path", "GET", "/sum/extra", 404, "404 page not found\n"},
		{"root", "GET", "/", 404, "404 page not found\n"},
	}
	h := Handler()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.target, nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			res := rec.Result()
			body, err := io.ReadAll(res.Body)
			if err != nil {
				t.Fatalf("read body: %v", err)
			}
			if res.StatusCode != tt.wantStatus {
				t.Errorf("%s %s: status = %d, want %d (body %q)", tt.method, tt.target, res.StatusCode, tt.wantStatus, body)
			}
			if tt.method != "HEAD" && string(body) != tt.wantBody {
				t.Errorf("%s %s: body = %q, want %q", tt.method, tt.target, body, tt.wantBody)
			}
			if got := res.Header.Get("Content-Type"); got != textPlain {
				t.Errorf("%s %s: Content-Type = %q, want %q", tt.method, tt.target, got, textPlain)
			}
			if tt.wantStatus == 405 {
				if got := res.Header.Get("Allow"); got != "GET" {
					t.Errorf("%s %s: Allow = %q, want GET", tt.method, tt.target, got)
				}
			}
		})
	}
}

func TestAdd(t *testing.T) {
	const maxI, minI = int64(^uint64(0) >> 1), -int64(^uint64(0)>>1) - 1
	tests := []struct {
		a, b   int64
		want   int64
		wantOK bool
	}{
		{1, 2, 3, true},
		{-1, -2, -3, true},
		{maxI, 0, maxI, true},
		{maxI, minI, -1, true},
		{maxI, 1, 0, false},
		{minI, -1, 0, false},
		{minI, minI, 0, false},
		{maxI, maxI, 0, false},
		{minI, 0, minI, true},
	}
	for _, tt := range tests {
		got, ok := add(tt.a, tt.b)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("add(%d, %d) = %d, %v; want %d, %v", tt.a, tt.b, got, ok, tt.want, tt.wantOK)
		}
	}
}
