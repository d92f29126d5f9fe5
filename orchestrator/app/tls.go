package app

import (
	"errors"
	"fmt"
	"os"

	"github.com/PeladoCollado/imager/internal/tally"
)

// tlsProblems checks the TLS flags that go together, without reading the
// files (loadTLS does that when the run starts).
func (c Config) tlsProblems() []error {
	switch {
	case c.ClientCert != "" && c.ClientKey == "":
		return []error{fmt.Errorf("-client-cert %s needs -client-key (the certificate's private key)", c.ClientCert)}
	case c.ClientKey != "" && c.ClientCert == "":
		return []error{fmt.Errorf("-client-key %s needs -client-cert (the certificate it belongs to)", c.ClientKey)}
	}
	return nil
}

// loadTLS reads -ca-file, -client-cert and -client-key and checks that
// they parse, so that a bad file fails the start rather than every job.
// It returns the configuration every job carries to the executors, or nil
// when no TLS flag is set. Every problem is reported, each naming its flag
// and file.
func loadTLS(cfg Config) (*tally.TLSConfig, error) {
	if errs := cfg.tlsProblems(); len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	tc := &tally.TLSConfig{InsecureSkipVerify: cfg.InsecureSkipVerify}
	var errs []error
	read := func(flag, path string) []byte {
		if path == "" {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", flag, err))
			return nil
		}
		if len(b) == 0 {
			errs = append(errs, fmt.Errorf("%s %s: the file is empty", flag, path))
		}
		return b
	}
	tc.CAPEM = read("-ca-file", cfg.CAFile)
	tc.ClientCertPEM = read("-client-cert", cfg.ClientCert)
	tc.ClientKeyPEM = read("-client-key", cfg.ClientKey)
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if len(tc.CAPEM) > 0 {
		if _, err := tally.ParseCertPool(tc.CAPEM); err != nil {
			errs = append(errs, fmt.Errorf("-ca-file %s: %w", cfg.CAFile, err))
		}
	}
	if len(tc.ClientCertPEM) > 0 {
		pair := tally.TLSConfig{ClientCertPEM: tc.ClientCertPEM, ClientKeyPEM: tc.ClientKeyPEM}
		if _, err := pair.Build(); err != nil {
			errs = append(errs, fmt.Errorf("-client-cert %s, -client-key %s: %w", cfg.ClientCert, cfg.ClientKey, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if !tc.InsecureSkipVerify && tc.CAPEM == nil && tc.ClientCertPEM == nil {
		return nil, nil
	}
	return tc, nil
}
