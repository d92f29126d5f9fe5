package main

import (
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/PeladoCollado/imager/internal/tally"
)

// tlsOptions are the control-plane TLS flags.
type tlsOptions struct {
	ca         string // -tls-ca
	cert       string // -tls-cert
	key        string // -tls-key
	serverName string // -tls-server-name
}

// enabled reports whether the flags turn TLS on: any of -tls-ca,
// -tls-cert and -tls-key does.
func (t tlsOptions) enabled() bool {
	return t.ca != "" || t.cert != "" || t.key != ""
}

// check reports flag combinations that cannot work.
func (t tlsOptions) check() error {
	switch {
	case (t.cert == "") != (t.key == ""):
		return fmt.Errorf("%w: -tls-cert and -tls-key go together; give both or neither", errUsage)
	case t.serverName != "" && !t.enabled():
		return fmt.Errorf("%w: -tls-server-name needs TLS: give -tls-ca (or -tls-cert and -tls-key)", errUsage)
	}
	return nil
}

// config reads the files the flags name and returns the client TLS
// configuration for the control plane, or nil when TLS is off. Errors name
// the flag and the file.
func (t tlsOptions) config() (*tls.Config, error) {
	if !t.enabled() {
		return nil, nil
	}
	c := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.serverName}
	if t.ca != "" {
		data, err := os.ReadFile(t.ca)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca: %w", err)
		}
		pool, err := tally.ParseCertPool(data)
		if err != nil {
			return nil, fmt.Errorf("-tls-ca %s: %w", t.ca, err)
		}
		c.RootCAs = pool
	}
	if t.cert != "" {
		pair, err := tls.LoadX509KeyPair(t.cert, t.key)
		if err != nil {
			return nil, fmt.Errorf("-tls-cert %s and -tls-key %s: %w", t.cert, t.key, err)
		}
		c.Certificates = []tls.Certificate{pair}
	}
	return c, nil
}

// isLoopbackTarget reports whether the gRPC target addr is on this machine:
// a loopback IP, localhost, or a Unix socket. Anything it cannot read is
// taken as remote.
func isLoopbackTarget(addr string) bool {
	if strings.HasPrefix(addr, "unix:") || strings.HasPrefix(addr, "unix-abstract:") {
		return true
	}
	// Strip a scheme and authority: "dns:///host:port", "passthrough:///host:port".
	if i := strings.Index(addr, ":///"); i >= 0 {
		addr = addr[i+len(":///"):]
	} else if i := strings.Index(addr, "://"); i >= 0 {
		rest := addr[i+len("://"):]
		if j := strings.Index(rest, "/"); j >= 0 {
			addr = rest[j+1:]
		} else {
			addr = rest
		}
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
