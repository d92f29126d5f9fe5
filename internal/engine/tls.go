package engine

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync"

	"github.com/PeladoCollado/imager/internal/tally"
)

// tlsKey identifies a TLSConfig by its contents.
type tlsKey [sha256.Size]byte

// keyOf hashes t's contents, each part length-prefixed so that no two
// different configurations share a key.
func keyOf(t *tally.TLSConfig) tlsKey {
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
func (c *tlsClients) get(t *tally.TLSConfig) (*Client, error) {
	k := keyOf(t)
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
func (r *Runner) clientFor(t *tally.TLSConfig) (*Client, error) {
	if t.IsZero() {
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
