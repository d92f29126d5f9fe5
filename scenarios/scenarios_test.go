// Package scenarios_test dry-runs every example scenario in this folder:
// each must load, produce the rate plan its comments promise and requests
// of the documented shape, the way `imager dry-run` shows them.
package scenarios_test

import (
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// target is where the dry runs pretend to send; nothing listens there.
const target = "http://127.0.0.1:9"

// helperDir holds modules the scenarios require; they are not scenarios.
const helperDir = "lib"

// scenarioFiles lists every .lua scenario under this folder, as paths
// relative to it, skipping helper modules.
func scenarioFiles(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == helperDir {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lua") {
			out = append(out, filepath.ToSlash(path))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walking the scenarios folder: %v", err)
	}
	if len(out) == 0 {
		t.Fatal("no scenarios found")
	}
	return out
}

// dryRun dry-runs the scenario file with extra flags, as `imager dry-run`
// would.
func dryRun(t *testing.T, file string, model manager.SyntheticTarget, rounds, samples int, extra ...string) (*app.DryRunResult, error) {
	t.Helper()
	args := append([]string{"-target-mode=url", "-target-url=" + target, "-scenario=" + file}, extra...)
	cfg, err := app.ParseConfig(args)
	if err != nil {
		t.Fatalf("ParseConfig(%q): %v", args, err)
	}
	return app.DryRun(cfg, model, rounds, samples)
}

// rates returns the planned rate of each round.
func rates(res *app.DryRunResult) []int {
	out := make([]int, 0, len(res.Rounds))
	for _, r := range res.Rounds {
		out = append(out, r.RPS)
	}
	return out
}

// repeat returns n copies of v.
func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// concat joins lists of rates.
func concat(parts ...[]int) []int { return slices.Concat(parts...) }

// dryRunCase is one dry run of a scenario and what it must show.
type dryRunCase struct {
	name    string
	file    string
	flags   []string
	model   manager.SyntheticTarget
	rounds  int
	samples int
	// wantRPS is the whole plan; the run must end exactly there when
	// ended is set, else these are its first rounds.
	wantRPS []int
	ended   bool
	// check inspects the sample requests.
	check func(t *testing.T, reqs []app.DryRunRequest)
	// wantNote is a substring of a note the dry run must carry.
	wantNote string
}

// builtInStep is the default step plan (-min-rps=5 -max-rps=50
// -step-rps=5) that request-only scenarios run under.
var builtInStep = []int{5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 50, 50}

func dryRunCases() []dryRunCase {
	return []dryRunCase{
		{
			name: "random-sum defaults", file: "random-sum.lua", rounds: 12, samples: 20,
			wantRPS: builtInStep, check: sumRequests(1, 1000),
		},
		{
			name: "random-sum options", file: "random-sum.lua", rounds: 3, samples: 3,
			flags:   []string{"-scenario-options=min=3,max=3,path=/add", "-load-calculator=step", "-min-rps=7", "-max-rps=7"},
			wantRPS: []int{7, 7, 7},
			check:   exactURLs(target+"/add?a=3&b=3", target+"/add?a=3&b=3", target+"/add?a=3&b=3"),
		},
		{
			name: "step defaults", file: "step.lua", rounds: 20, samples: 5,
			wantRPS: []int{5, 10, 15, 20, 25, 30, 35, 40, 45, 50}, ended: true,
			wantNote: "defines no request()",
			check:    exactURLs(),
		},
		{
			name: "step options with random-sum requests", file: "step.lua", rounds: 20, samples: 2,
			flags: []string{"-scenario-options=start=10,step=15,max=50,rounds=6",
				"-request-source-type=random-sum", "-random-sum-min=2", "-random-sum-max=2"},
			wantRPS: []int{10, 25, 40, 50, 50, 50}, ended: true,
			check: exactURLs(target+"/sum?a=2&b=2", target+"/sum?a=2&b=2"),
		},
		{
			name: "spike-soak defaults", file: "spike-soak.lua", rounds: 400, samples: 5,
			wantRPS: concat(repeat(20, 30), repeat(200, 10), repeat(50, 300)), ended: true,
			check: sumRequests(1, 1000),
		},
		{
			name: "spike-soak short", file: "spike-soak.lua", rounds: 20, samples: 2,
			flags:   []string{"-scenario-options=baseline=10,baseline_s=3,spike=100,spike_s=2,soak=30,soak_s=4,min=1,max=9"},
			wantRPS: []int{10, 10, 10, 100, 100, 30, 30, 30, 30}, ended: true,
			check: sumRequests(1, 9),
		},
		{
			name: "spike-soak half-second rounds", file: "spike-soak.lua", rounds: 20, samples: 0,
			flags:   []string{"-round-interval=500ms", "-scenario-options=baseline_s=1,spike_s=1,soak_s=1"},
			wantRPS: []int{20, 20, 200, 200, 50, 50}, ended: true,
		},
		{
			name: "adaptive-search converges on the model", file: "adaptive-search.lua", rounds: 40, samples: 3,
			flags: []string{"-scenario-options=start=10,max=1000"},
			// p99 = 4 * 20ms / (1 - rps/100) stays within 250ms up to 68 rps.
			model: manager.SyntheticTarget{BaseLatency: 20 * time.Millisecond, CapacityRPS: 100},
			wantRPS: concat(repeat(10, 3), repeat(20, 3), repeat(40, 3), repeat(80, 3), // ramp
				[]int{1},                     // recovery after 80 broke the limit
				repeat(60, 3), repeat(70, 3), // bisect: 60 holds, 70 does not
				repeat(60, 3)), // settle on 60
			ended: true,
			check: sumRequests(1, 1000),
		},
		{
			name: "adaptive-search errors count as unhealthy", file: "adaptive-search.lua", rounds: 40, samples: 0,
			flags:   []string{"-scenario-options=start=10,max=1000,max_error_ratio=0.1"},
			model:   manager.SyntheticTarget{ErrorRate: 0.5},
			wantRPS: concat(repeat(10, 3)), ended: true,
		},
		{
			name: "adaptive-search defaults", file: "adaptive-search.lua", rounds: 12, samples: 0,
			wantRPS: concat(repeat(5, 3), repeat(10, 3), repeat(20, 3), repeat(40, 3)),
		},
		{
			name: "replay", file: "replay/replay.lua", rounds: 12, samples: 8,
			wantRPS: builtInStep, check: replayRequests,
		},
		{
			name: "weighted-mix defaults", file: "weighted-mix.lua", rounds: 12, samples: 300,
			wantRPS: builtInStep, check: mixRequests(map[string]bool{"sum": true, "sum_json": true, "health": true}),
		},
		{
			name: "weighted-mix orders only", file: "weighted-mix.lua", rounds: 1, samples: 20,
			flags:   []string{"-scenario-options=sum=0,sum_json=0,health=0,orders=1"},
			wantRPS: []int{5}, check: mixRequests(map[string]bool{"orders": true}),
		},
	}
}

// TestScenariosDryRun dry-runs every shipped scenario; a scenario without
// a case here fails the test.
func TestScenariosDryRun(t *testing.T) {
	cases := dryRunCases()
	covered := map[string]bool{}
	for _, tc := range cases {
		covered[tc.file] = true
	}
	for _, f := range scenarioFiles(t) {
		if !covered[f] {
			t.Errorf("scenario %s has no dry-run case in dryRunCases", f)
		}
		delete(covered, f)
	}
	for f := range covered {
		t.Errorf("dry-run case for %s, which is not a scenario in this folder", f)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := dryRun(t, tc.file, tc.model, tc.rounds, tc.samples, tc.flags...)
			if err != nil {
				t.Fatalf("dry run of %s %q: %v", tc.file, tc.flags, err)
			}
			got := rates(res)
			if tc.ended {
				if !slices.Equal(got, tc.wantRPS) {
					t.Errorf("rate plan:\n got %v\nwant %v (then the end)", got, tc.wantRPS)
				}
			} else if len(got) < len(tc.wantRPS) || !slices.Equal(got[:len(tc.wantRPS)], tc.wantRPS) {
				t.Errorf("rate plan starts\n got %v\nwant %v", got, tc.wantRPS)
			}
			if tc.wantNote != "" && !slices.ContainsFunc(res.Notes, func(n string) bool { return strings.Contains(n, tc.wantNote) }) {
				t.Errorf("notes %q, want one containing %q", res.Notes, tc.wantNote)
			}
			if tc.check != nil {
				tc.check(t, res.Requests)
			}
		})
	}
}
