// Package fuzzseed keeps the committed seed corpora of imager's Go fuzz
// targets in step with the code that makes them. A seed corpus lives in
// testdata/fuzz/<FuzzName>/ of the target's package, one file per seed in
// the "go test fuzz v1" format that go test reads. The seeds are real
// encoded values (wire reports, histograms) built by a test of the
// package, which calls Sync: normally Sync checks that every seed file is
// present and up to date; with IMAGER_FUZZ_SEEDS=write in the environment
// it (re)writes them instead.
package fuzzseed

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// WriteEnv is the environment variable that makes Sync write the seed
// files rather than check them.
const WriteEnv = "IMAGER_FUZZ_SEEDS"

// Seed is one corpus entry: its file name and the arguments of the fuzz
// function, in order.
type Seed struct {
	Name string
	Args []any
}

// Encode returns a corpus file holding args in the "go test fuzz v1"
// format. It supports the argument types imager's fuzz targets use:
// []byte, string, bool, int, int64, uint8, uint32 and uint64.
func Encode(args ...any) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for i, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%s)\n", strconv.Quote(string(v)))
		case string:
			fmt.Fprintf(&b, "string(%s)\n", strconv.Quote(v))
		case bool:
			fmt.Fprintf(&b, "bool(%t)\n", v)
		case int:
			fmt.Fprintf(&b, "int(%d)\n", v)
		case int64:
			fmt.Fprintf(&b, "int64(%d)\n", v)
		case uint8:
			fmt.Fprintf(&b, "byte(%s)\n", strconv.QuoteRune(rune(v)))
		case uint32:
			fmt.Fprintf(&b, "uint32(%d)\n", v)
		case uint64:
			fmt.Fprintf(&b, "uint64(%d)\n", v)
		default:
			return nil, fmt.Errorf("argument %d: type %T is not supported", i, a)
		}
	}
	return b.Bytes(), nil
}

// Sync checks (or, with IMAGER_FUZZ_SEEDS=write, writes) the seed files
// of fuzz target fuzzName in testdata/fuzz/<fuzzName>/ of the current
// package. Other files in the directory, such as failing inputs that go
// test saved, are left alone.
func Sync(t testing.TB, fuzzName string, seeds []Seed) {
	t.Helper()
	dir := filepath.Join("testdata", "fuzz", fuzzName)
	write := os.Getenv(WriteEnv) == "write"
	if write {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, s := range seeds {
		want, err := Encode(s.Args...)
		if err != nil {
			t.Fatalf("seed %s/%s: %v", fuzzName, s.Name, err)
		}
		path := filepath.Join(dir, s.Name)
		if write {
			if err := os.WriteFile(path, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("seed %s: %v (run the test with %s=write to create it)", path, err, WriteEnv)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("seed %s is out of date (run the test with %s=write to rewrite it)", path, WriteEnv)
		}
	}
}
