package check

import (
	"bytes"
	"regexp"
	"sort"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// kind is what a check looks at.
type kind uint8

// The kinds of check, one per key of types.Expect.
const (
	kindStatus kind = iota
	kindHeader
	kindLatency
	kindMaxBody
	kindContains
	kindRegex
	kindJSON
)

// check is one compiled check; the fields of its kind are set.
type check struct {
	name    string
	kind    kind
	status  statusSet
	header  string // canonical name
	value   []byte
	present bool
	latency time.Duration
	maxBody int64
	text    []byte
	re      *regexp.Regexp
	path    types.JSONPath
	want    expected
}

// pass reports whether r passes c.
func (c *check) pass(r *Response) bool {
	switch c.kind {
	case kindStatus:
		return c.status.has(r.Status)
	case kindHeader:
		return c.headerPasses(r.Headers)
	case kindLatency:
		return r.Latency <= c.latency
	case kindMaxBody:
		return max(r.BodyLen, int64(len(r.Body))) <= c.maxBody
	case kindContains:
		return bytes.Contains(r.Body, c.text)
	case kindRegex:
		return !r.truncated() && c.re.Match(r.Body)
	case kindJSON:
		if r.truncated() {
			return false
		}
		got, ok := find(r.Body, c.path)
		return ok && got != nil && c.want.matches(got)
	}
	return false
}

// headerPasses reports whether a header line of the check's name is
// present and, unless any value will do, has the value wanted (compared
// exactly, without the white space around it). Each line is judged on
// its own: one line that passes is enough.
func (c *check) headerPasses(hs []Header) bool {
	for i := range hs {
		if equalFold(hs[i].Name, c.header) && (c.present || bytes.Equal(trimOWS(hs[i].Value), c.value)) {
			return true
		}
	}
	return false
}

// statusSet is a set of status codes from 100 to 611, one bit each.
type statusSet [8]uint64

// add adds the codes lo to hi, which lie within 100-599.
func (s *statusSet) add(lo, hi int) {
	for code := lo; code <= hi; code++ {
		b := code - 100
		s[b/64] |= 1 << uint(b%64)
	}
}

// has reports whether code is in s.
func (s *statusSet) has(code int) bool {
	b := uint(code - 100)
	return b < 8*64 && s[b/64]&(1<<(b%64)) != 0
}

// equalFold reports whether the ASCII name b equals s, without regard
// to case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		x, y := b[i], s[i]
		if x != y && lower(x) != lower(y) {
			return false
		}
	}
	return true
}

// lower lowers an ASCII letter.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// trimOWS trims the spaces and tabs around a header value.
func trimOWS(v []byte) []byte {
	for len(v) > 0 && (v[0] == ' ' || v[0] == '\t') {
		v = v[1:]
	}
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t') {
		v = v[:len(v)-1]
	}
	return v
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

// sortChecks orders checks by name.
func sortChecks(cs []check) {
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
}
