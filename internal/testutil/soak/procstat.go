// Package soak holds the pieces of imager's soak test (soak_test.go, built
// only with the "soak" build tag; run it with `make soak`): reading a
// process's resident memory and open file descriptors from /proc, the rule
// that decides whether a sampled series grows without bound, and the table
// of samples the test prints.
//
// The soak itself runs a sumservice, a standalone orchestrator and two
// executors on loopback at a fixed rate for SOAK_DURATION (default 10m)
// and samples each process every SOAK_INTERVAL (default 10s); see
// docs/BENCHMARKS.md, section Soak.
package soak

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// ReadRSS returns the resident set size of process pid in bytes, read from
// the VmRSS line of /proc/<pid>/status.
func ReadRSS(pid int) (int64, error) {
	path := fmt.Sprintf("/proc/%d/status", pid)
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("read rss: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:")
		if !ok {
			continue
		}
		// The value is printed as "<n> kB".
		fields := strings.Fields(rest)
		if len(fields) != 2 || fields[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected VmRSS line %q", path, sc.Text())
		}
		kb, err := strconv.ParseInt(fields[0], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: VmRSS: %w", path, err)
		}
		return kb * 1024, nil
	}
	if err := sc.Err(); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return 0, fmt.Errorf("%s: no VmRSS line (a zombie process?)", path)
}

// CountFDs returns how many file descriptors process pid has open: the
// entries of /proc/<pid>/fd.
func CountFDs(pid int) (int, error) {
	path := fmt.Sprintf("/proc/%d/fd", pid)
	entries, err := os.ReadDir(path)
	if err != nil {
		return 0, fmt.Errorf("count fds: %w", err)
	}
	return len(entries), nil
}
