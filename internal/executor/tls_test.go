package executor

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
)

// tlsFake starts a fake orchestrator serving TLS with a certificate of ca
// and requiring a client certificate signed by ca. Every session is
// welcomed; clientNames receives the name in each client certificate.
func tlsFake(t *testing.T, ca *tlstest.Authority) (*fakeOrchestrator, chan string) {
	t.Helper()
	names := make(chan string, 10)
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{ca.Server(t).Certificate(t)},
		ClientCAs:    ca.Pool(),
		ClientAuth:   tls.RequireAndVerifyClientCert,
		MinVersion:   tls.VersionTLS12,
	})
	f := startFakeWith(t, func(_ int, st serverStream) error {
		if p, ok := peer.FromContext(st.Context()); ok {
			if info, ok := p.AuthInfo.(credentials.TLSInfo); ok && len(info.State.PeerCertificates) > 0 {
				names <- info.State.PeerCertificates[0].Subject.CommonName
			}
		}
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	}, grpc.Creds(creds))
	return f, names
}

// An executor that trusts the orchestrator's CA and presents a client
// certificate connects over TLS.
func TestTLSConnects(t *testing.T) {
	ca := tlstest.NewAuthority(t, "control plane CA")
	f, names := tlsFake(t, ca)
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	cfg.TLS = &tls.Config{RootCAs: ca.Pool(), Certificates: []tls.Certificate{ca.Client(t, "exec-1").Certificate(t)}, MinVersion: tls.VersionTLS12}
	e := startExecutor(t, newExecutor(t, cfg), logs)
	if h := f.nextHello(t).hello; h.GetExecutorId() != "exec-1" || h.GetInstance() == "" {
		t.Errorf("Hello = %v, want exec-1 with an instance", h)
	}
	select {
	case name := <-names:
		if name != "exec-1" {
			t.Errorf("client certificate names %q, want exec-1", name)
		}
	case <-time.After(waitLimit):
		t.Fatalf("no client certificate seen")
	}
	deadline := time.Now().Add(waitLimit)
	for !e.Connected() {
		if time.Now().After(deadline) {
			t.Fatalf("not connected over TLS within %v; log:\n%s", waitLimit, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An executor that trusts another CA refuses the orchestrator's
// certificate, sends no Hello, and says why at error level, naming the
// TLS flags.
func TestTLSWrongCAFails(t *testing.T) {
	ca := tlstest.NewAuthority(t, "control plane CA")
	f, _ := tlsFake(t, ca)
	other := tlstest.NewAuthority(t, "someone else's CA")
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	cfg.TLS = &tls.Config{RootCAs: other.Pool(), Certificates: []tls.Certificate{ca.Client(t, "exec-1").Certificate(t)}, MinVersion: tls.VersionTLS12}
	e := startExecutor(t, newExecutor(t, cfg), logs)
	deadline := time.Now().Add(waitLimit)
	for !strings.Contains(logs.String(), "level=ERROR") {
		if time.Now().After(deadline) {
			t.Fatalf("no error logged within %v; log:\n%s", waitLimit, logs)
		}
		time.Sleep(5 * time.Millisecond)
	}
	e.stop()
	out := logs.String()
	for _, want := range []string{"TLS handshake with orchestrator failed", "CAs trusted for the orchestrator's certificate", "certificate signed by unknown authority"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q; log:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "level=ERROR"); n != 1 {
		t.Errorf("%d error lines, want 1 (retries are logged at debug level); log:\n%s", n, out)
	}
	if n := f.conns.Load(); n != 0 {
		t.Errorf("the orchestrator served %d sessions, want none", n)
	}
}
