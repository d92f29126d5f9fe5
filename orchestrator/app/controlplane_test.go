package app

import (
	"io"
	"strings"
	"testing"
)

func TestControlPlaneFlagsValid(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		grpcHost string
		httpHost string
	}{
		{"no token: loopback", nil, "127.0.0.1", ""},
		{"token: all interfaces", []string{"-auth-token-file=t"}, "", ""},
		{"client certificates: all interfaces", []string{"-tls-cert=c", "-tls-key=k", "-tls-client-ca=ca"}, "", ""},
		{"insecure: all interfaces", []string{"-insecure-control-plane"}, "", ""},
		{"loopback bind", []string{"-grpc-bind=127.0.0.2", "-http-bind=127.0.0.1"}, "127.0.0.2", "127.0.0.1"},
		{"localhost", []string{"-grpc-bind=localhost"}, "localhost", ""},
		{"ipv6 loopback in brackets", []string{"-grpc-bind=[::1]", "-http-bind=::1"}, "::1", "::1"},
		{"token and an address", []string{"-auth-token-file=t", "-grpc-bind=10.0.0.5"}, "10.0.0.5", ""},
		{"insecure and all interfaces", []string{"-insecure-control-plane", "-grpc-bind=0.0.0.0"}, "0.0.0.0", ""},
		{"a host name is resolved at start", []string{"-grpc-bind=orchestrator.example"}, "orchestrator.example", ""},
		{"no grpc port", []string{"-grpc-port=0", "-grpc-bind=0.0.0.0"}, "0.0.0.0", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse("orchestrator", append(tt.args, podArgs...), io.Discard)
			if err != nil {
				t.Fatalf("parse(%q) = %v, want nil", tt.args, err)
			}
			if got := c.grpcHost(); got != tt.grpcHost {
				t.Errorf("gRPC host %q, want %q", got, tt.grpcHost)
			}
			if got := c.httpHost(); got != tt.httpHost {
				t.Errorf("HTTP host %q, want %q", got, tt.httpHost)
			}
		})
	}
}

func TestControlPlaneFlagsErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want []string // substrings of the error
	}{
		{"all interfaces without a token", []string{"-grpc-bind=0.0.0.0"},
			[]string{"-grpc-bind 0.0.0.0", "-auth-token-file", "-insecure-control-plane"}},
		{"an outside address without a token", []string{"-grpc-bind=192.0.2.7"}, []string{"-grpc-bind 192.0.2.7", "-auth-token-file"}},
		{"ipv6 any without a token", []string{"-grpc-bind=::"}, []string{"-grpc-bind ::", "-auth-token-file"}},
		{"grpc bind with a port", []string{"-grpc-bind=127.0.0.1:8100"}, []string{"-grpc-bind", "no port", "-grpc-port"}},
		{"http bind with a port", []string{"-http-bind=[::1]:80"}, []string{"-http-bind", "no port", "-listen-port"}},
		{"bind as a URL", []string{"-http-bind=http://0.0.0.0"}, []string{"-http-bind", "not a URL"}},
		{"bind with a space", []string{"-http-bind=a b"}, []string{"-http-bind", "not an IP address or host name"}},
		{"brackets around a name", []string{"-grpc-bind=[localhost]"}, []string{"-grpc-bind", "brackets"}},
		{"cert without key", []string{"-tls-cert=c"}, []string{"-tls-cert c", "-tls-key"}},
		{"key without cert", []string{"-tls-key=k"}, []string{"-tls-key k", "-tls-cert"}},
		{"client CA without cert", []string{"-tls-client-ca=ca", "-auth-token-file=t"}, []string{"-tls-client-ca ca", "-tls-cert"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse("orchestrator", append(tt.args, podArgs...), io.Discard)
			if err == nil {
				t.Fatalf("parse(%q) = nil, want an error containing %q", tt.args, tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("parse(%q) = %q, want it to contain %q", tt.args, err, w)
				}
			}
		})
	}
}

// A password in -target-url never shows in an error.
func TestTargetURLErrorsRedactPassword(t *testing.T) {
	for _, u := range []string{"http://user:hunter2@127.0.0.1/#frag", "ftp://user:hunter2@127.0.0.1/", "http://user:hunter2@127.0.0.1:port/"} {
		_, err := parse("orchestrator", []string{"-target-mode=url", "-target-url=" + u, "-request-source-type=random-sum"}, io.Discard)
		if err == nil {
			t.Fatalf("-target-url=%s accepted, want an error", u)
		}
		if strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "-target-url") {
			t.Errorf("-target-url=%s: error %q shows the password or does not name the flag", u, err)
		}
	}
}
