package types

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Expect says what a correct response to a request looks like: the
// response checks of one request, as written in a request file or a Lua
// table under the key "expect". Every field is optional; an Expect with
// no checks judges nothing. In JSON:
//
//	{"name": "login",
//	 "status": [200, "204", "300-302"],
//	 "body_contains": "ok",
//	 "body_regex": "^\\{\"id\":[0-9]+",
//	 "json": {"user.roles[0]": "admin", "$.count": 3},
//	 "header": {"Content-Type": "application/json", "ETag": true},
//	 "max_body_bytes": 65536,
//	 "max_latency": "250ms"}
//
// UnmarshalJSON checks the form of each key and refuses unknown keys;
// Validate checks the values. docs/CHECKS.md describes the keys and how
// responses are judged.
type Expect struct {
	// Name names the checks (see the check package); empty to derive
	// them from the request's name.
	Name string `json:"name,omitempty"`
	// Status lists the allowed status codes; empty for no status check.
	// In JSON a list whose items are codes (200 or "200") or inclusive
	// ranges ("200-299"), or one such item alone.
	Status []StatusRange `json:"status,omitempty"`
	// BodyContains lists texts the body must each contain. In JSON a
	// string, or a list of strings, each a check of its own.
	BodyContains []string `json:"body_contains,omitempty"`
	// BodyRegex is an RE2 regular expression (package regexp) that must
	// match somewhere in the body; empty for none.
	BodyRegex string `json:"body_regex,omitempty"`
	// JSON maps a JSON path (ParseJSONPath) to the JSON value the body
	// must hold there.
	JSON map[string]json.RawMessage `json:"json,omitempty"`
	// Header maps a response header name to what it must hold. In JSON
	// the value is a string (a value the header must have) or true (the
	// header must be present).
	Header map[string]HeaderMatch `json:"header,omitempty"`
	// MaxBodyBytes is the largest body allowed, in bytes; 0 for no bound.
	MaxBodyBytes int64 `json:"max_body_bytes,omitempty"`
	// MaxLatency is the longest latency allowed; 0 for no bound. In JSON
	// a duration string such as "250ms" or "1.5s" (time.ParseDuration).
	MaxLatency time.Duration `json:"max_latency,omitempty"`
}

// StatusRange is an inclusive range of status codes; Lo == Hi for one
// code.
type StatusRange struct {
	Lo, Hi int
}

// String returns "200" for a single code and "200-299" for a range.
func (r StatusRange) String() string {
	if r.Lo == r.Hi {
		return strconv.Itoa(r.Lo)
	}
	return strconv.Itoa(r.Lo) + "-" + strconv.Itoa(r.Hi)
}

// ParseStatusRange parses a status code ("204") or an inclusive range
// ("200-299"). It checks the form only; Expect.Validate checks the codes.
func ParseStatusRange(s string) (StatusRange, error) {
	lo, hi, isRange := strings.Cut(s, "-")
	a, errA := parseCode(lo)
	b, errB := a, error(nil)
	if isRange {
		b, errB = parseCode(hi)
	}
	if errA != nil || errB != nil {
		return StatusRange{}, fmt.Errorf("%q is not a status code or range: want a code such as 200 or a range such as \"200-299\"", clip(s))
	}
	return StatusRange{Lo: a, Hi: b}, nil
}

// parseCode parses 1 to 3 decimal digits.
func parseCode(s string) (int, error) {
	if s == "" || len(s) > 3 {
		return 0, errors.New("not a code")
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a code")
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, nil
}

// UnmarshalJSON reads one item of "status": a number or a string.
func (r *StatusRange) UnmarshalJSON(data []byte) error {
	var s string
	if len(data) > 0 && data[0] == '"' {
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
	} else {
		s = string(data)
	}
	v, err := ParseStatusRange(s)
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// MarshalJSON writes a single code as a number and a range as a string.
func (r StatusRange) MarshalJSON() ([]byte, error) {
	if r.Lo == r.Hi {
		return []byte(strconv.Itoa(r.Lo)), nil
	}
	return []byte(`"` + r.String() + `"`), nil
}

// HeaderMatch is what a response header must hold: any value when
// Present, else the value Value (compared exactly, after trimming the
// spaces and tabs around it).
type HeaderMatch struct {
	Value   string
	Present bool
}

// UnmarshalJSON reads a header check: a string, or true for present.
func (h *HeaderMatch) UnmarshalJSON(data []byte) error {
	switch {
	case string(data) == "true":
		*h = HeaderMatch{Present: true}
		return nil
	case len(data) > 0 && data[0] == '"':
		var s string
		if err := json.Unmarshal(data, &s); err != nil {
			return err
		}
		*h = HeaderMatch{Value: s}
		return nil
	}
	return fmt.Errorf("%s is not a header check: want a string (the value) or true (present)", clip(string(data)))
}

// MarshalJSON writes true for Present and the value otherwise.
func (h HeaderMatch) MarshalJSON() ([]byte, error) {
	if h.Present {
		return []byte("true"), nil
	}
	return json.Marshal(h.Value)
}

// expectJSON is Expect as it is read from JSON: the keys whose form
// Expect reads itself are kept raw.
type expectJSON struct {
	Name         string                     `json:"name"`
	Status       json.RawMessage            `json:"status"`
	BodyContains json.RawMessage            `json:"body_contains"`
	BodyRegex    string                     `json:"body_regex"`
	JSON         map[string]json.RawMessage `json:"json"`
	Header       map[string]json.RawMessage `json:"header"`
	MaxBodyBytes json.RawMessage            `json:"max_body_bytes"`
	MaxLatency   json.RawMessage            `json:"max_latency"`
}

// UnmarshalJSON reads an expect object. An error names the key at fault
// ("expect.status[1]: ...") and unknown keys are refused.
func (e *Expect) UnmarshalJSON(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var raw expectJSON
	if err := dec.Decode(&raw); err != nil {
		return keyError(err)
	}
	out := Expect{Name: raw.Name, BodyRegex: raw.BodyRegex, JSON: raw.JSON}
	var errs []error
	add := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	out.Status = oneOrList[StatusRange](raw.Status, "status", add)
	out.BodyContains = oneOrList[string](raw.BodyContains, "body_contains", add)
	add(readHeaders(raw.Header, &out))
	add(readMaxBody(raw.MaxBodyBytes, &out))
	add(readMaxLatency(raw.MaxLatency, &out))
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	*e = out
	return nil
}

// keyError rewords the errors of decoding an expect object so that they
// name the key.
func keyError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Errorf("expect.%s: a JSON %s is not allowed here", te.Field, te.Value)
	}
	if te != nil {
		return fmt.Errorf("expect: a JSON %s is not allowed here: want an object such as {\"status\": \"200-299\"}", te.Value)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		return fmt.Errorf("expect: unknown key %s (known: name, status, body_contains, body_regex, json, header, max_body_bytes, max_latency)", strings.TrimPrefix(msg, "json: unknown field "))
	}
	return fmt.Errorf("expect: %w", err)
}

// oneOrList reads a key whose value is one item or a list of items,
// reporting each bad item through add.
func oneOrList[T any](raw json.RawMessage, key string, add func(error)) []T {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '[' {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			add(fmt.Errorf("expect.%s: %w", key, itemError(err)))
			return nil
		}
		return []T{v}
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		add(fmt.Errorf("expect.%s: %w", key, err))
		return nil
	}
	out := make([]T, 0, len(items))
	for i, item := range items {
		var v T
		if err := json.Unmarshal(item, &v); err != nil {
			add(fmt.Errorf("expect.%s[%d]: %w", key, i, itemError(err)))
			continue
		}
		out = append(out, v)
	}
	return out
}

// itemError rewords a type mismatch of one item.
func itemError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return fmt.Errorf("a JSON %s is not allowed here: want %s", te.Value, te.Type)
	}
	return err
}

// readHeaders reads the "header" object into out, in name order.
func readHeaders(raw map[string]json.RawMessage, out *Expect) error {
	if len(raw) == 0 {
		return nil
	}
	out.Header = make(map[string]HeaderMatch, len(raw))
	var errs []error
	for _, name := range sortedKeys(raw) {
		var h HeaderMatch
		if err := h.UnmarshalJSON(raw[name]); err != nil {
			errs = append(errs, fmt.Errorf("expect.header[%q]: %w", name, err))
			continue
		}
		out.Header[name] = h
	}
	return errors.Join(errs...)
}

// readMaxBody reads "max_body_bytes": a whole number.
func readMaxBody(raw json.RawMessage, out *Expect) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		return fmt.Errorf("expect.max_body_bytes: %s is not a whole number of bytes", clip(string(raw)))
	}
	out.MaxBodyBytes = n
	return nil
}

// readMaxLatency reads "max_latency": a duration string.
func readMaxLatency(raw json.RawMessage, out *Expect) error {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return fmt.Errorf("expect.max_latency: %s is not a duration string: want one such as \"250ms\"", clip(string(raw)))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("expect.max_latency: %q is not a duration: want one such as \"250ms\" or \"1.5s\"", clip(s))
	}
	out.MaxLatency = d
	return nil
}

// MarshalJSON writes e in the form UnmarshalJSON reads.
func (e Expect) MarshalJSON() ([]byte, error) {
	type plain Expect // without the methods
	var out struct {
		plain
		BodyContains any    `json:"body_contains,omitempty"`
		MaxLatency   string `json:"max_latency,omitempty"`
	}
	out.plain = plain(e)
	switch len(e.BodyContains) {
	case 0:
	case 1:
		out.BodyContains = e.BodyContains[0]
	default:
		out.BodyContains = e.BodyContains
	}
	if e.MaxLatency != 0 {
		out.MaxLatency = e.MaxLatency.String()
	}
	return json.Marshal(out)
}
