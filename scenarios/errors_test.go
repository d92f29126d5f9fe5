package scenarios_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// breakCopy copies the scenario src (and extra files of its folder) into a
// fresh folder, replacing old with bad in the scenario, and returns the
// copy's path and the 1-based line of the first line of bad.
func breakCopy(t *testing.T, src, old, bad string, extra ...string) (path string, line int) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, old)
	if i < 0 {
		t.Fatalf("%s does not contain %q: update the test", src, old)
	}
	text = text[:i] + bad + text[i+len(old):]
	dir := t.TempDir()
	path = filepath.Join(dir, filepath.Base(src))
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, f := range extra {
		b, err := os.ReadFile(filepath.Join(filepath.Dir(src), f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return path, strings.Count(text[:i], "\n") + 1
}

// lineOf is the 1-based line of the first occurrence of s in text.
func lineOf(t *testing.T, text, s string) int {
	t.Helper()
	i := strings.Index(text, s)
	if i < 0 {
		t.Fatalf("%q not found", s)
	}
	return strings.Count(text[:i], "\n") + 1
}

// TestScenariosBrokenCopyDryRun dry-runs broken copies of shipped
// scenarios: each must fail with an error naming the file and line of the
// mistake and saying what went wrong.
func TestScenariosBrokenCopyDryRun(t *testing.T) {
	tests := []struct {
		name   string
		src    string
		old    string
		bad    string
		extra  []string
		flags  []string
		atFunc string // when set, the error names the line where this text is (a function's definition)
		want   string
	}{
		{
			name: "syntax error", src: "step.lua",
			old: "return math.min(start + round.index * step, max)", bad: "return math.min(start + round.index * * step, max)",
			want: "syntax error near '*'",
		},
		{
			name: "runtime error in rps", src: "step.lua",
			old: "if round.index >= rounds then", bad: "if round.index >= round.count.limit then",
			want: "attempt to index",
		},
		{
			name: "rps returns a string", src: "step.lua",
			old: "return math.min(start + round.index * step, max)", bad: "return tostring(start + round.index * step)",
			atFunc: "function rps(round)", want: "want a number (requests per second), or nil to end the test",
		},
		{
			name: "error() in setup", src: "step.lua", flags: []string{"-scenario-options=start=x"},
			old:  "    error(string.format(\"option %s=%q is not a number\", name, raw))",
			bad:  "    error(string.format(\"option %s=%q is not a number\", name, raw))",
			want: `option start="x" is not a number`,
		},
		{
			name: "misspelt request field", src: "weighted-mix.lua",
			old: "    headers = headers,\n", bad: "    heders = headers,\n",
			atFunc: "function request()", want: `field "heders": unknown field`,
		},
		{
			name: "bad header in the replay data", src: "replay/replay.lua", flags: []string{"-scenario-options=file=broken.csv"},
			old:   "error(string.format(\"%s: header %q is not \\\"Name: value\\\"\", where, pair))",
			bad:   "error(string.format(\"%s: header %q is not \\\"Name: value\\\"\", where, pair))",
			extra: []string{"requests.csv"},
			want:  `broken.csv line 3: header "Accept text/plain" is not "Name: value"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, line := breakCopy(t, tt.src, tt.old, tt.bad, tt.extra...)
			if tt.atFunc != "" {
				b, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				line = lineOf(t, string(b), tt.atFunc)
			}
			if strings.Contains(strings.Join(tt.flags, " "), "broken.csv") {
				csv := "method,path,query,body,headers\nGET,/sum,a=1&b=2,,\nGET,/sum,a=2&b=2,,Accept text/plain\n"
				if err := os.WriteFile(filepath.Join(filepath.Dir(path), "broken.csv"), []byte(csv), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := dryRun(t, path, manager.SyntheticTarget{}, 5, 3, tt.flags...)
			if err == nil {
				t.Fatalf("dry run of the broken %s succeeded, want an error", tt.src)
			}
			t.Logf("error: %v", err)
			pos := fmt.Sprintf("%s:%d:", filepath.Base(tt.src), line)
			if msg := err.Error(); !strings.Contains(msg, pos) || !strings.Contains(msg, tt.want) {
				t.Errorf("error %q\nwant it to name %s and say %q", msg, pos, tt.want)
			}
		})
	}
}
