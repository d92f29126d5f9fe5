package executor

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNewValidates(t *testing.T) {
	valid := func() Config {
		return Config{Orchestrator: "127.0.0.1:8100", ID: "e1", Capacity: 1, MaxInFlight: 10}
	}
	tests := []struct {
		name    string
		mutate  func(*Config)
		wantErr string // "" means success
	}{
		{"valid", func(*Config) {}, ""},
		{"zero max in-flight means default", func(c *Config) { c.MaxInFlight = 0 }, ""},
		{"no orchestrator", func(c *Config) { c.Orchestrator = "" }, "Orchestrator"},
		{"no id", func(c *Config) { c.ID = "" }, "ID"},
		{"zero capacity", func(c *Config) { c.Capacity = 0 }, "Capacity"},
		{"negative max in-flight", func(c *Config) { c.MaxInFlight = -1 }, "MaxInFlight"},
		{"negative connections", func(c *Config) { c.Connections = -1 }, "Connections"},
		{"negative backoff", func(c *Config) { c.MinBackoff = -time.Second }, "backoff"},
		{"min above max backoff", func(c *Config) { c.MinBackoff, c.MaxBackoff = time.Minute, time.Second }, "backoff"},
		{"malformed address", func(c *Config) { c.Orchestrator = "dns://a/b/c%zz" }, "Orchestrator"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid()
			tt.mutate(&cfg)
			e, err := New(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New() error = %v, want nil", err)
				}
				if e.Connected() {
					t.Errorf("Connected() = true before Run, want false")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %v, want one mentioning %q", err, tt.wantErr)
			}
			var ce *ConfigError
			if tt.wantErr != "backoff" && (!errors.As(err, &ce) || ce.Field != tt.wantErr) {
				t.Errorf("New() error = %#v, want a *ConfigError for field %s", err, tt.wantErr)
			}
		})
	}
}

func TestJitterStaysInRange(t *testing.T) {
	for _, d := range []time.Duration{0, 1, 2, time.Millisecond, 10 * time.Second} {
		for range 200 {
			got := jitter(d)
			if got < d/2 || got > d {
				t.Fatalf("jitter(%v) = %v, want within [%v, %v]", d, got, d/2, d)
			}
		}
	}
}

// The defaults bring executors back quickly after an orchestrator restart:
// the first retry within 100-500 ms, and no gap above 2 s between retries.
func TestDefaultBackoffIsFast(t *testing.T) {
	e, err := New(Config{Orchestrator: "127.0.0.1:8100", ID: "e1", Capacity: 1})
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	if lo, hi := e.cfg.MinBackoff/2, e.cfg.MinBackoff; lo < 100*time.Millisecond || hi > 500*time.Millisecond {
		t.Errorf("first retry after %v-%v, want within 100ms-500ms", lo, hi)
	}
	if e.cfg.MaxBackoff > 2*time.Second {
		t.Errorf("max backoff = %v, want at most 2s", e.cfg.MaxBackoff)
	}
}
