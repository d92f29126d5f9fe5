package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// cli runs the imager binary; with interrupt it sends SIGINT once round 1
// has been printed.
func cli(t *testing.T, timeout time.Duration, interrupt bool, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin["imager"], args...)
	var out, errb proc.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if interrupt {
		deadline := time.Now().Add(timeout / 2)
		for !strings.Contains(out.String(), "round   1") {
			if time.Now().After(deadline) {
				t.Fatalf("no round line within %v:\n%s\n%s", timeout/2, out.String(), errb.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
	}
	err := cmd.Wait()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
	default:
		t.Fatalf("imager %v: %v", args, err)
	}
	if ctx.Err() != nil {
		t.Fatalf("imager %v did not finish within %v", args, timeout)
	}
	return out.String(), errb.String(), code
}

var roundLine = regexp.MustCompile(`(?m)^round +\d+ +planned +\d+ rps +achieved +[\d.]+ rps`)

func checkSummary(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{"summary", "achieved rate", "outcomes       success", "latency        p50", "p90", "p99", "p99.9", "max"} {
		if !strings.Contains(out, want) {
			t.Errorf("summary lacks %q:\n%s", want, out)
		}
	}
}

func TestImagerRun(t *testing.T) {
	target := startSumservice(t)
	out, errOut, code := cli(t, time.Minute, false, "run", "-target-url="+target, "-request-source-type=random-sum",
		"-load-calculator=step", "-min-rps=10", "-max-rps=30", "-step-rps=10", "-duration=3s")
	if code != 0 {
		t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := len(roundLine.FindAllString(out, -1)); n != 3 {
		t.Errorf("%d round lines, want 3:\n%s", n, out)
	}
	checkSummary(t, out)
	if !strings.Contains(out, "planned 60, sent 60") || !strings.Contains(out, "success 60,") {
		t.Errorf("summary does not account for 10+20+30 requests:\n%s", out)
	}
}

func TestImagerRunInterrupted(t *testing.T) {
	target := startSumservice(t)
	out, errOut, code := cli(t, time.Minute, true, "run", "-target-url="+target, "-request-source-type=random-sum",
		"-load-calculator=step", "-min-rps=20", "-max-rps=20", "-step-rps=1")
	if code != 130 {
		t.Errorf("exit code %d after Ctrl-C, want 130\nstderr:\n%s", code, errOut)
	}
	checkSummary(t, out)
	// Rounds 0 and 1 (20 requests each) finished before the interrupt; the
	// summary must still hold them.
	m := regexp.MustCompile(`outcomes +success (\d+),`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no outcomes line:\n%s", out)
	}
	if n, _ := strconv.Atoi(m[1]); n < 40 {
		t.Errorf("summary after Ctrl-C counts %d successes, want at least the 40 of the finished rounds:\n%s", n, out)
	}
}

func TestImagerDemo(t *testing.T) {
	out, errOut, code := cli(t, time.Minute, false, "demo", "-duration=3s")
	if code != 0 {
		t.Fatalf("demo exit code %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if n := len(roundLine.FindAllString(out, -1)); n != 3 {
		t.Errorf("demo printed %d round lines, want 3:\n%s", n, out)
	}
	checkSummary(t, out)
}

func TestImagerRunBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "-target-url"},
		{[]string{"run", "-target-url=ftp://x"}, "-target-url"},
		{[]string{"run", "-target-url=http://127.0.0.1:1", "-executors=0"}, "-executors"},
		{[]string{"run", "-target-url=http://127.0.0.1:1", "-request-source-file=/nonexistent/requests.json", "-duration=1s"}, "/nonexistent/requests.json"},
		{[]string{"run", "-target-url=http://127.0.0.1:1", "-request-source-type=random-sum", "-min-rps=9", "-max-rps=3"}, "-min-rps"},
		{[]string{"bogus"}, "unknown command"},
	}
	for _, tt := range tests {
		_, errOut, code := cli(t, 30*time.Second, false, tt.args...)
		if code == 0 || !strings.Contains(errOut, tt.want) {
			t.Errorf("imager %v: exit %d, stderr %q; want non-zero and a message naming %q", tt.args, code, errOut, tt.want)
		}
	}
}

func TestImagerDryRunBuiltIns(t *testing.T) {
	args := []string{"dry-run", "-request-source-type=random-sum", "-random-sum-min=5", "-random-sum-max=5",
		"-load-calculator=step", "-min-rps=10", "-max-rps=30", "-step-rps=10", "-rounds=4", "-samples=2"}
	out, errOut, code := cli(t, 30*time.Second, false, args...)
	if code != 0 {
		t.Fatalf("dry-run exit %d: %s", code, errOut)
	}
	for _, want := range []string{"nothing is sent", "GET http://target.invalid/sum?a=5&b=5", "GET /sum?a=5&b=5 HTTP/1.1", "Host: target.invalid"} {
		if !strings.Contains(out, want) {
			t.Errorf("dry-run output lacks %q:\n%s", want, out)
		}
	}
	out, errOut, code = cli(t, 30*time.Second, false, append(args, "-format=json", "-target-url=http://127.0.0.1:9")...)
	if code != 0 {
		t.Fatalf("dry-run -format=json exit %d: %s", code, errOut)
	}
	var got struct {
		Rounds []struct {
			RPS int `json:"rps"`
		} `json:"rounds"`
		Requests []struct {
			URL string `json:"url"`
		} `json:"requests"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("dry-run JSON: %v\n%s", err, out)
	}
	var rates []int
	for _, r := range got.Rounds {
		rates = append(rates, r.RPS)
	}
	if fmt.Sprint(rates) != "[10 20 30 30]" || len(got.Requests) != 2 || got.Requests[0].URL != "http://127.0.0.1:9/sum?a=5&b=5" {
		t.Errorf("dry-run JSON rates %v requests %+v, want [10 20 30 30] and two requests to the given target", rates, got.Requests)
	}
}
