package types

import (
	"errors"
	"fmt"
	"strings"
)

// The rules below say which requests can be sent exactly as written. Every
// request source checks its requests with them (RequestSpec.Validate) and
// refuses the others at load, so no request is ever rewritten on the way
// to the target: a method keeps its case, a path is not normalised (no
// merging of "//", no removal of "." or ".."), the query is sent verbatim,
// a Host header replaces the target's host name in the Host line, and
// header names keep their spelling.

// Validate reports whether r can be sent exactly as written. It checks the
// method (CheckMethod), the request target made of Path and QueryString
// (CheckTarget), the headers (CheckHeaders), the name (CheckName) and the
// response checks (Expect.Validate, when Expect is not nil), in that
// order, and returns the first field's problems: every problem of the
// checks, joined, each naming its key ("expect.body_regex: ..."). The
// messages name the field and say what is wrong, without a location:
// callers add the file and line.
func (r RequestSpec) Validate() error {
	if err := CheckMethod(r.Method); err != nil {
		return err
	}
	if err := CheckTarget(r.Path, r.QueryString); err != nil {
		return err
	}
	if err := CheckHeaders(r.Headers); err != nil {
		return err
	}
	if err := CheckName(r.Name); err != nil {
		return err
	}
	if r.Expect != nil {
		return r.Expect.Validate()
	}
	return nil
}

// CheckMethod reports whether method is an HTTP method that is sent as
// written: a non-empty token (RFC 9110, section 9.1). Case is kept and
// not judged: methods are case-sensitive, so "get" is sent as "get".
func CheckMethod(method string) error {
	if method == "" {
		return errors.New(`missing required field "method": want an HTTP method such as GET`)
	}
	if !IsToken(method) {
		return fmt.Errorf("method %q is not a valid HTTP method token (letters, digits and !#$%%&'*+-.^_`|~)", clip(method))
	}
	return nil
}

// CheckTarget reports whether path and query make a request target that is
// sent as written. The path must start with '/' and may carry its own
// query after a '?' ("/sum?a=7&b=9"), in which case query must be empty.
// Neither may hold white space, control characters, bytes outside ASCII
// (percent-encode them) or '#' (a fragment is never sent), and a '?' must
// not end the path with nothing after it (an empty query is not sent).
func CheckTarget(path, query string) error {
	switch {
	case path == "":
		return errors.New(`missing required field "path": want a path starting with '/'`)
	case path[0] != '/':
		return fmt.Errorf("path %q must start with '/'", clip(path))
	}
	if err := checkTargetText("path", path); err != nil {
		return err
	}
	if i := strings.IndexByte(path, '?'); i >= 0 {
		if i == len(path)-1 {
			return fmt.Errorf("path %q ends with '?' and an empty query, which is not sent: drop the '?'", clip(path))
		}
		if query != "" {
			return fmt.Errorf("path %q has a query and the query %q is given too: give it in one place", clip(path), clip(query))
		}
	}
	return checkTargetText("query", query)
}

// checkTargetText refuses the bytes a request line cannot carry as written.
func checkTargetText(field, s string) error {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == ' ':
			return fmt.Errorf("%s %q holds a space: percent-encode it as %%20", field, clip(s))
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("%s %q holds the control character %#02x", field, clip(s), c)
		case c >= 0x80:
			return fmt.Errorf("%s %q holds the non-ASCII byte %#02x: percent-encode it (%%%02X)", field, clip(s), c, c)
		case c == '#':
			return fmt.Errorf("%s %q holds '#': a fragment is never sent (percent-encode it as %%23)", field, clip(s))
		}
	}
	return nil
}

// CheckHeaders checks every header name and value (CheckHeader) and the
// headers that must not repeat: Host (at most one value, whatever the
// case of its name; it is sent instead of the target's host name). When
// several headers are bad, the first by name is reported.
func CheckHeaders(h map[string][]string) error {
	var firstBad string
	var firstErr error
	hosts := 0
	for name, values := range h {
		if strings.EqualFold(name, "Host") {
			hosts += len(values)
		}
		if firstErr != nil && name > firstBad {
			continue
		}
		if err := checkHeaderValues(name, values); err != nil {
			firstBad, firstErr = name, err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return CheckHostCount(hosts)
}

// CheckHostCount refuses a request with n Host header values when n is more
// than one: a request goes out with one Host line.
func CheckHostCount(n int) error {
	if n > 1 {
		return fmt.Errorf("header Host is given %d times: give one value", n)
	}
	return nil
}

// checkHeaderValues checks one name and its values.
func checkHeaderValues(name string, values []string) error {
	if len(values) == 0 {
		if err := CheckHeader(name, "x"); err != nil {
			return err
		}
		return fmt.Errorf("header %s has no values: give at least one (\"\" for an empty value)", name)
	}
	for _, v := range values {
		if err := CheckHeader(name, v); err != nil {
			return err
		}
	}
	return nil
}

// CheckHeader reports whether one header is sent as written: the name is
// a token and is not Content-Length or Transfer-Encoding (the client
// frames the body itself), and the value holds no CR, LF, NUL or other
// control character but tab. A Host value must not be empty.
func CheckHeader(name, value string) error {
	if !IsToken(name) {
		return fmt.Errorf("header name %q is not a valid HTTP token (letters, digits and !#$%%&'*+-.^_`|~)", clip(name))
	}
	if strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") {
		return fmt.Errorf("header %s is set from the body when the request is sent: remove it", name)
	}
	for i := 0; i < len(value); i++ {
		switch c := value[i]; {
		case c == '\r' || c == '\n':
			return fmt.Errorf("header %s: the value %q holds a CR or LF", name, clip(value))
		case c == '\t':
		case c < 0x20 || c == 0x7f:
			return fmt.Errorf("header %s: the value %q holds the control character %#02x", name, clip(value), c)
		}
	}
	if value == "" && strings.EqualFold(name, "Host") {
		return errors.New("header Host is empty: give the host name to send")
	}
	return nil
}

// IsToken reports whether s is a non-empty HTTP token (RFC 9110, section
// 5.6.2): ASCII letters, digits and the characters !#$%&'*+-.^_`|~.
func IsToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// clip shortens s for an error message.
func clip(s string) string {
	const max = 60
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}
