package check

import (
	"unicode/utf16"
	"unicode/utf8"

	"github.com/PeladoCollado/imager/types"
)

// maxNesting bounds the nesting of arrays and objects in a body, as
// encoding/json does: a deeper document is not valid JSON here.
const maxNesting = 10000

// scanner walks one JSON document, checking that it is valid JSON (the
// grammar of RFC 8259, as encoding/json reads it: bytes outside ASCII are
// not checked for valid UTF-8) and noting where the value at one path
// lies, without building anything. When an object names a member twice,
// the last one counts, as with encoding/json.
type scanner struct {
	b    []byte
	i    int
	path types.JSONPath
	// start and end delimit the value at path in b; start is -1 until
	// it is found.
	start, end int
}

// find scans body as one JSON document and returns the bytes of the value
// at path (nil when there is none) and whether body is valid JSON.
func find(body []byte, path types.JSONPath) ([]byte, bool) {
	s := scanner{b: body, path: path, start: -1}
	if !s.value(0, true) {
		return nil, false
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, false
	}
	if s.start < 0 {
		return nil, true
	}
	return body[s.start:s.end], true
}

// valid reports whether body is one valid JSON document.
func valid(body []byte) bool {
	_, ok := find(body, nil)
	return ok
}

// peek returns the next byte, or 0 at the end.
func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// ws skips white space.
func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// value scans one value at nesting depth; on says the value lies at
// path[:depth].
func (s *scanner) value(depth int, on bool) bool {
	s.ws()
	start := s.i
	var ok bool
	switch c := s.peek(); {
	case c == '{':
		ok = s.object(depth, on)
	case c == '[':
		ok = s.array(depth, on)
	case c == '"':
		ok = s.str()
	case c == 't':
		ok = s.literal("true")
	case c == 'f':
		ok = s.literal("false")
	case c == 'n':
		ok = s.literal("null")
	case c == '-' || ('0' <= c && c <= '9'):
		ok = s.number()
	}
	if ok && on && depth == len(s.path) {
		s.start, s.end = start, s.i
	}
	return ok
}

// object scans an object, s.i at its '{'.
func (s *scanner) object(depth int, on bool) bool {
	if depth >= maxNesting {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == '}' {
		s.i++
		return true
	}
	wantKey := on && depth < len(s.path) && !s.path[depth].IsIndex
	for {
		s.ws()
		if s.peek() != '"' {
			return false
		}
		k := s.i
		if !s.str() {
			return false
		}
		match := wantKey && strEqual(s.b[k+1:s.i-1], s.path[depth].Key)
		if match {
			s.start = -1 // a later member of the same name wins
		}
		s.ws()
		if s.peek() != ':' {
			return false
		}
		s.i++
		if !s.value(depth+1, match) {
			return false
		}
		if done, ok := s.next('}'); done || !ok {
			return ok
		}
	}
}

// array scans an array, s.i at its '['.
func (s *scanner) array(depth int, on bool) bool {
	if depth >= maxNesting {
		return false
	}
	s.i++
	s.ws()
	if s.peek() == ']' {
		s.i++
		return true
	}
	want := -1
	if on && depth < len(s.path) && s.path[depth].IsIndex {
		want = s.path[depth].Index
	}
	for n := 0; ; n++ {
		if !s.value(depth+1, n == want) {
			return false
		}
		if done, ok := s.next(']'); done || !ok {
			return ok
		}
	}
}

// next reads what follows a member or element: a ',' (not done) or the
// closing byte (done); anything else is not ok.
func (s *scanner) next(closing byte) (done, ok bool) {
	s.ws()
	switch s.peek() {
	case ',':
		s.i++
		return false, true
	case closing:
		s.i++
		return true, true
	}
	return true, false
}

// literal scans true, false or null.
func (s *scanner) literal(lit string) bool {
	if len(s.b)-s.i < len(lit) || string(s.b[s.i:s.i+len(lit)]) != lit {
		return false
	}
	s.i += len(lit)
	return true
}

// str scans a string, s.i at its opening quote, and leaves s.i after its
// closing one.
func (s *scanner) str() bool {
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			if !s.escape() {
				return false
			}
		}
	}
	return false
}

// escape checks the escape sequence at s.i (at its backslash) and leaves
// s.i at its last byte.
func (s *scanner) escape() bool {
	s.i++
	switch s.peek() {
	case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
		return true
	case 'u':
		if len(s.b)-s.i < 5 || hex4(s.b[s.i+1:s.i+5]) < 0 {
			return false
		}
		s.i += 4
		return true
	}
	return false
}

// number scans a number: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() bool {
	if s.peek() == '-' {
		s.i++
	}
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case '1' <= c && c <= '9':
		s.digits()
	default:
		return false
	}
	if s.peek() == '.' {
		s.i++
		if s.digits() == 0 {
			return false
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

// digits skips decimal digits and returns how many.
func (s *scanner) digits() int {
	from := s.i
	for s.i < len(s.b) && '0' <= s.b[s.i] && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - from
}

// hex4 decodes four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c = c - 'a' + 10
		case 'A' <= c && c <= 'F':
			c = c - 'A' + 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}

// strEqual reports whether raw, the inside of a valid JSON string
// literal, decodes to want, decoding as encoding/json does: a byte that
// is not valid UTF-8 and a lone surrogate escape stand for U+FFFD.
func strEqual(raw []byte, want string) bool {
	j := 0
	var buf [utf8.UTFMax]byte
	for i := 0; i < len(raw); {
		var piece []byte
		switch c := raw[i]; {
		case c == '\\':
			r, n := unescape(raw[i:])
			piece, i = buf[:utf8.EncodeRune(buf[:], r)], i+n
		case c < utf8.RuneSelf:
			if j >= len(want) || want[j] != c {
				return false
			}
			i, j = i+1, j+1
			continue
		default:
			r, n := utf8.DecodeRune(raw[i:])
			if r == utf8.RuneError && n == 1 {
				piece = buf[:utf8.EncodeRune(buf[:], r)]
			} else {
				piece = raw[i : i+n]
			}
			i += n
		}
		if len(want)-j < len(piece) || want[j:j+len(piece)] != string(piece) {
			return false
		}
		j += len(piece)
	}
	return j == len(want)
}

// unescape decodes the valid escape sequence at the start of b and
// returns its rune and length.
func unescape(b []byte) (rune, int) {
	switch b[1] {
	case 'b':
		return '\b', 2
	case 'f':
		return '\f', 2
	case 'n':
		return '\n', 2
	case 'r':
		return '\r', 2
	case 't':
		return '\t', 2
	case 'u':
	default: // '"', '\\', '/'
		return rune(b[1]), 2
	}
	r := hex4(b[2:6])
	if !utf16.IsSurrogate(r) {
		return r, 6
	}
	if len(b) >= 12 && b[6] == '\\' && b[7] == 'u' {
		if pair := utf16.DecodeRune(r, hex4(b[8:12])); pair != utf8.RuneError {
			return pair, 12
		}
	}
	return utf8.RuneError, 6
}
