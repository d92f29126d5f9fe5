package proc

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// childArg makes the test binary act as a child process for Start: the
// argument after it names what the child does (see runChild).
const childArg = "proc-test-child"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == childArg {
		os.Exit(runChild(os.Args[2]))
	}
	os.Exit(m.Run())
}

// runChild writes log lines on stderr as the mode says and returns the
// exit code.
func runChild(mode string) int {
	switch mode {
	case "log":
		fmt.Fprintln(os.Stderr, `{"msg":"tick","n":1}`)
		fmt.Fprintln(os.Stderr, "not json")
		fmt.Fprintln(os.Stderr, `{"msg":"tick","n":"2"}`)
		fmt.Fprintln(os.Stderr, `{"msg":"other","n":3}`)
		return 0
	case "fail":
		fmt.Fprintln(os.Stderr, `{"msg":"giving up"}`)
		return 3
	case "serve":
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, syscall.SIGTERM)
		fmt.Fprintln(os.Stderr, `{"msg":"ready"}`)
		select {
		case <-sig:
			fmt.Fprintln(os.Stderr, `{"msg":"stopping"}`)
			return 0
		case <-time.After(time.Minute):
			return 1
		}
	default:
		return 2
	}
}

// startChild runs the test binary as a child in mode.
func startChild(t *testing.T, mode string) *Proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return Options{Timeout: time.Minute, TermGrace: 5 * time.Second}.Start(t, exe, childArg, mode)
}

func TestLogsCollected(t *testing.T) {
	p := startChild(t, "log")
	if err := p.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("child exited with %v, want success", err)
	}
	ticks := p.WaitFor(t, "tick", time.Second, func(ls []map[string]any) bool { return len(ls) == 2 })
	for i, want := range []float64{1, 2} {
		if got := Num(t, ticks[i], "n"); got != want {
			t.Errorf("tick %d: n = %v, want %v", i, got, want)
		}
	}
	if got := len(p.Logs("other")); got != 1 {
		t.Errorf("got %d other lines, want 1", got)
	}
	p.WaitRaw(t, "not json", time.Second)
}

func TestWaitReturnsExitError(t *testing.T) {
	p := startChild(t, "fail")
	err := p.Wait(t, 30*time.Second)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3", err)
	}
	if got := len(p.Logs("giving up")); got != 1 {
		t.Errorf("got %d giving-up lines, want 1", got)
	}
}

func TestStopSendsSIGTERM(t *testing.T) {
	p := startChild(t, "serve")
	p.WaitFor(t, "ready", 30*time.Second, func(ls []map[string]any) bool { return len(ls) == 1 })
	if err := p.Stop(t, 30*time.Second); err != nil {
		t.Fatalf("Stop = %v, want a clean exit", err)
	}
	if got := len(p.Logs("stopping")); got != 1 {
		t.Errorf("got %d stopping lines, want 1", got)
	}
}

func TestNum(t *testing.T) {
	line := map[string]any{"f": 2.5, "s": "7", "neg": "-1e3"}
	for _, tt := range []struct {
		key  string
		want float64
	}{
		{"f", 2.5},
		{"s", 7},
		{"neg", -1000},
	} {
		if got := Num(t, line, tt.key); got != tt.want {
			t.Errorf("Num(%q) = %v, want %v", tt.key, got, tt.want)
		}
	}
}

func TestScrape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, "# HELP a_total A.\n# TYPE a_total counter\na_total 3\n\n"+
			"b{pod=\"web a\",ns=\"x\"} 1.5\nc NaN-ish\nnovalue\n")
	}))
	defer srv.Close()
	got := Scrape(t, srv.URL)
	want := map[string]float64{"a_total": 3, `b{pod="web a",ns="x"}`: 1.5}
	if len(got) != len(want) {
		t.Errorf("Scrape = %v, want %v", got, want)
	}
	for series, v := range want {
		if got[series] != v {
			t.Errorf("series %s = %v, want %v", series, got[series], v)
		}
	}
}

func TestWaitHTTPWaitsForOK(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) < 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	WaitHTTP(t, srv.URL, 10*time.Second)
	if got := calls.Load(); got != 3 {
		t.Errorf("server saw %d requests, want 3 (two 503s, then 200)", got)
	}
}

func TestFreePort(t *testing.T) {
	port := FreePort(t)
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("listen on free port %d: %v", port, err)
	}
	l.Close()
}

// TestFreePortNeverRepeats asks for many ports in a row, closing nothing
// in between that FreePort does not close itself: the kernel often hands a
// just-closed port to the next request, and two servers of one test once
// got the same port that way.
func TestFreePortNeverRepeats(t *testing.T) {
	seen := map[int]bool{}
	for range 200 {
		port := FreePort(t)
		if seen[port] {
			t.Fatalf("FreePort returned %d twice", port)
		}
		seen[port] = true
	}
}
