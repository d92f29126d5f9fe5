package engine

import (
	"bytes"
	"fmt"
)

// maxChunkDigits bounds the hex digits of a chunk size, so that a size
// never overflows.
const maxChunkDigits = 15

// statusLine parses a status line, "HTTP/1.1 200 OK" or "HTTP/1.0 404",
// the reason optional, and returns its status.
func (hs *headerState) statusLine(line []byte) (int, error) {
	if len(line) < 12 || line[8] != ' ' || (len(line) > 12 && line[12] != ' ') {
		return 0, malformed("status line", line)
	}
	switch {
	case string(line[:8]) == "HTTP/1.1":
	case string(line[:8]) == "HTTP/1.0":
		hs.http10 = true
	default:
		return 0, malformed("status line", line)
	}
	status := 0
	for _, c := range line[9:12] {
		if c < '0' || c > '9' {
			return 0, malformed("status line", line)
		}
		status = status*10 + int(c-'0')
	}
	if status < 100 {
		return 0, malformed("status line", line)
	}
	return status, nil
}

// header takes in one header line. Names are compared without regard to
// case; only the headers that frame the body or keep the connection
// matter.
func (hs *headerState) header(line []byte) error {
	colon := bytes.IndexByte(line, ':')
	if colon <= 0 || bytes.ContainsAny(line[:colon], " \t") {
		// Also an obsolete folded line, which starts with white space.
		return malformed("header line", line)
	}
	name, value := line[:colon], trimOWS(line[colon+1:])
	switch {
	case equalFold(name, "Content-Length"):
		return hs.contentLength(value)
	case equalFold(name, "Transfer-Encoding"):
		// The codings of every Transfer-Encoding line, in order: the body
		// is chunked when chunked is the last of them.
		hs.te = true
		hs.chunked = equalFold(lastToken(value), "chunked")
	case equalFold(name, "Connection"):
		for rest := value; len(rest) > 0; {
			var tok []byte
			tok, rest = nextToken(rest)
			hs.close = hs.close || equalFold(tok, "close")
			hs.keepAlive = hs.keepAlive || equalFold(tok, "keep-alive")
		}
	}
	return nil
}

// contentLength takes in a Content-Length value: decimal digits, the same
// value when repeated.
func (hs *headerState) contentLength(v []byte) error {
	if len(v) == 0 || len(v) > 18 {
		return malformed("Content-Length", v)
	}
	var n int64
	for _, c := range v {
		if c < '0' || c > '9' {
			return malformed("Content-Length", v)
		}
		n = n*10 + int64(c-'0')
	}
	if hs.hasLength && hs.length != n {
		return fmt.Errorf("conflicting Content-Length values %d and %d", hs.length, n)
	}
	hs.hasLength, hs.length = true, n
	return nil
}

// chunkSize parses a chunk size line: hex digits, then optional white
// space and chunk extensions, which are ignored.
func chunkSize(line []byte) (int64, error) {
	var n int64
	i := 0
	for ; i < len(line); i++ {
		d := unhex(line[i])
		if d < 0 {
			break
		}
		if i == maxChunkDigits {
			return 0, malformed("chunk size (too large)", line)
		}
		n = n<<4 | int64(d)
	}
	rest := trimOWS(line[i:])
	if i == 0 || (len(rest) > 0 && rest[0] != ';') {
		return 0, malformed("chunk size line", line)
	}
	return n, nil
}

// unhex returns the value of a hex digit, -1 for any other byte.
func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// malformed describes a response part that does not parse, quoting the
// start of it.
func malformed(what string, b []byte) error {
	const show = 64
	if len(b) > show {
		return fmt.Errorf("malformed %s in the response: %q…", what, b[:show])
	}
	return fmt.Errorf("malformed %s in the response: %q", what, b)
}

// isOWS reports whether c is optional white space: a space or a tab.
func isOWS(c byte) bool { return c == ' ' || c == '\t' }

// trimOWS removes leading and trailing optional white space.
func trimOWS(b []byte) []byte {
	for len(b) > 0 && isOWS(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isOWS(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

// nextToken splits a comma-separated list: its first element, trimmed,
// and the rest after the comma.
func nextToken(list []byte) (tok, rest []byte) {
	if i := bytes.IndexByte(list, ','); i >= 0 {
		return trimOWS(list[:i]), list[i+1:]
	}
	return trimOWS(list), nil
}

// lastToken returns the last element of a comma-separated list, trimmed.
func lastToken(list []byte) []byte {
	if i := bytes.LastIndexByte(list, ','); i >= 0 {
		return trimOWS(list[i+1:])
	}
	return trimOWS(list)
}

// equalFold reports whether b equals s, ASCII letters compared without
// regard to case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(b) {
		x, y := b[i], s[i]
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
