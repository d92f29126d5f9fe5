// Package check judges HTTP responses against the declarative response
// checks of a request (types.Expect). Compile turns an Expect into a Set
// once, at load, compiling its regular expression and JSON paths; the
// Set then judges every response at full rate, from many goroutines at
// once, without allocating for status, header, latency, body size and
// body_contains checks, or for JSON checks of strings, numbers, booleans
// and null.
//
// A Set says up front what it needs of a response, so that a response
// reader reads no more than that: the headers it names (WantsHeader), and
// the body only when NeedsBody, at most BodyLimit bytes of it. Each check
// has a name (Name), derived as docs/CHECKS.md describes, under which
// results count it.
package check

import (
	"fmt"
	"net/textproto"
	"regexp"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// BodyCap is the most body bytes a Set asks for (BodyLimit). A body
// longer than the bytes a reader keeps is judged as truncated: see
// Response.
const BodyCap = 1 << 20

// Header is one response header line, as read: the name in any case, the
// value with or without the white space around it.
type Header struct {
	Name, Value []byte
}

// Response is what a Set judges of one response.
type Response struct {
	// Status is the status code of the final response.
	Status int
	// Headers holds the response's header lines, or at least those for
	// which the Set's WantsHeader is true, in any order.
	Headers []Header
	// Body holds the first bytes of the body: all of it, or at least the
	// first BodyLimit bytes. When it holds fewer bytes than BodyLen the
	// body is truncated: a body_contains check passes when its text is in
	// the bytes held and fails otherwise, and body_regex and JSON checks
	// fail.
	Body []byte
	// BodyLen is the length of the whole body, in bytes (without chunked
	// framing); a value below len(Body) counts as len(Body).
	BodyLen int64
	// Latency is the request's latency as the engine measures it.
	Latency time.Duration
}

// truncated reports whether Body holds less than the whole body.
func (r *Response) truncated() bool { return int64(len(r.Body)) < r.BodyLen }

// Set is the compiled checks of one request. It is immutable and safe
// for concurrent use.
type Set struct {
	checks    []check
	headers   []string
	needsBody bool
	bodyLimit int
}

// Compile validates e (types.Expect.Validate) and compiles it into a Set.
// The checks are named after e.Name, or after name (the request's name)
// when e.Name is empty; docs/CHECKS.md gives the rules. The checks run in
// a fixed order, cheapest first: status, headers (by canonical name),
// max_latency, max_body_bytes, body_contains (in the order given),
// body_regex, then JSON paths (by canonical path).
func Compile(name string, e types.Expect) (*Set, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	prefix := e.Name
	if prefix == "" {
		prefix = name
	}
	if prefix != "" {
		prefix += ":"
	}
	s := &Set{}
	if len(e.Status) > 0 {
		c := check{name: prefix + "status", kind: kindStatus}
		for _, r := range e.Status {
			c.status.add(r.Lo, r.Hi)
		}
		s.checks = append(s.checks, c)
	}
	s.addHeaders(prefix, e.Header)
	if e.MaxLatency > 0 {
		s.checks = append(s.checks, check{name: prefix + "max_latency", kind: kindLatency, latency: e.MaxLatency})
	}
	if e.MaxBodyBytes > 0 {
		s.checks = append(s.checks, check{name: prefix + "max_body_bytes", kind: kindMaxBody, maxBody: e.MaxBodyBytes})
	}
	if err := s.addBody(prefix, e); err != nil {
		return nil, err
	}
	return s, nil
}

// addHeaders adds the header checks, by canonical name.
func (s *Set) addHeaders(prefix string, m map[string]types.HeaderMatch) {
	canon := make(map[string]types.HeaderMatch, len(m))
	for name, h := range m {
		canon[textproto.CanonicalMIMEHeaderKey(name)] = h
	}
	for _, name := range sortedKeys(canon) {
		h := canon[name]
		s.headers = append(s.headers, name)
		s.checks = append(s.checks, check{name: prefix + "header:" + name, kind: kindHeader,
			header: name, value: []byte(h.Value), present: h.Present})
	}
}

// addBody adds the checks that need the body and works out how much of
// it they need.
func (s *Set) addBody(prefix string, e types.Expect) error {
	for i, text := range e.BodyContains {
		name := prefix + "body_contains"
		if len(e.BodyContains) > 1 {
			name = fmt.Sprintf("%s[%d]", name, i)
		}
		s.checks = append(s.checks, check{name: name, kind: kindContains, text: []byte(text)})
	}
	if e.BodyRegex != "" {
		re, err := regexp.Compile(e.BodyRegex)
		if err != nil {
			return fmt.Errorf("expect.body_regex: %w", err)
		}
		s.checks = append(s.checks, check{name: prefix + "body_regex", kind: kindRegex, re: re})
	}
	var paths []check
	for raw, value := range e.JSON {
		path, err := types.ParseJSONPath(raw)
		if err != nil {
			return fmt.Errorf("expect.json[%q]: %w", raw, err)
		}
		want, err := newExpected(value)
		if err != nil {
			return fmt.Errorf("expect.json[%q]: %w", raw, err)
		}
		paths = append(paths, check{name: prefix + "json:" + path.String(), kind: kindJSON, path: path, want: want})
	}
	sortChecks(paths)
	s.checks = append(s.checks, paths...)
	s.needsBody = len(e.BodyContains) > 0 || e.BodyRegex != "" || len(e.JSON) > 0
	if s.needsBody {
		s.bodyLimit = BodyCap
		if e.MaxBodyBytes > 0 && e.MaxBodyBytes < BodyCap {
			s.bodyLimit = int(e.MaxBodyBytes)
		}
	}
	return nil
}

// Len returns the number of checks, at most types.MaxExpectChecks.
func (s *Set) Len() int { return len(s.checks) }

// Name returns the name of check i, 0 <= i < Len.
func (s *Set) Name(i int) string { return s.checks[i].name }

// Names returns the names of the checks, in order.
func (s *Set) Names() []string {
	names := make([]string, len(s.checks))
	for i := range s.checks {
		names[i] = s.checks[i].name
	}
	return names
}

// NeedsBody reports whether any check reads the body; when false a
// reader may discard the body and give Judge its length alone.
func (s *Set) NeedsBody() bool { return s.needsBody }

// BodyLimit returns how many body bytes the checks need at most: 0 when
// none reads the body, else BodyCap, or max_body_bytes when that is
// smaller (a longer body fails that check anyway).
func (s *Set) BodyLimit() int { return s.bodyLimit }

// HeaderNames returns the canonical names of the headers the checks read.
func (s *Set) HeaderNames() []string { return append([]string(nil), s.headers...) }

// WantsHeader reports whether a check reads the header name (any case),
// so that a reader can keep only those header lines.
func (s *Set) WantsHeader(name []byte) bool {
	for _, h := range s.headers {
		if equalFold(name, h) {
			return true
		}
	}
	return false
}

// Judge runs the checks in order and returns the index of the first that
// fails, or -1 when all pass.
func (s *Set) Judge(r Response) int {
	for i := range s.checks {
		if !s.checks[i].pass(&r) {
			return i
		}
	}
	return -1
}

// Failures runs every check and returns the failed ones as a bit mask:
// bit i is set when check i failed (a Set has at most 64 checks).
func (s *Set) Failures(r Response) uint64 {
	var failed uint64
	for i := range s.checks {
		if !s.checks[i].pass(&r) {
			failed |= 1 << uint(i)
		}
	}
	return failed
}

// HasStatus reports whether the Set has a status check. When it has one,
// it is check 0.
func (s *Set) HasStatus() bool { return len(s.checks) > 0 && s.checks[0].kind == kindStatus }

// StatusPasses reports whether status passes the Set's status check;
// true when the Set has none.
func (s *Set) StatusPasses(status int) bool {
	return !s.HasStatus() || s.checks[0].status.has(status)
}
