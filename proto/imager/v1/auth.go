package imagerv1

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ReadAuthTokenFile reads the shared control-plane token from path. Leading
// and trailing whitespace (a trailing newline from `echo`, say) is removed;
// an empty token is an error, since it would silently disable auth.
func ReadAuthTokenFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read auth token file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("auth token file %s: %w", path, errors.New("file is empty"))
	}
	return tok, nil
}

// TokensMatch compares a presented token with the expected one in constant
// time. An empty expected token means auth is off and anything matches.
func TokensMatch(want, got string) bool {
	if want == "" {
		return true
	}
	return subtle.ConstantTimeCompare([]byte(want), []byte(got)) == 1
}
