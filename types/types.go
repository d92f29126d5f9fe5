// Package types holds the data types of imager's first public API,
// shared by request sources, the orchestrator and the executors: a request
// description and the source interface that yields them.
package types

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// RequestSpec describes one HTTP request relative to the target: the
// executor joins Path and QueryString onto the target's base URL. A request
// is sent exactly as written; Validate says which requests can be.
type RequestSpec struct {
	// Method is the HTTP method, for example GET or POST, sent in the case
	// given.
	Method string `json:"method"`
	// Path is the request path, starting with a slash, sent as written
	// (never normalised). It may carry the query after a '?'.
	Path string `json:"path"`
	// QueryString is the raw query without the leading '?', if any.
	QueryString string `json:"queryString,omitempty"`
	// Headers maps a header name to its values. A Host header is sent
	// instead of the target's host name (virtual hosts). Headers go out
	// sorted by name, a name's values in their order. The map goes into
	// the job as it is, shared, and is read until the job is sent: a
	// source may hand out one map for many requests but must not change a
	// map it has returned.
	Headers map[string][]string `json:"headers,omitempty"`
	// Body is sent as the request body when not empty.
	Body string `json:"body,omitempty"`
	// Name groups the request in per-name results (the summary and the
	// results file break counts and latency down by name); empty for none.
	Name string `json:"name,omitempty"`
	// Expect holds the response checks of the request (docs/CHECKS.md);
	// nil for none, when a response is judged by its status class alone.
	// Like Headers, one Expect may be shared by many requests and must
	// not be changed once a source has returned it.
	Expect *Expect `json:"expect,omitempty"`
}

// MaxNameLen is the longest request name accepted.
const MaxNameLen = 100

// RequestSource yields the requests a load test sends. Next is called by the
// orchestrator for every planned request; Reset starts the sequence over.
// Implementations must be safe for use by one goroutine at a time; the
// orchestrator never calls them concurrently.
type RequestSource interface {
	Next() (RequestSpec, error)
	Reset() error
}

// CheckName reports whether name is acceptable as a request name: at most
// MaxNameLen bytes of printable UTF-8 (empty means unnamed).
func CheckName(name string) error {
	if len(name) > MaxNameLen {
		return fmt.Errorf("name %q is longer than %d bytes", name[:20]+"…", MaxNameLen)
	}
	if !utf8.ValidString(name) {
		return fmt.Errorf("name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) {
			return fmt.Errorf("name %q has a control or non-printing character", name)
		}
	}
	return nil
}
