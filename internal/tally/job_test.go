package tally

import (
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
)

func TestTLSConfigBuild(t *testing.T) {
	ca := tlstest.NewAuthority(t, "ca")
	pair := ca.Client(t, "c")
	both := append(append([]byte(nil), ca.CertPEM...), tlstest.SelfSigned(t).CertPEM...)
	c, err := (&TLSConfig{CAPEM: both, ClientCertPEM: pair.CertPEM, ClientKeyPEM: pair.KeyPEM}).Build()
	if err != nil {
		t.Fatal(err)
	}
	if c.RootCAs == nil || len(c.Certificates) != 1 || c.InsecureSkipVerify {
		t.Errorf("Build() = roots %v, %d certificates, insecure %v; want roots, 1, false", c.RootCAs != nil, len(c.Certificates), c.InsecureSkipVerify)
	}
	c, err = (*TLSConfig)(nil).Build()
	if err != nil || c.RootCAs != nil || len(c.Certificates) != 0 {
		t.Errorf("nil Build() = %+v, %v; want the defaults", c, err)
	}
	broken := strings.Replace(string(ca.CertPEM), "\n", "\nAAAA", 2)
	if _, err := (&TLSConfig{CAPEM: []byte(broken)}).Build(); err == nil {
		t.Error("Build with a corrupted certificate: want an error")
	}
}
