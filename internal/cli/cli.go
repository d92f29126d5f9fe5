// Package cli holds what imager's commands share on their command lines:
// the -log-format and -log-level flags and the logger they describe, and
// the -version flag. The orchestrator's flag layer (orchestrator/app) and
// every cmd/* main use it, so that the flags have one spelling, default,
// help line and error message everywhere.
package cli

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// The log flags' names and defaults.
const (
	logFormatFlag    = "log-format"
	logLevelFlag     = "log-level"
	defaultLogFormat = "text"
	defaultLogLevel  = "info"
)

// BindLogFlags registers -log-format and -log-level on fs, writing into
// format and level.
func BindLogFlags(fs *flag.FlagSet, format, level *string) {
	fs.StringVar(format, logFormatFlag, defaultLogFormat, "log format: text or json")
	fs.StringVar(level, logLevelFlag, defaultLogLevel, "log level: debug, info, warn or error")
}

// CheckLogFlags reports every problem with the values of -log-format and
// -log-level, each naming its flag; nil when both are valid.
func CheckLogFlags(format, level string) error {
	var errs []error
	if format != "text" && format != "json" {
		errs = append(errs, formatError(format))
	}
	if _, err := ParseLevel(level); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// NewLogger returns a logger writing to w in format ("text", or "" for
// text, or "json") at level (see ParseLevel). A bad value is refused
// with an error naming its flag.
func NewLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	l, err := ParseLevel(level)
	if err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	default:
		return nil, formatError(format)
	}
}

// ParseLevel parses a -log-level value: debug, info, warn or error, in
// any case (slog's offsets such as "info+2" are accepted too). The error
// names the flag.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(strings.ToUpper(s))); err != nil {
		return 0, fmt.Errorf("-%s: %q: want debug, info, warn or error", logLevelFlag, s)
	}
	return l, nil
}

// formatError is the error for a bad -log-format value.
func formatError(format string) error {
	return fmt.Errorf("-%s %q: want text or json", logFormatFlag, format)
}

// BindVersionFlag registers -version on fs and returns its value.
func BindVersionFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("version", false, "print the version (the same in every imager binary) and exit")
}
