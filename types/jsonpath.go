package types

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The JSON path syntax of response checks (Expect.JSON) names one value
// inside a JSON document, walking from the top-level value through object
// members and array elements:
//
//	a.b[0].c         member "a", its member "b", element 0, its member "c"
//	$.a.b            the same as a.b: a leading $ stands for the document
//	["x.y"].z        member "x.y" (a quoted member name may hold any
//	                 character, with JSON string escapes), then member "z"
//	[2]              element 2 of a top-level array
//	$                the whole document
//
// A bare member name is a run of any characters but '.', '[', ']', '"',
// white space and control characters; any other name is written quoted in
// brackets. Indexes are decimal, from 0, without leading zeros. Every path
// has one canonical spelling (JSONPath.String): bare names where
// possible, without the leading $, and $ alone for the whole document.

// MaxJSONPathLen is the longest JSON path accepted, in bytes.
const MaxJSONPathLen = 200

// maxPathIndex bounds an array index in a path.
const maxPathIndex = 1<<31 - 1

// PathSegment is one step of a JSONPath: an object member (Key) or, when
// IsIndex, an array element (Index).
type PathSegment struct {
	Key     string
	Index   int
	IsIndex bool
}

// JSONPath is a parsed JSON path (ParseJSONPath); empty for the whole
// document.
type JSONPath []PathSegment

// ParseJSONPath parses a JSON path in the syntax described above.
func ParseJSONPath(s string) (JSONPath, error) {
	switch {
	case s == "":
		return nil, errors.New(`empty JSON path: write $ for the whole document`)
	case len(s) > MaxJSONPathLen:
		return nil, fmt.Errorf("JSON path %q is longer than %d bytes", clip(s), MaxJSONPathLen)
	case !utf8.ValidString(s):
		return nil, fmt.Errorf("JSON path %q is not valid UTF-8", clip(s))
	case s == "$":
		return JSONPath{}, nil
	}
	rest := s
	if strings.HasPrefix(rest, "$.") || strings.HasPrefix(rest, "$[") {
		rest = rest[1:]
	}
	p := JSONPath{}
	if rest[0] != '.' && rest[0] != '[' {
		name, after, err := bareName(s, rest)
		if err != nil {
			return nil, err
		}
		p, rest = append(p, PathSegment{Key: name}), after
	} else if rest[0] == '.' && rest == s {
		return nil, fmt.Errorf("JSON path %q starts with '.': write a.b or $.a.b", clip(s))
	}
	for rest != "" {
		var seg PathSegment
		var err error
		switch rest[0] {
		case '.':
			seg.Key, rest, err = bareName(s, rest[1:])
		case '[':
			seg, rest, err = bracket(s, rest)
		default: // only after a ']'
			err = fmt.Errorf("JSON path %q: %q follows a ']': want '.' or '['", clip(s), clip(rest))
		}
		if err != nil {
			return nil, err
		}
		p = append(p, seg)
	}
	return p, nil
}

// bareName reads a bare member name at the start of rest, up to the next
// '.' or '[', and returns it and what follows. s is the whole path, for
// messages.
func bareName(s, rest string) (string, string, error) {
	end := strings.IndexAny(rest, ".[")
	if end < 0 {
		end = len(rest)
	}
	name := rest[:end]
	if name == "" {
		return "", "", fmt.Errorf("JSON path %q has an empty member name: quote it as [\"\"]", clip(s))
	}
	for _, r := range name {
		if !bareRune(r) {
			return "", "", fmt.Errorf("JSON path %q: member name %q holds %q: write it quoted, as [%s]", clip(s), clip(name), r, strconv.Quote(name))
		}
	}
	return name, rest[end:], nil
}

// bareRune reports whether r may appear in a bare member name ('.' and
// '[' end one).
func bareRune(r rune) bool {
	switch r {
	case ']', '"', ' ', '\t', '\n', '\r', utf8.RuneError:
		return false
	}
	return r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0)
}

// bracket reads a bracketed step, [N] or ["name"], at the start of rest.
func bracket(s, rest string) (PathSegment, string, error) {
	if len(rest) > 1 && rest[1] == '"' {
		end := quotedEnd(rest[1:])
		if end < 0 || 1+end >= len(rest) || rest[1+end] != ']' {
			return PathSegment{}, "", fmt.Errorf("JSON path %q has an unterminated [\"name\"]", clip(s))
		}
		var key string
		if err := json.Unmarshal([]byte(rest[1:1+end]), &key); err != nil {
			return PathSegment{}, "", fmt.Errorf("JSON path %q: the quoted name %s is not a JSON string", clip(s), clip(rest[1:1+end]))
		}
		return PathSegment{Key: key}, rest[2+end:], nil
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return PathSegment{}, "", fmt.Errorf("JSON path %q has a '[' without its ']'", clip(s))
	}
	digits := rest[1:end]
	n, err := strconv.Atoi(digits)
	if err != nil || n < 0 || n > maxPathIndex || digits[0] < '0' || digits[0] > '9' || (len(digits) > 1 && digits[0] == '0') {
		return PathSegment{}, "", fmt.Errorf("JSON path %q: [%s] is neither an index (0, 1, ...) nor a quoted name [\"name\"]", clip(s), clip(digits))
	}
	return PathSegment{Index: n, IsIndex: true}, rest[end+1:], nil
}

// quotedEnd returns the length of the JSON string literal at the start of
// q (which starts with '"'), closing quote included, or -1 when it is
// not closed.
func quotedEnd(q string) int {
	for i := 1; i < len(q); i++ {
		switch q[i] {
		case '\\':
			i++
		case '"':
			return i + 1
		}
	}
	return -1
}

// String returns the canonical spelling of p: bare names where possible,
// no leading $, and $ for the whole document.
func (p JSONPath) String() string {
	if len(p) == 0 {
		return "$"
	}
	var b strings.Builder
	for i, seg := range p {
		switch {
		case seg.IsIndex:
			b.WriteByte('[')
			b.WriteString(strconv.Itoa(seg.Index))
			b.WriteByte(']')
		case isBareName(seg.Key) && !(i == 0 && seg.Key == "$"):
			if i > 0 {
				b.WriteByte('.')
			}
			b.WriteString(seg.Key)
		default:
			b.WriteByte('[')
			b.WriteString(quoteJSON(seg.Key))
			b.WriteByte(']')
		}
	}
	return b.String()
}

// isBareName reports whether key can be written without quotes.
func isBareName(key string) bool {
	if key == "" || !utf8.ValidString(key) {
		return false
	}
	for _, r := range key {
		if r == '.' || r == '[' || !bareRune(r) {
			return false
		}
	}
	return true
}

// quoteJSON returns s as a JSON string literal, without the HTML escapes
// of json.Marshal.
func quoteJSON(s string) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return strings.TrimSuffix(b.String(), "\n")
}
