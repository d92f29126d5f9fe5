package requests

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/PeladoCollado/imager/types"
)

// AdHocRequest describes the one request an AdHocSource repeats.
type AdHocRequest struct {
	// URL is the absolute http or https URL the request goes to; its path
	// and query are the request's. It must not have a fragment.
	URL string
	// Method is sent exactly as given; it must be an HTTP token. Empty
	// means GET.
	Method string
	// Headers are "Name: value" lines (see ParseHeader). Values of one
	// name are sent in the order given.
	Headers []string
	// Body is sent as the request body when not empty.
	Body string
}

// AdHocSource repeats one request built from a URL, a method, headers and a
// body, as a command-line load test does. It implements
// types.RequestSource; Next never fails.
type AdHocSource struct {
	base string
	spec types.RequestSpec
}

var _ types.RequestSource = (*AdHocSource)(nil)

// NewAdHocSource checks r and returns a source that yields it. The method
// is not rewritten (not even upper-cased): a request is sent exactly as
// described or refused.
func NewAdHocSource(r AdHocRequest) (*AdHocSource, error) {
	base, path, query, err := SplitURL(r.URL)
	if err != nil {
		return nil, fmt.Errorf("ad hoc request: %w", err)
	}
	method := r.Method
	if method == "" {
		method = "GET"
	}
	spec := types.RequestSpec{Method: method, Path: path, QueryString: query, Body: r.Body}
	for _, line := range r.Headers {
		name, value, err := ParseHeader(line)
		if err != nil {
			return nil, fmt.Errorf("ad hoc request: %w", err)
		}
		if spec.Headers == nil {
			spec.Headers = make(map[string][]string)
		}
		spec.Headers[name] = append(spec.Headers[name], value)
	}
	if err := spec.Validate(); err != nil {
		return nil, fmt.Errorf("ad hoc request: %w", err)
	}
	return &AdHocSource{base: base, spec: spec}, nil
}

// Base returns the base URL the source's requests are relative to: the
// URL's scheme, user information if any, host and port, without a path.
func (s *AdHocSource) Base() string { return s.base }

// Next returns the request. The returned spec shares its Headers map with
// the source: treat it as read-only.
func (s *AdHocSource) Next() (types.RequestSpec, error) { return s.spec, nil }

// Reset does nothing: every request is the same.
func (s *AdHocSource) Reset() error { return nil }

// SplitURL splits an absolute http or https URL into the base URL requests
// are joined to (scheme, user information, host and port) and the path and
// raw query of a request, taken from the URL as written (not re-escaped).
// An empty path becomes "/", as HTTP requires. A fragment is refused: it is
// never sent, so a request with one could not be sent as written; so is a
// path or query that types.CheckTarget refuses.
func SplitURL(raw string) (base, path, query string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("URL %q: %w", raw, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", "", fmt.Errorf("URL %q is not an absolute http or https URL", raw)
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return "", "", "", fmt.Errorf("URL %q has a fragment, which is never sent", raw)
	}
	// The request target is everything after the authority, as written.
	rest := raw[len(u.Scheme)+len("://"):]
	target := ""
	if i := strings.IndexAny(rest, "/?"); i >= 0 {
		target = rest[i:]
	}
	if target == "" || target[0] == '?' {
		target = "/" + target
	}
	if err := types.CheckTarget(target, ""); err != nil {
		return "", "", "", fmt.Errorf("URL %q: %w", raw, err)
	}
	path, query, _ = strings.Cut(target, "?")
	b := url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host}
	return b.String(), path, query, nil
}

// CheckMethod reports whether method is a valid HTTP method: a non-empty
// token (RFC 9110, section 9.1). Case is not changed or judged.
func CheckMethod(method string) error {
	return types.CheckMethod(method)
}

// ParseHeader splits a "Name: value" header line at its first colon. The
// name is taken as written (no white space around it); white space around
// the value is dropped. The header must pass types.CheckHeader: a token
// name, and a value without CR, LF or other control characters but tab,
// which could end the header early or smuggle in another one.
func ParseHeader(line string) (name, value string, err error) {
	name, value, ok := strings.Cut(line, ":")
	if !ok {
		return "", "", fmt.Errorf("header %q: want 'Name: value' (no colon found)", line)
	}
	if name == "" {
		return "", "", fmt.Errorf("header %q: the name is empty", line)
	}
	value = strings.Trim(value, " \t")
	if err := types.CheckHeader(name, value); err != nil {
		return "", "", err
	}
	return name, value, nil
}
