package proc

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// RunTests is the body of a TestMain that runs binaries: it stores in *bins
// the paths of the named commands, runs the tests and returns the exit code
// for os.Exit. With prebuilt empty it builds the commands (see
// BuildBinaries) and removes them afterwards; otherwise it uses the
// binaries of those names already in the directory prebuilt. A build or a
// missing binary is reported on stderr and returns 1 without running
// tests.
func RunTests(m *testing.M, opts BuildOptions, prebuilt string, bins *map[string]string, names ...string) int {
	if prebuilt != "" {
		found := map[string]string{}
		for _, name := range names {
			path, err := filepath.Abs(filepath.Join(prebuilt, name))
			if err == nil {
				_, err = os.Stat(path)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "prebuilt binaries in %s: %v\n", prebuilt, err)
				return 1
			}
			found[name] = path
		}
		*bins = found
		return m.Run()
	}
	built, cleanup, err := BuildBinaries(opts, names...)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer cleanup()
	*bins = built
	return m.Run()
}
