package app

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"

	"github.com/PeladoCollado/imager/internal/tally"
)

// The control plane's exposure: who can reach it, and what proves an
// executor is one of ours. Without a token or client certificates the
// control plane stays on loopback unless -insecure-control-plane says
// otherwise; see docs/SECURITY.md.

// loopbackHost is where the control plane listens when nothing
// authenticates executors.
const loopbackHost = "127.0.0.1"

// bindControlPlaneFlags registers the flags of where the servers listen
// and how the control plane is secured.
func (c *Config) bindControlPlaneFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.HTTPBind, "http-bind", "", "IP or host name (no port) the HTTP server of -listen-port listens on; empty means all interfaces, so that /metrics can be scraped (it serves metrics, health and the -out results, no credentials)")
	fs.StringVar(&c.GRPCBind, "grpc-bind", "", "IP or host name (no port) the control plane of -grpc-port listens on; empty means all interfaces with -auth-token-file or -tls-client-ca, else "+loopbackHost+" only. An address beyond loopback needs one of them, or -insecure-control-plane")
	fs.BoolVar(&c.InsecureControlPlane, "insecure-control-plane", false, "let the control plane listen beyond loopback (all interfaces unless -grpc-bind) with no -auth-token-file or -tls-client-ca: anyone who reaches -grpc-port can join as an executor and receive the target, headers and bodies. Warned of at every start")
	fs.StringVar(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) the control plane serves TLS with, with -tls-key; executors trust its CA with -tls-ca. Without it the control plane is plaintext gRPC")
	fs.StringVar(&c.TLSKey, "tls-key", "", "PEM private key of -tls-cert")
	fs.StringVar(&c.TLSClientCA, "tls-client-ca", "", "PEM certificate authorities executors' client certificates must be signed by; when set, an executor without such a certificate is refused (needs -tls-cert)")
}

// controlPlaneProblems checks the bind and control-plane TLS flags,
// without reading files (loadControlTLS does) or resolving names
// (checkExposure checks the address actually bound).
func (c Config) controlPlaneProblems() []error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if err := checkBindHost(c.HTTPBind, "-listen-port"); err != nil {
		bad("-http-bind %q: %v", c.HTTPBind, err)
	}
	if err := checkBindHost(c.GRPCBind, "-grpc-port"); err != nil {
		bad("-grpc-bind %q: %v", c.GRPCBind, err)
	}
	switch {
	case c.TLSCert != "" && c.TLSKey == "":
		bad("-tls-cert %s needs -tls-key (the certificate's private key)", c.TLSCert)
	case c.TLSKey != "" && c.TLSCert == "":
		bad("-tls-key %s needs -tls-cert (the certificate it belongs to)", c.TLSKey)
	}
	if c.TLSClientCA != "" && c.TLSCert == "" {
		bad("-tls-client-ca %s needs -tls-cert and -tls-key: client certificates are asked for in a TLS handshake", c.TLSClientCA)
	}
	if c.GRPCPort != 0 && c.GRPCBind != "" && !c.InsecureControlPlane && !c.authenticatesExecutors() {
		if loopback, known := hostScope(c.GRPCBind); known && !loopback {
			errs = append(errs, exposedError("-grpc-bind "+c.GRPCBind))
		}
	}
	return errs
}

// exposedError refuses a control plane open beyond loopback to anyone.
func exposedError(where string) error {
	return fmt.Errorf("%s is beyond loopback, and without -auth-token-file or -tls-client-ca anyone who reaches it could join as an executor and receive the target, its headers and bodies: give -auth-token-file (best with -tls-cert and -tls-key), bind a loopback address, or pass -insecure-control-plane", where)
}

// authenticatesExecutors reports whether executors must prove who they
// are: with the shared token or a client certificate.
func (c Config) authenticatesExecutors() bool {
	return c.AuthTokenFile != "" || c.TLSClientCA != ""
}

// grpcHost is the host the control plane listens on ("" for all
// interfaces): -grpc-bind, else all interfaces when executors are
// authenticated or -insecure-control-plane is set, else loopback.
func (c Config) grpcHost() string {
	if c.GRPCBind != "" || c.authenticatesExecutors() || c.InsecureControlPlane {
		return trimBrackets(c.GRPCBind)
	}
	return loopbackHost
}

// httpHost is the host the HTTP server listens on ("" for all
// interfaces).
func (c Config) httpHost() string { return trimBrackets(c.HTTPBind) }

// trimBrackets drops the brackets of an IPv6 address written [::1].
func trimBrackets(h string) string {
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		return h[1 : len(h)-1]
	}
	return h
}

// checkBindHost accepts "", an IP address (IPv6 with or without brackets)
// or a host name; a port is refused, pointing to portFlag.
func checkBindHost(h, portFlag string) error {
	if h == "" {
		return nil
	}
	if strings.Contains(h, "://") {
		return errors.New("takes an IP address or host name, not a URL")
	}
	if ip := trimBrackets(h); net.ParseIP(ip) != nil {
		return nil
	} else if ip != h {
		return errors.New("is not an IPv6 address between brackets")
	}
	if _, _, err := net.SplitHostPort(h); err == nil {
		return fmt.Errorf("takes no port; give the port with %s", portFlag)
	}
	if len(h) > 253 || strings.IndexFunc(h, notHostNameRune) >= 0 {
		return errors.New("is not an IP address or host name")
	}
	return nil
}

// notHostNameRune reports whether r cannot appear in a host name.
func notHostNameRune(r rune) bool {
	return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') && (r < '0' || r > '9') && r != '.' && r != '-'
}

// hostScope says whether h is a loopback host; known is false for a
// host name other than localhost, which only resolving can tell.
func hostScope(h string) (loopback, known bool) {
	h = trimBrackets(h)
	if strings.EqualFold(h, "localhost") {
		return true, true
	}
	if ip := net.ParseIP(h); ip != nil {
		return ip.IsLoopback(), true
	}
	return false, h == ""
}

// prepareControlPlane refuses a run no executor could join (no gRPC port
// and none in this process) and loads the control plane's TLS
// configuration (nil for plaintext).
func prepareControlPlane(cfg Config, opts RunOptions) (*tls.Config, error) {
	if cfg.GRPCPort == 0 && opts.GRPCListener == nil && opts.LocalExecutors == 0 {
		return nil, &UsageError{errors.New("-grpc-port=0 leaves executors no way to connect, and this orchestrator runs none of its own: give -grpc-port a port (default 8100)")}
	}
	tc, err := loadControlTLS(cfg)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return tc, nil
}

// loadControlTLS reads -tls-cert, -tls-key and -tls-client-ca into the
// control plane's TLS configuration, or returns nil without -tls-cert.
// Every problem names its flag and file.
func loadControlTLS(cfg Config) (*tls.Config, error) {
	if cfg.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("-tls-cert %s, -tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if cfg.TLSClientCA != "" {
		b, err := os.ReadFile(cfg.TLSClientCA)
		if err != nil {
			return nil, fmt.Errorf("-tls-client-ca: %w", err)
		}
		pool, err := tally.ParseCertPool(b)
		if err != nil {
			return nil, fmt.Errorf("-tls-client-ca %s: %w", cfg.TLSClientCA, err)
		}
		tc.ClientCAs = pool
		tc.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return tc, nil
}

// checkExposure checks the address the control plane actually listens on
// (a host name resolved, or a listener handed in) against the flags, and
// logs how the control plane is exposed and secured, warning of what is
// unsafe.
func checkExposure(cfg Config, lis net.Listener, tlsOn bool, log *slog.Logger) error {
	addr := lis.Addr().String()
	loopback := false
	if ta, ok := lis.Addr().(*net.TCPAddr); ok {
		loopback = ta.IP.IsLoopback()
	}
	authed := cfg.authenticatesExecutors()
	if !loopback && !authed && !cfg.InsecureControlPlane {
		return exposedError("the control plane address " + addr)
	}
	attrs := []any{"addr", addr, "auth_token", cfg.AuthTokenFile != "", "tls", tlsOn, "client_certificates", cfg.TLSClientCA != ""}
	if loopback {
		attrs = append(attrs, "reach", "loopback only: executors on other machines cannot connect (give -auth-token-file, best with -tls-cert and -tls-key, to listen on all interfaces)")
	}
	log.Info("control plane listening", attrs...)
	switch {
	case cfg.InsecureControlPlane && !authed:
		log.Warn("control plane open without authentication (-insecure-control-plane): anyone who reaches it can join as an executor and receive the target, its headers and bodies", "addr", addr)
	case cfg.InsecureControlPlane:
		log.Warn("-insecure-control-plane is set but has no effect: executors are authenticated", "addr", addr)
	}
	if cfg.AuthTokenFile != "" && !tlsOn && !loopback {
		log.Warn("the auth token crosses the network in plaintext; serve the control plane over TLS with -tls-cert and -tls-key", "addr", addr)
	}
	return nil
}
