package cli

import (
	"bytes"
	"encoding/json"
	"flag"
	"io"
	"log/slog"
	"strings"
	"testing"
)

func TestBindLogFlags(t *testing.T) {
	var format, level string
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	BindLogFlags(fs, &format, &level)
	if format != "text" || level != "info" {
		t.Fatalf("defaults: format %q level %q, want text and info", format, level)
	}
	for name, usage := range map[string]string{"log-format": "log format: text or json", "log-level": "log level: debug, info, warn or error"} {
		f := fs.Lookup(name)
		if f == nil || f.Usage != usage {
			t.Errorf("-%s: %+v, want usage %q", name, f, usage)
		}
	}
	if err := fs.Parse([]string{"-log-format=json", "-log-level=warn"}); err != nil {
		t.Fatal(err)
	}
	if format != "json" || level != "warn" {
		t.Errorf("parsed: format %q level %q", format, level)
	}
}

func TestCheckLogFlags(t *testing.T) {
	tests := []struct {
		format, level string
		want          []string // substrings of the error; none: valid
	}{
		{"text", "info", nil},
		{"json", "DEBUG", nil},
		{"text", "Warn", nil},
		{"json", "error", nil},
		{"xml", "info", []string{`-log-format "xml"`, "text or json"}},
		{"", "info", []string{"-log-format"}},
		{"text", "loud", []string{`-log-level: "loud"`, "debug, info, warn or error"}},
		{"text", "", []string{"-log-level"}},
		{"xml", "loud", []string{"-log-format", "-log-level"}},
	}
	for _, tt := range tests {
		err := CheckLogFlags(tt.format, tt.level)
		if tt.want == nil {
			if err != nil {
				t.Errorf("CheckLogFlags(%q, %q) = %v, want nil", tt.format, tt.level, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("CheckLogFlags(%q, %q) = nil, want an error", tt.format, tt.level)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("CheckLogFlags(%q, %q) = %q, want it to contain %q", tt.format, tt.level, err, w)
			}
		}
	}
}

func TestNewLoggerLevelAndFormat(t *testing.T) {
	var b bytes.Buffer
	log, err := NewLogger(&b, "json", "warn")
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown", "k", 1)
	var line map[string]any
	if err := json.Unmarshal(b.Bytes(), &line); err != nil {
		t.Fatalf("want one JSON line, got %q: %v", b.String(), err)
	}
	if line["msg"] != "shown" || line["level"] != "WARN" {
		t.Errorf("logged %v", line)
	}

	b.Reset()
	log, err = NewLogger(&b, "", "debug")
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("dbg")
	if !strings.HasPrefix(b.String(), "time=") || !strings.Contains(b.String(), "level=DEBUG msg=dbg") {
		t.Errorf("text handler at debug wrote %q", b.String())
	}
}

func TestNewLoggerRefusesBadValues(t *testing.T) {
	if _, err := NewLogger(io.Discard, "xml", "info"); err == nil || !strings.Contains(err.Error(), "-log-format") {
		t.Errorf("bad format: %v, want an error naming -log-format", err)
	}
	if _, err := NewLogger(io.Discard, "text", "loud"); err == nil || !strings.Contains(err.Error(), "-log-level") {
		t.Errorf("bad level: %v, want an error naming -log-level", err)
	}
}

func TestParseLevel(t *testing.T) {
	for s, want := range map[string]slog.Level{"debug": slog.LevelDebug, "INFO": slog.LevelInfo, "warn": slog.LevelWarn, "Error": slog.LevelError} {
		if got, err := ParseLevel(s); err != nil || got != want {
			t.Errorf("ParseLevel(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestBindVersionFlag(t *testing.T) {
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	v := BindVersionFlag(fs)
	if *v {
		t.Fatal("-version defaults to true")
	}
	if err := fs.Parse([]string{"-version"}); err != nil {
		t.Fatal(err)
	}
	if !*v {
		t.Error("-version did not set the flag")
	}
}
