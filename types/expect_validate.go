package types

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// MaxExpectChecks is the most checks one Expect may hold: the status
// check, one per header, per body_contains text and per JSON path, and
// one each for body_regex, max_body_bytes and max_latency.
const MaxExpectChecks = 64

// Status codes a status check may name.
const (
	minStatus = 100
	maxStatus = 599
)

// Validate reports every problem of e at once (errors.Join), each
// naming its key: status codes outside 100-599 or ranges whose low end
// is above the high end, empty body_contains texts, a body_regex that is
// not RE2, JSON paths that do not parse or name a value twice, expected
// JSON values that are not JSON, header names that are not HTTP tokens
// or name a header twice, header values with control characters,
// negative max_body_bytes or max_latency, more than MaxExpectChecks
// checks, and a name CheckName refuses. The messages carry no location:
// callers add the file and line or the flag.
func (e Expect) Validate() error {
	var errs []error
	if err := CheckName(e.Name); err != nil {
		errs = append(errs, fmt.Errorf("expect.name: %w", err))
	}
	for i, r := range e.Status {
		if err := checkStatusRange(r); err != nil {
			errs = append(errs, fmt.Errorf("expect.status[%d]: %w", i, err))
		}
	}
	for i, text := range e.BodyContains {
		if text == "" {
			errs = append(errs, fmt.Errorf("expect.body_contains[%d]: the text is empty, which every body contains", i))
		}
	}
	if e.BodyRegex != "" {
		if _, err := regexp.Compile(e.BodyRegex); err != nil {
			errs = append(errs, fmt.Errorf("expect.body_regex: %q is not an RE2 regular expression: %w", clip(e.BodyRegex), err))
		}
	}
	errs = append(errs, validateJSONChecks(e.JSON)...)
	errs = append(errs, validateHeaderChecks(e.Header)...)
	if e.MaxBodyBytes < 0 {
		errs = append(errs, fmt.Errorf("expect.max_body_bytes: %d is negative", e.MaxBodyBytes))
	}
	if e.MaxLatency < 0 {
		errs = append(errs, fmt.Errorf("expect.max_latency: %v is negative", e.MaxLatency))
	}
	if n := e.CheckCount(); n > MaxExpectChecks {
		errs = append(errs, fmt.Errorf("expect: %d checks, more than the %d allowed", n, MaxExpectChecks))
	}
	return errors.Join(errs...)
}

// CheckCount returns how many checks e holds (see MaxExpectChecks).
func (e Expect) CheckCount() int {
	n := len(e.BodyContains) + len(e.JSON) + len(e.Header)
	for _, on := range []bool{len(e.Status) > 0, e.BodyRegex != "", e.MaxBodyBytes > 0, e.MaxLatency > 0} {
		if on {
			n++
		}
	}
	return n
}

// checkStatusRange refuses codes outside 100-599 and reversed ranges.
func checkStatusRange(r StatusRange) error {
	switch {
	case r.Lo < minStatus || r.Lo > maxStatus || r.Hi < minStatus || r.Hi > maxStatus:
		return fmt.Errorf("%q: status codes run from %d to %d", r.String(), minStatus, maxStatus)
	case r.Lo > r.Hi:
		return fmt.Errorf("%q: the range starts above its end: write \"%d-%d\"", r.String(), r.Hi, r.Lo)
	}
	return nil
}

// validateJSONChecks checks the paths and values of the "json" key, in
// path order.
func validateJSONChecks(m map[string]json.RawMessage) []error {
	var errs []error
	seen := make(map[string]string, len(m))
	for _, path := range sortedKeys(m) {
		p, err := ParseJSONPath(path)
		if err != nil {
			errs = append(errs, fmt.Errorf("expect.json[%q]: %w", clip(path), err))
		} else if canon := p.String(); seen[canon] != "" {
			errs = append(errs, fmt.Errorf("expect.json[%q]: the path names the same value as %q", clip(path), clip(seen[canon])))
		} else {
			seen[canon] = path
		}
		if v := m[path]; !json.Valid(v) {
			errs = append(errs, fmt.Errorf("expect.json[%q]: the expected value %q is not JSON", clip(path), clip(string(v))))
		}
	}
	return errs
}

// validateHeaderChecks checks the names and values of the "header" key,
// in name order.
func validateHeaderChecks(m map[string]HeaderMatch) []error {
	var errs []error
	seen := make(map[string]string, len(m))
	for _, name := range sortedKeys(m) {
		if !IsToken(name) {
			errs = append(errs, fmt.Errorf("expect.header[%q]: the name is not a valid HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", clip(name)))
			continue
		}
		if other := seen[strings.ToLower(name)]; other != "" {
			errs = append(errs, fmt.Errorf("expect.header[%q]: the same header as %q (names are compared without regard to case)", name, other))
			continue
		}
		seen[strings.ToLower(name)] = name
		if err := checkMatchValue(m[name].Value); err != nil {
			errs = append(errs, fmt.Errorf("expect.header[%q]: %w", name, err))
		}
	}
	return errs
}

// checkMatchValue refuses a header value a response cannot carry.
func checkMatchValue(v string) error {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("the value %q holds the control character %#02x", clip(v), c)
		}
	}
	if strings.TrimLeft(v, " \t") != v || strings.TrimRight(v, " \t") != v {
		return fmt.Errorf("the value %q starts or ends with white space, which is not part of a header value", clip(v))
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
