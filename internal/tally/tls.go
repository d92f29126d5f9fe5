package tally

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// TLSConfig is how the engine connects to an https target.
type TLSConfig struct {
	// InsecureSkipVerify accepts any certificate the target presents.
	InsecureSkipVerify bool
	// CAPEM holds the PEM certificates of the authorities that sign the
	// target's certificate; empty means the system roots.
	CAPEM []byte
	// ClientCertPEM and ClientKeyPEM are the PEM certificate and key the
	// client presents to the target; both or neither.
	ClientCertPEM, ClientKeyPEM []byte
}

// IsZero reports whether t asks for nothing beyond the defaults: t is nil
// or every field is empty.
func (t *TLSConfig) IsZero() bool {
	return t == nil || (!t.InsecureSkipVerify && len(t.CAPEM) == 0 && len(t.ClientCertPEM) == 0 && len(t.ClientKeyPEM) == 0)
}

// Build returns the crypto/tls client configuration t describes. It parses
// every certificate and the key, so that a bad PEM is reported here rather
// than at the first handshake: CAPEM must hold at least one CERTIFICATE
// block and nothing but CERTIFICATE blocks, and ClientCertPEM and
// ClientKeyPEM must be a matching pair, both or neither. A nil or zero t
// gives the defaults: the system roots, verified.
func (t *TLSConfig) Build() (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if t == nil {
		return c, nil
	}
	c.InsecureSkipVerify = t.InsecureSkipVerify
	if len(t.CAPEM) > 0 {
		pool, err := ParseCertPool(t.CAPEM)
		if err != nil {
			return nil, fmt.Errorf("CA certificates: %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case len(t.ClientCertPEM) == 0 && len(t.ClientKeyPEM) == 0:
	case len(t.ClientCertPEM) == 0:
		return nil, errors.New("client key without a client certificate")
	case len(t.ClientKeyPEM) == 0:
		return nil, errors.New("client certificate without a client key")
	default:
		pair, err := tls.X509KeyPair(t.ClientCertPEM, t.ClientKeyPEM)
		if err != nil {
			return nil, fmt.Errorf("client certificate and key: %w", err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// ParseCertPool parses PEM certificates into a pool. Unlike
// x509.CertPool.AppendCertsFromPEM it skips nothing: a block that is not a
// CERTIFICATE or does not parse is an error, and so is finding no block.
func ParseCertPool(pemBytes []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	rest := pemBytes
	n := 0
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		n++
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("PEM block %d is a %q, want CERTIFICATE", n, block.Type)
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		pool.AddCert(cert)
	}
	if n == 0 {
		return nil, errors.New("no PEM certificate found")
	}
	return pool, nil
}
