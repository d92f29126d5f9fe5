package app_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// runLocal runs a short url-mode test against target with one in-process
// executor and returns its summary.
func runLocal(t *testing.T, target string, args ...string) (manager.Summary, error) {
	t.Helper()
	cfg, err := app.ParseConfig(append([]string{
		"-target-mode=url", "-target-url=" + target, "-listen-port=0", "-grpc-port=0",
		"-rate=20", "-duration=1s", "-round-interval=500ms", "-request-timeout=5s",
	}, args...))
	if err != nil {
		t.Fatalf("ParseConfig: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var sum manager.Summary
	err = app.Run(ctx, cfg, app.RunOptions{
		Logger:         slog.New(slog.NewTextHandler(io.Discard, nil)),
		LocalExecutors: 1,
		OnSummary:      func(s manager.Summary) { sum = s },
	})
	return sum, err
}

// mustRun is runLocal for runs that must run to the end; a run whose
// requests all failed ends with a failed verdict, which is fine here.
func mustRun(t *testing.T, target string, args ...string) manager.Summary {
	t.Helper()
	sum, err := runLocal(t, target, args...)
	var verdict *app.VerdictError
	if err != nil && !errors.As(err, &verdict) {
		t.Fatalf("Run(%q): %v", args, err)
	}
	if sum.Planned != 20 || sum.Accounted() != sum.Planned {
		t.Fatalf("Run(%q): planned %d, accounted %d; want 20 each (20 rps for 1s)", args, sum.Planned, sum.Accounted())
	}
	return sum
}

// errorNaming returns the failure reason of s that contains text.
func errorNaming(s manager.Summary, text string) (string, bool) {
	for reason := range s.Errors {
		if strings.Contains(reason, text) {
			return reason, true
		}
	}
	return "", false
}

func TestRunVerifiesTheTargetCertificate(t *testing.T) {
	cert := tlstest.SelfSigned(t)
	srv := tlstest.NewServer(t, cert, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	caFile := tlstest.WriteFile(t, t.TempDir(), "ca.pem", cert.CertPEM)

	sum := mustRun(t, srv.URL)
	if sum.ConnErrors != sum.Planned {
		t.Errorf("without -ca-file: %d connection errors of %d, want all: %+v", sum.ConnErrors, sum.Planned, sum.Counts)
	}
	if _, ok := errorNaming(sum, "certificate signed by unknown authority"); !ok {
		t.Errorf("without -ca-file: errors %v, want the x509 unknown-authority error", sum.Errors)
	}
	if sum := mustRun(t, srv.URL, "-ca-file="+caFile); sum.Success != sum.Planned {
		t.Errorf("with -ca-file: %d of %d succeeded, want all: %v", sum.Success, sum.Planned, sum.Errors)
	}
	if sum := mustRun(t, srv.URL, "-insecure-skip-verify"); sum.Success != sum.Planned {
		t.Errorf("with -insecure-skip-verify: %d of %d succeeded, want all: %v", sum.Success, sum.Planned, sum.Errors)
	}
}

func TestRunPresentsTheClientCertificate(t *testing.T) {
	ca := tlstest.NewAuthority(t, "imager test CA")
	srv := tlstest.NewServer(t, ca.Server(t), ca.Pool(), http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	dir := t.TempDir()
	caFile := tlstest.WriteFile(t, dir, "ca.pem", ca.CertPEM)
	certFile, keyFile := ca.Client(t, "imager").Write(t, dir, "client")

	if sum := mustRun(t, srv.URL, "-ca-file="+caFile); sum.Success != 0 || sum.ConnErrors != sum.Planned {
		t.Errorf("without -client-cert: success %d, connection errors %d of %d; want every request refused: %v",
			sum.Success, sum.ConnErrors, sum.Planned, sum.Errors)
	}
	if sum := mustRun(t, srv.URL, "-ca-file="+caFile, "-client-cert="+certFile, "-client-key="+keyFile); sum.Success != sum.Planned {
		t.Errorf("with -client-cert: %d of %d succeeded, want all: %v", sum.Success, sum.Planned, sum.Errors)
	}
}

func TestRunRefusesBadTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca := tlstest.NewAuthority(t, "ca")
	pair := ca.Client(t, "c")
	certFile, keyFile := pair.Write(t, dir, "client")
	_, otherKey := tlstest.SelfSigned(t).Write(t, dir, "other")
	notPEM := tlstest.WriteFile(t, dir, "not.pem", []byte("hello"))
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"missing CA file", []string{"-ca-file=" + missing}, []string{"-ca-file", missing}},
		{"CA file without PEM", []string{"-ca-file=" + notPEM}, []string{"-ca-file " + notPEM, "no PEM certificate"}},
		{"key as CA", []string{"-ca-file=" + keyFile}, []string{"-ca-file " + keyFile, "PRIVATE KEY"}},
		{"key of another certificate", []string{"-client-cert=" + certFile, "-client-key=" + otherKey}, []string{"-client-cert " + certFile, "-client-key " + otherKey}},
		{"missing client key", []string{"-client-cert=" + certFile, "-client-key=" + missing}, []string{"-client-key", missing}},
		{"both at once", []string{"-ca-file=" + notPEM, "-client-cert=" + notPEM, "-client-key=" + keyFile}, []string{"-ca-file", "-client-cert"}},
	}
	for _, tt := range tests {
		// Nothing listens at the target: a bad file must fail the start.
		_, err := runLocal(t, "https://127.0.0.1:1", tt.args...)
		if err == nil {
			t.Errorf("%s: Run = nil, want an error", tt.name)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: Run = %q, want it to name %q", tt.name, err, w)
			}
		}
	}
}

// recorded is one request a recording target received.
type recorded struct {
	method, uri, header, body string
}

func TestRunSendsAdHocRequests(t *testing.T) {
	var mu sync.Mutex
	var got []recorded
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, recorded{r.Method, r.RequestURI, r.Header.Get("X-A"), string(b)})
		mu.Unlock()
	}))
	defer srv.Close()
	body := tlstest.WriteFile(t, t.TempDir(), "body", []byte("from a file"))

	sum := mustRun(t, srv.URL+"/health?x=1", "-method=POST", "-H", "X-A: b", "-body=hi")
	if sum.Success != sum.Planned {
		t.Errorf("%d of %d succeeded, want all: %v", sum.Success, sum.Planned, sum.Errors)
	}
	if rps := sum.AchievedRPS(); math.Abs(rps-20) > 2 {
		t.Errorf("achieved %.1f rps, want about 20", rps)
	}
	mustRun(t, srv.URL+"/upload", "-method=put", "-body-file="+body)
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 40 {
		t.Fatalf("target received %d requests, want 40", len(got))
	}
	for i, r := range got {
		want := recorded{"POST", "/health?x=1", "b", "hi"}
		if i >= 20 {
			want = recorded{"put", "/upload", "", "from a file"}
		}
		if r != want {
			t.Fatalf("request %d = %+v, want %+v", i, r, want)
		}
	}
}

func TestRunRefusesIgnoredAdHocFlags(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.lua")
	if err := os.WriteFile(scenario, []byte("function request() return {path = '/x'} end\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runLocal(t, "http://127.0.0.1:1", "-scenario="+scenario, "-H", "X-A: b", "-scenario-reload-interval=0")
	if err == nil || !strings.Contains(err.Error(), "-H given") || !strings.Contains(err.Error(), "ignored") {
		t.Errorf("-H with a scenario's request(): %v, want an error saying -H would be ignored", err)
	}
}
