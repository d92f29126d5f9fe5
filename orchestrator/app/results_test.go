package app_test

import (
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/app"
	"github.com/PeladoCollado/imager/results"
)

// sink collects the results lines a run hands over.
type sink struct {
	run     *results.Run
	rounds  []*results.Round
	summary *results.Summary
}

var _ app.ResultSink = (*sink)(nil)

func (s *sink) Run(r *results.Run)         { s.run = r }
func (s *sink) Round(r *results.Round)     { s.rounds = append(s.rounds, r) }
func (s *sink) Summary(r *results.Summary) { s.summary = r }

func TestScenarioThresholdsJudgeTheRun(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.lua")
	src := `
thresholds = {"error_rate <= 0.1", "p99 < 10s"}
local i = 0
function request()
  i = i + 1
  if i % 2 == 0 then return {path = "/missing", name = "missing"} end
  return {path = "/", name = "home"}
end
`
	if err := os.WriteFile(scenario, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.ndjson")
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=" + srv.URL, "-listen-port=0", "-grpc-port=0",
		"-rate=20", "-duration=1s", "-round-interval=500ms", "-scenario=" + scenario, "-out=" + out, "-threshold=dropped == 0"})
	if err != nil {
		t.Fatal(err)
	}
	var got sink
	err = app.Run(t.Context(), cfg, app.RunOptions{Logger: discard(), LocalExecutors: 1, Results: &got})
	var verdict *app.VerdictError
	if !errors.As(err, &verdict) {
		t.Fatalf("Run = %v, want a failed verdict (half the requests are 404s)", err)
	}
	s := got.summary
	if s == nil || verdict.Summary != s || len(s.Thresholds) != 3 {
		t.Fatalf("summary %+v, want the verdict of 3 thresholds", s)
	}
	want := []struct {
		expr   string
		passed bool
	}{{"dropped == 0", true}, {"error_rate <= 0.1", false}, {"p99 < 10s", true}}
	for i, w := range want {
		if th := s.Thresholds[i]; th.Expression != w.expr || th.Passed != w.passed {
			t.Errorf("threshold %d = %+v, want %q passed=%v", i, th, w.expr, w.passed)
		}
	}
	if s.Thresholds[1].Value != 0.5 || !strings.Contains(s.Reason, "error_rate <= 0.1 (measured 0.5)") {
		t.Errorf("error_rate measured %v, reason %q; want 0.5", s.Thresholds[1].Value, s.Reason)
	}
	if got.run == nil || len(got.run.Thresholds) != 3 || got.run.ScenarioSHA256 == "" || len(got.rounds) != 2 {
		t.Errorf("run line %+v and %d rounds", got.run, len(got.rounds))
	}
	f, err := results.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if f.Summary == nil || f.Summary.Passed || len(f.Rounds) != 2 || len(f.Summary.Names) != 2 {
		t.Errorf("results file: %d rounds, summary %+v", len(f.Rounds), f.Summary)
	}
}

func TestBadScenarioThresholdIsAnError(t *testing.T) {
	dir := t.TempDir()
	scenario := filepath.Join(dir, "s.lua")
	if err := os.WriteFile(scenario, []byte(`thresholds = {"p99 < quick"}
function request() return {path = "/"} end`), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "results.ndjson")
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=http://127.0.0.1:1", "-listen-port=0", "-grpc-port=0",
		"-rate=1", "-duration=1s", "-scenario=" + scenario, "-out=" + out})
	if err != nil {
		t.Fatal(err)
	}
	err = app.Run(t.Context(), cfg, app.RunOptions{Logger: discard(), LocalExecutors: 1})
	if err == nil || !strings.Contains(err.Error(), scenario) || !strings.Contains(err.Error(), `"p99 < quick"`) {
		t.Errorf("Run = %v, want an error naming the scenario and the expression", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a run refused at start-up left a results file (%v)", err)
	}
}

func TestFlagValuesRedactSecrets(t *testing.T) {
	cfg, err := app.ParseConfig([]string{"-target-mode=url", "-target-url=http://user:hunter2@127.0.0.1:1/x",
		"-H=Authorization: Bearer hunter2", "-H=X-Trace: 1", "-rate=5"})
	if err != nil {
		t.Fatal(err)
	}
	fv := cfg.FlagValues()
	for name, v := range fv {
		if strings.Contains(v, "hunter2") {
			t.Errorf("-%s = %q leaks the secret", name, v)
		}
	}
	if fv["rate"] != "5" || fv["H"] != "Authorization: xxxxx, X-Trace: 1" || fv["target-url"] != "http://user:xxxxx@127.0.0.1:1/x" {
		t.Errorf("FlagValues = %v", fv)
	}
	if _, ok := fv["min-rps"]; ok {
		t.Errorf("FlagValues lists -min-rps, which was left at its default: %v", fv)
	}
}

// discard is a logger that writes nowhere.
func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
