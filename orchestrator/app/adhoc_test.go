package app

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/requests"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// adHocURL is a url-mode target whose path and query ad hoc requests use.
var adHocURL = []string{"-target-mode=url", "-target-url=http://127.0.0.1:8080/health?x=1"}

func TestAdHocFlagsValid(t *testing.T) {
	body := filepath.Join(t.TempDir(), "body.json")
	if err := os.WriteFile(body, []byte(`{"a":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
	}{
		{"query for ad hoc", adHocURL},
		{"explicit url source", append([]string{"-request-source-type=url"}, adHocURL...)},
		{"method as written", append([]string{"-method=post", "-H", "X-A: b", "-H", "X-A: c", "-body=hi"}, adHocURL...)},
		{"body file", append([]string{"-method=PUT", "-body-file=" + body}, adHocURL...)},
		{"rate with auto", append([]string{"-rate=20"}, adHocURL...)},
		{"rate with constant", append([]string{"-rate=20", "-load-calculator=constant"}, adHocURL...)},
		{"method GET with a file", append([]string{"-request-source-file=r.json"}, podArgs...)},
	}
	for _, tt := range tests {
		if _, err := parse("orchestrator", tt.args, io.Discard); err != nil {
			t.Errorf("%s: parse(%q) = %v, want nil", tt.name, tt.args, err)
		}
	}
	c, err := parse("orchestrator", append([]string{"-method=post"}, adHocURL...), io.Discard)
	if err != nil || c.Method != "post" {
		t.Errorf("-method=post parsed as %q, %v; want it kept as written", c.Method, err)
	}
}

func TestAdHocFlagsRefused(t *testing.T) {
	dir := t.TempDir()
	with := func(extra ...string) []string { return append(extra, adHocURL...) }
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"header without colon", with("-H", "X-A b"), []string{"-H", "no colon"}},
		{"empty header name", with("-H", ": b"), []string{"-H", "name is empty"}},
		{"non-token header name", with("-H", "X A: b"), []string{"-H", "not a valid HTTP token"}},
		{"CR in header value", with("-H", "X-A: b\r\nX-B: c"), []string{"-H", "CR or LF"}},
		{"LF in header value", with("-H", "X-A: b\nc"), []string{"-H", "CR or LF"}},
		{"non-token method", with("-method=GET /x"), []string{"-method", "not a valid HTTP method token"}},
		{"empty method", with("-method="), []string{"-method is empty"}},
		{"body and body file", with("-body=a", "-body-file="+filepath.Join(dir, "b")), []string{"-body and -body-file"}},
		{"missing body file", with("-body-file=" + filepath.Join(dir, "missing")), []string{"-body-file", "missing"}},
		{"directory as body file", with("-body-file=" + dir), []string{"-body-file", "is a directory"}},
		{"method with a request file", with("-method=GET", "-request-source-file=r.json"), []string{"-method given", "-request-source-file r.json", "ignored"}},
		{"header with random-sum", []string{"-target-mode=url", "-target-url=http://h", "-request-source-type=random-sum", "-H", "X-A: b"},
			[]string{"-H given", "-request-source-type=random-sum", "ignored"}},
		{"body in pod mode", append([]string{"-body=x"}, podArgs...), []string{"-body given", "/config/requests.json", "ignored"}},
		{"url source in pod mode", append([]string{"-request-source-type=url"}, podArgs...), []string{"-request-source-type=url needs -target-mode=url"}},
		{"url source with a file", with("-request-source-type=url", "-request-source-file=r.json"), []string{"-request-source-file r.json is not used"}},
		{"fragment", []string{"-target-mode=url", "-target-url=http://h/x#top"}, []string{"-target-url", "fragment"}},
		{"negative rate", with("-rate=-1"), []string{"-rate (-1) must not be negative"}},
		{"rate with another calculator", with("-rate=20", "-load-calculator=step"), []string{"-rate 20", "-load-calculator=step", "conflict"}},
		{"client cert without key", with("-client-cert=c.pem"), []string{"-client-cert c.pem needs -client-key"}},
		{"client key without cert", with("-client-key=k.pem"), []string{"-client-key k.pem needs -client-cert"}},
		{"every problem at once", with("-H", "bad", "-method=A B", "-rate=-2"), []string{"-H", "-method", "-rate"}},
	}
	for _, tt := range tests {
		_, err := parse("orchestrator", tt.args, io.Discard)
		if err == nil {
			t.Errorf("%s: parse(%q) = nil, want an error", tt.name, tt.args)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: parse(%q) = %q, want it to contain %q", tt.name, tt.args, err, w)
			}
		}
	}
}

// mustParse parses args, failing the test on an error.
func mustParse(t *testing.T, args ...string) Config {
	t.Helper()
	c, err := parse("orchestrator", args, io.Discard)
	if err != nil {
		t.Fatalf("parse(%q) = %v", args, err)
	}
	return c
}

func TestAutoPicksTheAdHocSource(t *testing.T) {
	src, err := NewBuiltInRequestSource(mustParse(t, append([]string{"-method=POST", "-H", "X-A: b", "-body=hi"}, adHocURL...)...))
	if err != nil {
		t.Fatal(err)
	}
	a, ok := src.(*requests.AdHocSource)
	if !ok {
		t.Fatalf("url mode without a request file built %T, want the ad hoc source", src)
	}
	spec, _ := a.Next()
	if a.Base() != "http://127.0.0.1:8080" || spec.Method != "POST" || spec.Path != "/health" || spec.QueryString != "x=1" ||
		!slices.Equal(spec.Headers["X-A"], []string{"b"}) || spec.Body != "hi" {
		t.Errorf("ad hoc source: base %q, request %+v", a.Base(), spec)
	}
	// Outside url mode an empty -request-source-file is the mounted file.
	_, err = NewBuiltInRequestSource(mustParse(t, podArgs...))
	if err == nil || !strings.Contains(err.Error(), DefaultRequestSourceFile) {
		t.Errorf("pod mode without -request-source-file: %v, want an error naming %s", err, DefaultRequestSourceFile)
	}
}

func TestRateRunsTheConstantCalculator(t *testing.T) {
	for _, args := range [][]string{{"-rate=30"}, {"-rate=30", "-load-calculator=constant"}} {
		calc, err := NewBuiltInLoadCalculator(mustParse(t, append(args, adHocURL...)...))
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		for i := range 3 {
			if got := calc.Next(); got != 30 {
				t.Errorf("%q: round %d rate %d, want 30", args, i, got)
			}
		}
	}
	_, err := NewBuiltInLoadCalculator(mustParse(t, append([]string{"-load-calculator=constant"}, adHocURL...)...))
	if err == nil || !strings.Contains(err.Error(), "-load-calculator=constant needs -rate") {
		t.Errorf("constant without -rate: %v, want an error naming both flags", err)
	}
	if calc, err := NewBuiltInLoadCalculator(mustParse(t, adHocURL...)); err != nil || calc.Next() != 5 {
		t.Errorf("auto without -rate: want the step calculator from -min-rps (5), got %v", err)
	}
	_, err = NewBuiltInLoadCalculator(Config{LoadCalculator: "bogus"})
	if err == nil || !strings.Contains(err.Error(), "built in: constant,") {
		t.Errorf("unknown calculator: %v, want the built-in list with constant", err)
	}
}

func TestAdHocFlagsBesideAScenario(t *testing.T) {
	dir := t.TempDir()
	both := filepath.Join(dir, "both.lua")
	if err := os.WriteFile(both, []byte("function request() return {path = '/x'} end\nfunction rps(round) return 10 end\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	model := manager.SyntheticTarget{}
	cfg := mustParse(t, "-target-mode=url", "-target-url=http://127.0.0.1:8080", "-scenario="+both, "-H", "X-A: b")
	if _, err := DryRun(cfg, model, 1, 1); err == nil || !strings.Contains(err.Error(), "request() of -scenario") {
		t.Errorf("-H beside a scenario with request(): %v, want an error saying it would be ignored", err)
	}
	cfg = mustParse(t, "-target-mode=url", "-target-url=http://127.0.0.1:8080/?q=1", "-scenario="+both)
	if _, err := DryRun(cfg, model, 1, 1); err == nil || !strings.Contains(err.Error(), "-target-url") {
		t.Errorf("query beside a scenario with request(): %v, want an error naming -target-url", err)
	}
	cfg = mustParse(t, "-target-mode=url", "-target-url=http://127.0.0.1:8080", "-scenario="+both, "-rate=5")
	if _, err := DryRun(cfg, model, 1, 1); err == nil || !strings.Contains(err.Error(), "-rate 5 and -scenario") {
		t.Errorf("-rate beside a scenario with rps(): %v, want an error naming both", err)
	}
}

func TestDryRunShowsAdHocRequests(t *testing.T) {
	cfg := mustParse(t, append([]string{"-rate=7", "-method=POST", "-H", "X-A: b", "-body=hi"}, adHocURL...)...)
	out, err := DryRun(cfg, manager.SyntheticTarget{}, 2, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Rounds) != 2 || out.Rounds[0].RPS != 7 || out.Rounds[1].RPS != 7 {
		t.Errorf("rounds %+v, want two at 7 rps", out.Rounds)
	}
	if len(out.Requests) != 1 {
		t.Fatalf("got %d sample requests, want 1", len(out.Requests))
	}
	r := out.Requests[0]
	for _, want := range []string{"POST /health?x=1 HTTP/1.1\r\n", "Host: 127.0.0.1:8080\r\n", "X-A: b\r\n", "\r\n\r\nhi"} {
		if !strings.Contains(r.Wire, want) {
			t.Errorf("wire %q lacks %q", r.Wire, want)
		}
	}
	if r.URL != "http://127.0.0.1:8080/health?x=1" {
		t.Errorf("URL %q, want the target URL itself", r.URL)
	}
}

func TestAdHocBodyFileTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	// A sparse file: its size is what counts.
	if err := f.Truncate(tally.MaxRequestBytes + 1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cfg := mustParse(t, append([]string{"-request-source-type=url", "-method=PUT", "-body-file=" + path}, adHocURL...)...)
	_, err = newAdHocSource(cfg)
	if err == nil || !strings.Contains(err.Error(), "-body-file "+path+": larger than the limit of 33554432 bytes") {
		t.Errorf("newAdHocSource with a body over the limit = %v, want it refused naming -body-file", err)
	}
}
