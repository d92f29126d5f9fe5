//go:build !race

// Package race tells tests whether they run under the race detector, which
// allocates on its own and makes sync.Pool drop items at random, so that
// allocation and timing tests can skip themselves there.
package race

// Enabled reports whether the binary was built with the race detector.
const Enabled = false
