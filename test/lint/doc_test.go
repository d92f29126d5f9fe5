// Package lint holds repository-wide source checks that run with go test:
// they parse every Go file of the module and fail the test suite (and so
// make test) when a rule is broken. It has no code of its own to import.
package lint
