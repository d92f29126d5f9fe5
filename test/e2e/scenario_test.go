package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// scenariosDir is the folder of the shipped example scenarios.
func scenariosDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "scenarios"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// shippedScenarios lists every scenario file under scenarios/ (helper
// modules in lib/ are not scenarios).
func shippedScenarios(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(scenariosDir(t), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "lib" {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lua") {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 6 {
		t.Fatalf("found %d scenarios under %s, want at least 6", len(out), scenariosDir(t))
	}
	return out
}

// outcomes reads the summary's outcome counts.
var outcomesLine = regexp.MustCompile(`outcomes +success (\d+), 4xx (\d+), 5xx (\d+), timeouts (\d+), connection errors (\d+), dropped (\d+), lost (\d+)`)

// summaryCounts returns success and the sum of every other outcome.
func summaryCounts(t *testing.T, out string) (success, bad int) {
	t.Helper()
	m := outcomesLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no outcomes line in the summary:\n%s", out)
	}
	for i, s := range m[1:] {
		n, err := strconv.Atoi(s)
		if err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			success = n
		} else {
			bad += n
		}
	}
	return success, bad
}

// TestScenarioRun drives real traffic from Lua scenarios against a
// sumservice with `imager run`.
func TestScenarioRun(t *testing.T) {
	step := []string{"-min-rps=10", "-max-rps=30", "-step-rps=10", "-duration=3s"}
	tests := []struct {
		name   string
		file   string
		args   []string
		rounds int
		sent   int
	}{
		// Request sources under the built-in step calculator: 10+20+30.
		{"random-sum", "random-sum.lua", step, 3, 60},
		{"weighted-mix", "weighted-mix.lua", step, 3, 60},
		{"replay", "replay/replay.lua", step, 3, 60},
		// Both roles from Lua; the scenario ends the test itself.
		{"spike-soak", "spike-soak.lua", []string{"-scenario-options=baseline=10,baseline_s=1,spike=40,spike_s=1,soak=20,soak_s=1"}, 3, 70},
		// A Lua calculator with a built-in request source.
		{"step", "step.lua", []string{"-request-source-type=random-sum", "-scenario-options=start=10,step=5,max=20,rounds=3"}, 3, 45},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			target := startSumservice(t)
			args := append([]string{"run", "-scenario=" + filepath.Join(scenariosDir(t), tt.file), "-target-url=" + target,
				"-request-timeout=5s", "-seed=3"}, tt.args...)
			out, errOut, code := cli(t, time.Minute, false, args...)
			if code != 0 {
				t.Fatalf("exit code %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			if n := len(roundLine.FindAllString(out, -1)); n != tt.rounds {
				t.Errorf("%d round lines, want %d:\n%s", n, tt.rounds, out)
			}
			checkSummary(t, out)
			success, bad := summaryCounts(t, out)
			if success != tt.sent || bad != 0 {
				t.Errorf("summary: %d successes and %d other outcomes, want %d and 0:\n%s", success, bad, tt.sent, out)
			}
		})
	}
}

// TestScenarioDryRunCLI runs `imager dry-run` on every shipped scenario,
// in text and JSON.
func TestScenarioDryRunCLI(t *testing.T) {
	for _, file := range shippedScenarios(t) {
		name, _ := filepath.Rel(scenariosDir(t), file)
		t.Run(name, func(t *testing.T) {
			args := []string{"dry-run", "-scenario=" + file, "-rounds=6", "-samples=3"}
			out, errOut, code := cli(t, 30*time.Second, false, args...)
			if code != 0 {
				t.Fatalf("dry-run exit %d\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
			}
			for _, want := range []string{"dry run: nothing is sent", "round      rps", "    0 "} {
				if !strings.Contains(out, want) {
					t.Errorf("dry-run output lacks %q:\n%s", want, out)
				}
			}
			out, errOut, code = cli(t, 30*time.Second, false, append(args, "-format=json", "-target-url=http://127.0.0.1:9")...)
			if code != 0 {
				t.Fatalf("dry-run -format=json exit %d\nstderr:\n%s", code, errOut)
			}
			var got struct {
				Rounds []struct {
					RPS int `json:"rps"`
				} `json:"rounds"`
				Requests []struct {
					Method string `json:"method"`
					URL    string `json:"url"`
					Wire   string `json:"wire"`
				} `json:"requests"`
				Notes []string `json:"notes"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("dry-run JSON: %v\n%s", err, out)
			}
			if len(got.Rounds) != 6 {
				t.Errorf("%d rounds in the plan, want 6:\n%s", len(got.Rounds), out)
			}
			if len(got.Requests) == 0 && len(got.Notes) == 0 {
				t.Errorf("no sample requests and no note saying why:\n%s", out)
			}
			for _, r := range got.Requests {
				if !strings.HasPrefix(r.URL, "http://127.0.0.1:9/") || !strings.HasPrefix(r.Wire, r.Method+" /") {
					t.Errorf("sample %s %s (wire %q), want a request to http://127.0.0.1:9/", r.Method, r.URL, r.Wire)
				}
			}
		})
	}
}

// failingScenario's rps raises an error when asked for round 2 (line 7).
const failingScenario = `-- fails while planning round 2
function request()
  return { path = "/sum", query = { a = 1, b = 2 } }
end
function rps(round)
  if round.index == 2 then
    error("no rate for round " .. round.index)
  end
  return 10
end
`

// TestScenarioFailsMidRun checks that a scenario failing mid-run ends the
// test with a non-zero exit and the file:line message, and that the rounds
// measured before still make the summary.
func TestScenarioFailsMidRun(t *testing.T) {
	file := filepath.Join(t.TempDir(), "fails.lua")
	if err := os.WriteFile(file, []byte(failingScenario), 0o644); err != nil {
		t.Fatal(err)
	}
	const wantErr = "fails.lua:7: no rate for round 2"
	target := startSumservice(t)
	out, errOut, code := cli(t, time.Minute, false, "run", "-scenario="+file, "-target-url="+target, "-request-timeout=5s")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	if !strings.Contains(errOut, wantErr) {
		t.Errorf("stderr does not name the failure %q:\n%s", wantErr, errOut)
	}
	rounds := roundLine.FindAllString(out, -1)
	if len(rounds) != 2 || !strings.HasPrefix(rounds[0], "round   0") || !strings.HasPrefix(rounds[1], "round   1") {
		t.Errorf("round lines %q, want rounds 0 and 1:\n%s", rounds, out)
	}
	checkSummary(t, out)
	if !regexp.MustCompile(`rounds +2 over`).MatchString(out) {
		t.Errorf("summary does not hold 2 rounds:\n%s", out)
	}
	if success, bad := summaryCounts(t, out); success != 20 || bad != 0 {
		t.Errorf("summary: %d successes and %d other outcomes, want the 20 of rounds 0 and 1 and 0:\n%s", success, bad, out)
	}

	// A dry run finds the same mistake without sending anything.
	_, errOut, code = cli(t, 30*time.Second, false, "dry-run", "-scenario="+file, "-rounds=5")
	if code == 0 || !strings.Contains(errOut, wantErr) {
		t.Errorf("dry-run of the failing scenario: exit %d, stderr %q; want non-zero and %q", code, errOut, wantErr)
	}
}
