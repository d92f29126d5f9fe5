//go:build !unix

package cluster

// lockFile is a no-op where flock is unavailable: concurrent first builds
// then race, and the last one to finish wins, which is wasteful but safe.
func lockFile(string, func()) (func(), error) {
	return func() {}, nil
}
