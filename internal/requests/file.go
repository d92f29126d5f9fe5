// Package requests holds the built-in request sources of the orchestrator:
// FileSource replays newline-delimited JSON request records from a file,
// RandomSumSource produces GET requests with two random integer operands for
// the sumservice demo target, and AdHocSource repeats one request given by a
// URL, method, headers and body. All implement types.RequestSource.
//
// Like every types.RequestSource, the sources here are meant to be driven by
// one goroutine at a time; they hold no locks.
package requests

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/PeladoCollado/imager/types"
)

// MaxLineBytes is the longest record line, in bytes and excluding the line
// ending, that NewFileSource accepts.
const MaxLineBytes = 16 << 20

// FileSource replays the request records of a newline-delimited JSON file:
// one types.RequestSpec object per line. Next yields the records in file
// order and starts over after the last one.
//
// The whole file is read and validated by NewFileSource and the records are
// then kept in memory, so Next never touches the file system and a broken
// file is reported at start-up rather than in the middle of a test. Request
// files are expected to be small compared with the orchestrator's memory.
type FileSource struct {
	records []types.RequestSpec
	pos     int
}

var _ types.RequestSource = (*FileSource)(nil)

// NewFileSource reads and validates the request file at path. Blank and
// whitespace-only lines are skipped. Every other line must be one JSON object
// with the fields of types.RequestSpec and no others, that can be sent
// exactly as written (types.RequestSpec.Validate: method and path required,
// nothing rewritten, the method keeps its case), with valid response checks
// under "expect" (docs/CHECKS.md). The first bad line is reported as
// "<path>:<line>: <reason>", every problem of its expect object on a line of
// its own with that prefix. A file without any record is an error too.
func NewFileSource(path string) (*FileSource, error) {
	return newFileSource(path, MaxLineBytes)
}

// newFileSource is NewFileSource with an adjustable line limit, so tests can
// exercise the limit without writing huge files.
func newFileSource(path string, maxLine int) (*FileSource, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open request file: %w", err)
	}
	defer f.Close()
	records, err := parseRecords(path, f, maxLine)
	if err != nil {
		return nil, err
	}
	return &FileSource{records: records}, nil
}

// Next returns the next record, wrapping around to the first one after the
// last. The returned spec shares its Headers map with the source: treat it as
// read-only. Next never fails.
func (s *FileSource) Next() (types.RequestSpec, error) {
	spec := s.records[s.pos]
	s.pos++
	if s.pos == len(s.records) {
		s.pos = 0
	}
	return spec, nil
}

// Reset makes the next call to Next return the first record again.
func (s *FileSource) Reset() error {
	s.pos = 0
	return nil
}

// Len reports how many records the file holds.
func (s *FileSource) Len() int {
	return len(s.records)
}

// parseRecords reads every line of r, validating and collecting the records.
// name is used as the file name in error messages.
func parseRecords(name string, r io.Reader, maxLine int) ([]types.RequestSpec, error) {
	sc := bufio.NewScanner(r)
	// Room for the longest allowed line plus "\r\n", so a line is rejected
	// for its content and never for its line ending.
	bufMax := maxLine + 2
	sc.Buffer(make([]byte, 0, min(64<<10, bufMax)), bufMax)
	var records []types.RequestSpec
	line := 0
	for sc.Scan() {
		line++
		raw := sc.Bytes()
		if len(raw) > maxLine {
			return nil, lineTooLong(name, line, maxLine)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			continue
		}
		spec, err := parseRecord(raw)
		if err != nil {
			return nil, atLine(name, line, err)
		}
		records = append(records, spec)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, lineTooLong(name, line+1, maxLine)
		}
		return nil, fmt.Errorf("read request file %s: %w", name, err)
	}
	if len(records) == 0 {
		return nil, fmt.Errorf("%s: no requests: the file holds no request records", name)
	}
	return records, nil
}

// atLine prefixes err with "name:line: ", or each of its problems when it
// joins several (the problems of an expect object), so that every line of
// the message says where it comes from.
func atLine(name string, line int, err error) error {
	j, ok := err.(interface{ Unwrap() []error })
	if !ok {
		return fmt.Errorf("%s:%d: %w", name, line, err)
	}
	errs := j.Unwrap()
	out := make([]error, len(errs))
	for i, e := range errs {
		out[i] = atLine(name, line, e)
	}
	return errors.Join(out...)
}

func lineTooLong(name string, line, maxLine int) error {
	return fmt.Errorf("%s:%d: line longer than the limit of %d bytes", name, line, maxLine)
}

// parseRecord decodes and validates one non-blank line.
func parseRecord(raw []byte) (types.RequestSpec, error) {
	var spec types.RequestSpec
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&spec); err != nil {
		return types.RequestSpec{}, describeJSONError(err)
	}
	// Decode stops after the first value; anything but white space after
	// it means the line holds more than one record or trailing garbage.
	if off := dec.InputOffset(); len(bytes.TrimSpace(raw[off:])) != 0 {
		return types.RequestSpec{}, fmt.Errorf("unexpected data after the JSON object at byte %d", off+1)
	}
	if err := spec.Validate(); err != nil {
		return types.RequestSpec{}, err
	}
	return spec, nil
}

// describeJSONError turns decoder errors into messages that say what is
// wrong with the line, keeping the original error wrapped.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("invalid JSON at byte %d: %w", syntax.Offset, err)
	case errors.As(err, &typeErr):
		if typeErr.Field == "" {
			return fmt.Errorf("a record must be a JSON object, got %s: %w", typeErr.Value, err)
		}
		return fmt.Errorf("field %q has the wrong type (got %s): %w", typeErr.Field, typeErr.Value, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("invalid JSON: the object is cut short: %w", err)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json has no typed error for unknown fields; its
		// message already names the field, e.g. json: unknown field "x".
		field := strings.TrimPrefix(err.Error(), "json: unknown field ")
		return fmt.Errorf("unknown field %s (allowed: method, path, queryString, headers, body, name, expect): %w", field, err)
	case strings.HasPrefix(err.Error(), "expect"):
		// types.Expect reads the "expect" object itself; its errors
		// name the key at fault ("expect.status[1]: ...").
		return err
	default:
		return fmt.Errorf("invalid record: %w", err)
	}
}
