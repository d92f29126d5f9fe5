package engine

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
)

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

// isZero reports whether t asks for nothing beyond the defaults.
func (t *TLSConfig) isZero() bool {
	return t == nil || (!t.InsecureSkipVerify && len(t.CAPEM) == 0 && len(t.ClientCertPEM) == 0 && len(t.ClientKeyPEM) == 0)
}

// tlsKey identifies a TLSConfig by its contents.
type tlsKey [sha256.Size]byte

// key hashes t's contents, each part length-prefixed so that no two
// different configurations share a key.
func (t *TLSConfig) key() tlsKey {
	h := sha256.New()
	var flag [1]byte
	if t.InsecureSkipVerify {
		flag[0] = 1
	}
	h.Write(flag[:])
	for _, part := range [][]byte{t.CAPEM, t.ClientCertPEM, t.ClientKeyPEM} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	var k tlsKey
	h.Sum(k[:0])
	return k
}

// tlsClient is the Client for one TLS configuration, or why there is none.
type tlsClient struct {
	client *Client
	err    error
}

// tlsClients holds a Runner's Clients for the TLS configurations its jobs
// carried, created the first time a job with that configuration runs.
type tlsClients struct {
	mu    sync.Mutex
	byKey map[tlsKey]tlsClient
}

// get returns the Client for t, building it on first use. A configuration
// that does not build is remembered too, so that it is parsed only once.
func (c *tlsClients) get(t *TLSConfig) (*Client, error) {
	k := t.key()
	c.mu.Lock()
	defer c.mu.Unlock()
	if tc, ok := c.byKey[k]; ok {
		return tc.client, tc.err
	}
	var tc tlsClient
	cfg, err := t.Build()
	if err != nil {
		tc.err = fmt.Errorf("TLS configuration: %w", err)
	} else {
		tc.client = NewClient(ClientConfig{TLSConfig: cfg})
	}
	if c.byKey == nil {
		c.byKey = make(map[tlsKey]tlsClient)
	}
	c.byKey[k] = tc
	return tc.client, tc.err
}

// all returns every Client built so far.
func (c *tlsClients) all() []*Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Client, 0, len(c.byKey))
	for _, tc := range c.byKey {
		if tc.client != nil {
			out = append(out, tc.client)
		}
	}
	return out
}

// clientFor returns the Client a job with TLS configuration t sends with:
// the Runner's own Client when t asks for nothing special, else the one
// kept for t's contents.
func (r *Runner) clientFor(t *TLSConfig) (*Client, error) {
	if t.isZero() {
		return r.client, nil
	}
	return r.tls.get(t)
}

// clients returns the Runner's own Client and every TLS Client it built.
func (r *Runner) clients() []*Client {
	return append([]*Client{r.client}, r.tls.all()...)
}

// CloseConnections closes every open connection of every Client the Runner
// sends with, idle or busy: requests in flight fail at once, later
// requests dial anew.
func (r *Runner) CloseConnections() {
	for _, c := range r.clients() {
		c.CloseConnections()
	}
}

// OpenConnections returns how many connections the Runner's Clients hold
// open together.
func (r *Runner) OpenConnections() int {
	n := 0
	for _, c := range r.clients() {
		n += c.OpenConnections()
	}
	return n
}
