package main

import (
	"bytes"
	"context"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// arrival is one request a recording target received.
type arrival struct {
	at                        time.Time
	method, uri, header, body string
}

// recorder is a loopback target that records every request.
type recorder struct {
	mu  sync.Mutex
	got []arrival
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	rec.got = append(rec.got, arrival{time.Now(), r.Method, r.RequestURI, r.Header.Get("X-A"), string(b)})
}

func (rec *recorder) arrivals() []arrival {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]arrival(nil), rec.got...)
}

// imager runs the CLI with args and returns its exit code and output.
func imager(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	code = run(ctx, args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestImagerRunAdHocRequests(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()

	code, out, errOut := imager(t, "run", "-target-url="+srv.URL+"/health?x=1", "-rate", "20", "-duration", "2s",
		"-H", "X-A: b", "-method", "POST", "-body", "hi")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	got := rec.arrivals()
	if len(got) != 40 {
		t.Fatalf("target received %d requests, want 40 (20 rps for 2s)", len(got))
	}
	for i, a := range got {
		if a.method != "POST" || a.uri != "/health?x=1" || a.header != "b" || a.body != "hi" {
			t.Fatalf("request %d: %s %s X-A=%q body %q; want POST /health?x=1 X-A=b body hi", i, a.method, a.uri, a.header, a.body)
		}
	}
	// 40 requests spread evenly over 2s: 39 gaps of 50ms.
	first, last := got[0].at, got[0].at
	for _, a := range got {
		first, last = minTime(first, a.at), maxTime(last, a.at)
	}
	if rps := 39 / last.Sub(first).Seconds(); math.Abs(rps-20) > 3 {
		t.Errorf("requests arrived at %.1f rps, want about 20", rps)
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// Without -rate, a plain target URL is loaded with GET requests to its own
// path by the step profile, with no request file to find.
func TestImagerRunTargetURLAlone(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	code, out, errOut := imager(t, "run", "-target-url="+srv.URL+"/health", "-duration=1s", "-round-interval=500ms")
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	got := rec.arrivals()
	if len(got) == 0 {
		t.Fatal("target received nothing")
	}
	for _, a := range got {
		if a.method != "GET" || a.uri != "/health" {
			t.Fatalf("target received %s %s, want GET /health", a.method, a.uri)
		}
	}
}

func TestImagerRunRefusesBadAdHocFlags(t *testing.T) {
	dir := t.TempDir()
	body := filepath.Join(dir, "body")
	if err := os.WriteFile(body, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	badPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(badPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	target := "-target-url=http://127.0.0.1:1/health?x=1"
	tests := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"header without colon", []string{"-H", "X-A b"}, exitUsage, []string{"-H", "no colon"}},
		{"empty header name", []string{"-H", ": b"}, exitUsage, []string{"-H", "name is empty"}},
		{"non-token header name", []string{"-H", "X@A: b"}, exitUsage, []string{"-H", "not a valid HTTP token"}},
		{"CR LF in header value", []string{"-H", "X-A: b\r\nX-Evil: 1"}, exitUsage, []string{"-H", "CR or LF"}},
		{"non-token method", []string{"-method", "GE T"}, exitUsage, []string{"-method", "not a valid HTTP method token"}},
		{"body and body file", []string{"-body", "a", "-body-file", body}, exitUsage, []string{"-body and -body-file"}},
		{"unreadable body file", []string{"-body-file", filepath.Join(dir, "nope")}, exitUsage, []string{"-body-file", "nope"}},
		{"method with a request file", []string{"-method", "POST", "-request-source-file", body}, exitUsage, []string{"-method given", "ignored"}},
		{"negative rate", []string{"-rate", "-5"}, exitUsage, []string{"-rate", "negative"}},
		{"rate with step", []string{"-rate", "5", "-load-calculator", "step"}, exitUsage, []string{"-rate", "-load-calculator=step"}},
		{"constant without rate", []string{"-load-calculator", "constant"}, exitFailed, []string{"-load-calculator=constant needs -rate"}},
		{"client cert without key", []string{"-client-cert", body}, exitUsage, []string{"-client-cert", "-client-key"}},
		{"bad CA file", []string{"-ca-file", badPEM}, exitFailed, []string{"-ca-file " + badPEM, "no PEM certificate"}},
	}
	for _, tt := range tests {
		code, _, errOut := imager(t, append([]string{"run", target, "-duration=1s"}, tt.args...)...)
		if code != tt.code {
			t.Errorf("%s: exit %d, want %d; stderr %q", tt.name, code, tt.code, errOut)
		}
		for _, w := range tt.want {
			if !strings.Contains(errOut, w) {
				t.Errorf("%s: stderr %q lacks %q", tt.name, errOut, w)
			}
		}
	}
}
