package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// externalModDir is a separate Go module (example.com/imagerext) that
// imports this package through a replace directive, the way a program
// outside the repository would.
const externalModDir = "testdata/externalmod"

// seenRequest is one request the test target received.
type seenRequest struct {
	Method, Path, Query, Body string
}

// recordingTarget is an HTTP target on 127.0.0.1 that remembers the first
// requests it receives.
type recordingTarget struct {
	mu   sync.Mutex
	seen []seenRequest
}

// maxRecorded bounds the memory the target uses if a run misbehaves.
const maxRecorded = 10000

func (rt *recordingTarget) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	rt.mu.Lock()
	if len(rt.seen) < maxRecorded {
		rt.seen = append(rt.seen, seenRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Body: string(body)})
	}
	rt.mu.Unlock()
	_, _ = w.Write([]byte("ok\n"))
}

func (rt *recordingTarget) requests() []seenRequest {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return slices.Clone(rt.seen)
}

// tableRows are the requests of the CSV table given to the csv-table
// source; the test target must see exactly these.
var tableRows = []seenRequest{
	{Method: "GET", Path: "/ext/alpha"},
	{Method: "GET", Path: "/ext/beta", Query: "tier=gold"},
	{Method: "POST", Path: "/ext/orders", Body: `{"qty":2}`},
}

const tableCSV = "method,path,query,body\n" +
	"GET,/ext/alpha,,\n" +
	"get,/ext/beta,tier=gold,\n" +
	`POST,/ext/orders,,"{""qty"":2}"` + "\n"

var randomSumQuery = regexp.MustCompile(`^a=\d+&b=\d+$`)

// TestExternalModule builds a program in its own module that runs the
// orchestrator with a custom request source and load calculator, and checks
// that the custom names reach the custom code, that built-in names still
// reach the built-ins, and that errors from either path fail the run.
func TestExternalModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a separate module; skipped with -short")
	}
	bin := buildExternal(t)
	tablePath := filepath.Join(t.TempDir(), "table.csv")
	if err := os.WriteFile(tablePath, []byte(tableCSV), 0o600); err != nil {
		t.Fatalf("write table: %v", err)
	}
	rates := []string{"-min-rps=10", "-max-rps=30", "-step-rps=10"}

	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantRates  []int                           // planned_rps of rounds 0, 1, ...
		checkReqs  func(*testing.T, []seenRequest) // nil: no request may arrive
		wantStderr []string
	}{
		{
			name:      "custom source and sawtooth",
			args:      append([]string{"-request-source-type=csv-table", "-request-source-file=" + tablePath, "-load-calculator=sawtooth"}, rates...),
			wantRates: []int{10, 20, 30, 10, 20, 30},
			checkReqs: func(t *testing.T, got []seenRequest) {
				hits := map[seenRequest]int{}
				for _, r := range got {
					if !slices.Contains(tableRows, r) {
						t.Errorf("target got %+v, which is not a row of the table", r)
						continue
					}
					hits[r]++
				}
				for _, row := range tableRows {
					if hits[row] == 0 {
						t.Errorf("target never got table row %+v (got %d requests)", row, len(got))
					}
				}
			},
		},
		{
			name:      "built-in fallback",
			args:      append([]string{"-request-source-type=random-sum", "-random-sum-path=/sum", "-load-calculator=step"}, rates...),
			wantRates: []int{10, 20, 30, 30, 30, 30},
			checkReqs: func(t *testing.T, got []seenRequest) {
				if len(got) == 0 {
					t.Errorf("target got no requests, want GET /sum?a=X&b=Y")
				}
				for _, r := range got {
					if r.Method != "GET" || r.Path != "/sum" || !randomSumQuery.MatchString(r.Query) {
						t.Errorf("target got %+v, want GET /sum?a=X&b=Y", r)
					}
				}
			},
		},
		{
			name:       "unknown calculator reaches built-in error",
			args:       append([]string{"-request-source-type=csv-table", "-request-source-file=" + tablePath, "-load-calculator=bogus"}, rates...),
			wantCode:   1,
			wantStderr: []string{"unknown -load-calculator", "bogus"},
		},
		{
			name:       "custom calculator rejects bad range",
			args:       []string{"-request-source-type=csv-table", "-request-source-file=" + tablePath, "-load-calculator=sawtooth", "-min-rps=40", "-max-rps=30"},
			wantCode:   1,
			wantStderr: []string{"-load-calculator=sawtooth", "min rate (40) is greater than max rate (30)"},
		},
		{
			name:       "custom source reports a missing table",
			args:       append([]string{"-request-source-type=csv-table", "-request-source-file=" + filepath.Join(t.TempDir(), "missing.csv"), "-load-calculator=sawtooth"}, rates...),
			wantCode:   1,
			wantStderr: []string{"-request-source-type=csv-table", "open request table"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			target := &recordingTarget{}
			srv := httptest.NewServer(target)
			defer srv.Close()

			args := append([]string{
				"-target-mode=url", "-target-url=" + srv.URL,
				"-duration=3s", "-round-interval=500ms",
				"-listen-port=0", "-grpc-port=0", "-log-format=json", "-seed=7",
			}, tc.args...)
			code, stderr := runExternal(t, bin, args)
			if code != tc.wantCode {
				t.Fatalf("exit code = %d, want %d; stderr:\n%s", code, tc.wantCode, stderr)
			}
			for _, want := range tc.wantStderr {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q; stderr:\n%s", want, stderr)
				}
			}
			if got := plannedRates(t, stderr); !slices.Equal(got, tc.wantRates) {
				t.Errorf("planned_rps by round = %v, want %v", got, tc.wantRates)
			}
			got := target.requests()
			if tc.checkReqs == nil {
				if len(got) != 0 {
					t.Errorf("target got %d requests, want none (first %+v)", len(got), got[0])
				}
				return
			}
			tc.checkReqs(t, got)
		})
	}
}

// seedExtDir is a module holding the extension example of the first
// README (a database request source, a random-spike calculator and the
// main that plugs them in), as written then.
const seedExtDir = "testdata/seedext"

// TestSeedExtensionExampleCompiles: programs written against the first
// public API still build.
func TestSeedExtensionExampleCompiles(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a separate module; skipped with -short")
	}
	bin := buildModule(t, seedExtDir)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("no binary after the build: %v", err)
	}
}

// buildExternal compiles the external module and returns the binary's path.
func buildExternal(t *testing.T) string { return buildModule(t, externalModDir) }

// buildModule compiles the module in modDir offline, from the module
// cache, and returns the binary's path.
func buildModule(t *testing.T, modDir string) string {
	t.Helper()
	dir, err := filepath.Abs(modDir)
	if err != nil {
		t.Fatalf("external module dir: %v", err)
	}
	// The go command caches test results by the files the test itself
	// opens or stats; stat the module's files so that editing them reruns
	// the test instead of reusing a stale pass.
	err = filepath.WalkDir(dir, func(path string, _ os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		_, err = os.Stat(path)
		return err
	})
	if err != nil {
		t.Fatalf("stat the files of %s: %v", dir, err)
	}
	bin := filepath.Join(t.TempDir(), "ext")
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = dir
	// Later entries win, so these override the caller's environment.
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=readonly -buildvcs=false", "GOWORK=off")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build in %s: %v\n%s", dir, err, out)
	}
	return bin
}

// runExternal runs bin with args for at most a minute and returns its exit
// code and standard error.
func runExternal(t *testing.T, bin string, args []string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s did not finish within the deadline; stderr:\n%s", bin, stderr.String())
	}
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return 0, stderr.String()
	case errors.As(err, &exitErr):
		return exitErr.ExitCode(), stderr.String()
	default:
		t.Fatalf("run %s: %v", bin, err)
		return -1, ""
	}
}

// plannedRates returns planned_rps of the JSON "round finished" log lines,
// indexed by round. Every round must be logged once, counting from 0.
func plannedRates(t *testing.T, stderr string) []int {
	t.Helper()
	byRound := map[int]int{}
	sc := bufio.NewScanner(strings.NewReader(stderr))
	for sc.Scan() {
		var line struct {
			Msg        string `json:"msg"`
			Round      *int   `json:"round"`
			PlannedRPS *int   `json:"planned_rps"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil || line.Msg != "round finished" {
			continue
		}
		if line.Round == nil || line.PlannedRPS == nil {
			t.Fatalf("round line without round or planned_rps: %s", sc.Text())
		}
		if _, dup := byRound[*line.Round]; dup {
			t.Fatalf("round %d logged twice", *line.Round)
		}
		byRound[*line.Round] = *line.PlannedRPS
	}
	var rates []int
	for i := range len(byRound) {
		rps, ok := byRound[i]
		if !ok {
			t.Fatalf("rounds logged %v are not 0..%d", byRound, len(byRound)-1)
		}
		rates = append(rates, rps)
	}
	return rates
}
