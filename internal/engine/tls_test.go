package engine

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/types"
)

// runTLS runs a job of n requests against url with TLS configuration tc.
func runTLS(t *testing.T, r *Runner, url string, tc *tally.TLSConfig, n int) *tally.Report {
	t.Helper()
	rep := r.Run(context.Background(), tally.Job{
		ID: "tls", TargetURL: url, StartAt: time.Now(), Duration: 20 * time.Millisecond,
		Count: n, Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Path: "/"}}, TLS: tc,
	})
	checkAccounted(t, rep)
	return rep
}

// reasonContaining returns the failure reason of rep that contains text.
func reasonContaining(rep *tally.Report, text string) (string, bool) {
	for reason := range rep.Errors {
		if strings.Contains(reason, text) {
			return reason, true
		}
	}
	return "", false
}

func TestRunVerifiesTargetCertificate(t *testing.T) {
	cert := tlstest.SelfSigned(t)
	srv := tlstest.NewServer(t, cert, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	r := NewRunner(RunnerConfig{MaxInFlight: 10})
	defer r.CloseConnections()

	rep := runTLS(t, r, srv.URL, nil, 4)
	if rep.ConnErrors != 4 {
		t.Errorf("without the CA: %d connection errors, want 4: %+v", rep.ConnErrors, rep.Counts)
	}
	if _, ok := reasonContaining(rep, "certificate signed by unknown authority"); !ok {
		t.Errorf("without the CA: errors %v, want the unknown-authority certificate error", rep.Errors)
	}

	for name, tc := range map[string]*tally.TLSConfig{
		"CA":                   {CAPEM: cert.CertPEM},
		"InsecureSkipVerify":   {InsecureSkipVerify: true},
		"CA and insecure both": {CAPEM: cert.CertPEM, InsecureSkipVerify: true},
	} {
		rep := runTLS(t, r, srv.URL, tc, 4)
		if rep.Success != 4 || rep.Err != "" {
			t.Errorf("%s: success %d err %q, want 4 and none: %+v %v", name, rep.Success, rep.Err, rep.Counts, rep.Errors)
		}
	}
}

func TestRunPresentsClientCertificate(t *testing.T) {
	ca := tlstest.NewAuthority(t, "imager test CA")
	srv := tlstest.NewServer(t, ca.Server(t), ca.Pool(), http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if len(r.TLS.PeerCertificates) == 0 {
			w.WriteHeader(http.StatusForbidden)
		}
	}))
	r := NewRunner(RunnerConfig{MaxInFlight: 10})
	defer r.CloseConnections()

	rep := runTLS(t, r, srv.URL, &tally.TLSConfig{CAPEM: ca.CertPEM}, 3)
	if rep.Success != 0 || rep.ConnErrors != 3 {
		t.Errorf("without a client certificate: success %d, connection errors %d; want 0 and 3: %v", rep.Success, rep.ConnErrors, rep.Errors)
	}
	client := ca.Client(t, "imager executor")
	rep = runTLS(t, r, srv.URL, &tally.TLSConfig{CAPEM: ca.CertPEM, ClientCertPEM: client.CertPEM, ClientKeyPEM: client.KeyPEM}, 3)
	if rep.Success != 3 {
		t.Errorf("with a client certificate: success %d, want 3: %+v %v", rep.Success, rep.Counts, rep.Errors)
	}
}

func TestRunSharesClientPerTLSConfig(t *testing.T) {
	cert := tlstest.SelfSigned(t)
	var handled atomic.Int64
	srv := tlstest.NewServer(t, cert, nil, http.HandlerFunc(func(http.ResponseWriter, *http.Request) { handled.Add(1) }))
	r := NewRunner(RunnerConfig{MaxInFlight: 10})
	defer r.CloseConnections()

	// Equal contents in different slices are one configuration.
	for range 3 {
		ca := append([]byte(nil), cert.CertPEM...)
		if rep := runTLS(t, r, srv.URL, &tally.TLSConfig{CAPEM: ca}, 2); rep.Success != 2 {
			t.Fatalf("success %d, want 2: %v", rep.Success, rep.Errors)
		}
	}
	runTLS(t, r, srv.URL, &tally.TLSConfig{CAPEM: cert.CertPEM, InsecureSkipVerify: true}, 1)
	if got := len(r.tls.all()); got != 2 {
		t.Errorf("%d TLS clients, want 2 (one per distinct configuration)", got)
	}
	// An empty configuration is the default one: system roots, which do
	// not know the self-signed certificate.
	if rep := runTLS(t, r, srv.URL, &tally.TLSConfig{}, 1); rep.ConnErrors != 1 || len(r.tls.all()) != 2 {
		t.Errorf("empty TLS configuration: %d connection errors and %d TLS clients, want 1 and 2 (the default client)", rep.ConnErrors, len(r.tls.all()))
	}
	if r.OpenConnections() == 0 {
		t.Fatal("no connections open after the jobs; want the TLS clients' idle ones")
	}
	r.CloseConnections()
	if n := r.OpenConnections(); n != 0 {
		t.Errorf("%d connections open after Runner.CloseConnections, want 0", n)
	}
	if handled.Load() != 7 {
		t.Errorf("target handled %d requests, want 7", handled.Load())
	}
}

func TestRunRefusesBadTLSConfig(t *testing.T) {
	var handled atomic.Int64
	url := target(t, func(http.ResponseWriter, *http.Request) { handled.Add(1) })
	pair := tlstest.NewAuthority(t, "other").Client(t, "c")
	r := NewRunner(RunnerConfig{})
	tests := map[string]struct {
		tc   *tally.TLSConfig
		want string
	}{
		"not PEM":           {&tally.TLSConfig{CAPEM: []byte("hello")}, "no PEM certificate"},
		"key as CA":         {&tally.TLSConfig{CAPEM: pair.KeyPEM}, `"PRIVATE KEY", want CERTIFICATE`},
		"cert without key":  {&tally.TLSConfig{ClientCertPEM: pair.CertPEM}, "without a client key"},
		"key without cert":  {&tally.TLSConfig{ClientKeyPEM: pair.KeyPEM}, "without a client certificate"},
		"key does not pair": {&tally.TLSConfig{ClientCertPEM: pair.CertPEM, ClientKeyPEM: tlstest.SelfSigned(t).KeyPEM}, "client certificate and key"},
	}
	for name, tt := range tests {
		rep := runTLS(t, r, url, tt.tc, 5)
		if !strings.Contains(rep.Err, tt.want) || rep.Lost != 5 || rep.Sent != 0 {
			t.Errorf("%s: err %q lost %d sent %d; want an error containing %q, 5 lost, none sent", name, rep.Err, rep.Lost, rep.Sent, tt.want)
		}
		if _, ok := reasonContaining(rep, "job not run: TLS configuration"); !ok {
			t.Errorf("%s: errors %v, want the job-not-run reason", name, rep.Errors)
		}
	}
	if handled.Load() != 0 {
		t.Errorf("target handled %d requests from jobs with a bad TLS configuration, want 0", handled.Load())
	}
}
