package executor

import (
	"fmt"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RefusedError ends Run when the orchestrator refuses the executor in a way
// that retrying cannot mend: its id is taken by another live executor
// (codes.AlreadyExists), its auth token is wrong (codes.Unauthenticated),
// or it was disconnected as a repeat offender (codes.PermissionDenied).
type RefusedError struct {
	// ID is the executor id the orchestrator refused.
	ID string
	// Code is the status code the orchestrator refused it with.
	Code codes.Code
	// Detail is the orchestrator's message.
	Detail string
}

// Error implements error.
func (r *RefusedError) Error() string {
	return fmt.Sprintf("%s (id %q): %s", refusalText(r.Code), r.ID, r.Detail)
}

// refusal returns the log message for err when it is a refusal for good,
// or "" when the executor should try again.
func refusal(err error) string {
	if err == nil {
		return ""
	}
	return refusalText(status.Code(err))
}

// refusalText describes a refusal by its status code, or returns "" for a
// code that is not one.
func refusalText(c codes.Code) string {
	switch c {
	case codes.AlreadyExists:
		return "orchestrator refused this executor's id: another live executor has it; give each executor its own id"
	case codes.Unauthenticated:
		return "orchestrator rejected this executor's auth token; check that it matches the orchestrator's"
	case codes.PermissionDenied:
		return "orchestrator disconnected this executor as a repeat offender (its reports were refused)"
	}
	return ""
}

// isHandshakeFailure reports whether err is a failed TLS handshake with the
// orchestrator: an untrusted or mismatched certificate, or a plaintext
// server.
func isHandshakeFailure(err error) bool {
	return err != nil && status.Code(err) == codes.Unavailable &&
		strings.Contains(err.Error(), "authentication handshake failed")
}
