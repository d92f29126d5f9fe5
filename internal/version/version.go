// Package version holds imager's build version: one string, stamped into
// every binary and image at link time and printed the same way by each of
// them.
//
// The Makefile and the Dockerfiles stamp it with
//
//	go build -ldflags "-X github.com/PeladoCollado/imager/internal/version.version=v1.2.3"
//
// An unstamped build falls back to imager's module version as the go tool
// recorded it (for instance when imager is a dependency at a tagged
// version), and else to Fallback.
package version

import (
	"fmt"
	"io"
	"runtime/debug"
)

// Fallback is the version of a build that was not stamped and whose
// module version the go tool did not record (a build from a plain source
// tree, or with -buildvcs=false).
const Fallback = "devel"

// modulePath is imager's module path, looked up in the build information.
const modulePath = "github.com/PeladoCollado/imager"

// version is set at link time with -X; empty means unstamped. It must stay
// a variable initialised to a constant string for -X to work.
var version string

// resolved is String's answer, worked out once.
var resolved = resolve(version, debug.ReadBuildInfo)

// String returns the build version: the stamped one, else imager's module
// version from the build information when that is a real version, else
// Fallback. It never returns an empty string.
func String() string {
	return resolved
}

// Print writes the version as its own line to w: the output of every
// binary's -version flag and of `imager version`.
func Print(w io.Writer) error {
	_, err := fmt.Fprintln(w, String())
	return err
}

// resolve picks the version from the stamped value and the build
// information read reports.
func resolve(stamped string, read func() (*debug.BuildInfo, bool)) string {
	if stamped != "" {
		return stamped
	}
	info, ok := read()
	if !ok || info == nil {
		return Fallback
	}
	if info.Main.Path == modulePath {
		return orFallback(info.Main.Version)
	}
	for _, dep := range info.Deps {
		if dep.Path != modulePath {
			continue
		}
		if dep.Replace != nil {
			return orFallback(dep.Replace.Version)
		}
		return orFallback(dep.Version)
	}
	return Fallback
}

// orFallback returns v when it is a real module version, else Fallback:
// the go tool writes "(devel)" for a main module it has no version of, and
// a directory replacement has none at all.
func orFallback(v string) string {
	if v == "" || v == "(devel)" {
		return Fallback
	}
	return v
}
