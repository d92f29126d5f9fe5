package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/PeladoCollado/imager/internal/metrics"
	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// dashboardPath is the shipped Grafana dashboard, relative to this package.
var dashboardPath = filepath.Join("..", "..", "deploy", "grafana", "imager.json")

// dashboardPanels are the panels the dashboard must have, by title.
var dashboardPanels = []string{
	"Planned vs achieved rps",
	"Round latency quantiles",
	"Run latency quantiles",
	"Outcomes",
	"Dropped and lost",
	"Executors",
	"Target CPU",
	"Target memory",
	"Target CPU per request",
	"Executor in-flight requests",
}

// podModeOnly are metric families the orchestrator exports only once it
// has read a target pod's usage from metrics.k8s.io (pod and service
// modes): they are labelled by pod, so in the url mode of this test they
// have no series yet and do not appear in a scrape.
var podModeOnly = map[string]bool{
	"imager_orchestrator_target_pod_cpu_millicores": true,
	"imager_orchestrator_target_pod_memory_bytes":   true,
}

// metricName matches the metric names in a PromQL expression. Label
// values (outcome="success") and functions never start with imager_.
var metricName = regexp.MustCompile(`\bimager_[A-Za-z0-9_:]*`)

type dashboardTarget struct {
	Expr  string `json:"expr"`
	RefID string `json:"refId"`
}

type dashboardPanel struct {
	ID         int               `json:"id"`
	Type       string            `json:"type"`
	Title      string            `json:"title"`
	Datasource json.RawMessage   `json:"datasource"`
	Targets    []dashboardTarget `json:"targets"`
	Panels     []dashboardPanel  `json:"panels"` // a collapsed row's panels
}

type dashboard struct {
	UID           string           `json:"uid"`
	Title         string           `json:"title"`
	SchemaVersion int              `json:"schemaVersion"`
	Panels        []dashboardPanel `json:"panels"`
	Templating    struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query string `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// loadDashboard parses the dashboard and returns it with its panels, rows
// excluded and collapsed rows' panels included.
func loadDashboard(t *testing.T) (dashboard, []dashboardPanel) {
	t.Helper()
	raw, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var panels []dashboardPanel
	var walk func([]dashboardPanel)
	walk = func(ps []dashboardPanel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			panels = append(panels, p)
		}
	}
	walk(d.Panels)
	return d, panels
}

// familyName maps a series name of a histogram or summary to its family.
func familyName(name string) string {
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if f, ok := strings.CutSuffix(name, suffix); ok {
			return f
		}
	}
	return name
}

// seriesNames turns proc.Scrape's keys (a series name followed by its
// labels, if any) into the set of series names.
func seriesNames(scraped map[string]float64) map[string]bool {
	names := map[string]bool{}
	for key := range scraped {
		if i := strings.IndexByte(key, '{'); i >= 0 {
			key = key[:i]
		}
		names[key] = true
	}
	return names
}

// podUsageSeries returns the series names the orchestrator's metrics
// export once a target pod's usage is known, gathered from the collectors
// the orchestrator binary registers (metrics.NewOrchestrator).
func podUsageSeries(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	om, err := metrics.NewOrchestrator(reg)
	if err != nil {
		t.Fatal(err)
	}
	om.SetPodUsage("ns", "pod", 1, 1)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, mf := range mfs {
		names[mf.GetName()] = true
	}
	return names
}

// balanced reports unbalanced brackets in a PromQL expression (a cheap
// syntax check: the module has no PromQL parser), or "".
func balanced(expr string) string {
	var stack []rune
	inString := false
	for _, r := range expr {
		switch {
		case r == '"':
			inString = !inString
		case inString:
		case r == '(' || r == '[' || r == '{':
			stack = append(stack, r)
		case r == ')' || r == ']' || r == '}':
			open := map[rune]rune{')': '(', ']': '[', '}': '{'}[r]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return "unbalanced " + string(r)
			}
			stack = stack[:len(stack)-1]
		}
	}
	if inString {
		return "unterminated string"
	}
	if len(stack) > 0 {
		return "unclosed " + string(stack[len(stack)-1])
	}
	return ""
}

func TestDashboardStructure(t *testing.T) {
	d, panels := loadDashboard(t)
	if d.UID == "" || d.Title == "" {
		t.Errorf("dashboard uid %q, title %q: want both set", d.UID, d.Title)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion %d, want a current one (>= 36)", d.SchemaVersion)
	}
	var hasDS bool
	for _, v := range d.Templating.List {
		if v.Name == "datasource" && v.Type == "datasource" && v.Query == "prometheus" {
			hasDS = true
		}
	}
	if !hasDS {
		t.Errorf("no datasource template variable of type prometheus named datasource")
	}

	byTitle := map[string]dashboardPanel{}
	ids := map[int]bool{}
	for _, p := range panels {
		if _, dup := byTitle[p.Title]; dup {
			t.Errorf("two panels titled %q", p.Title)
		}
		byTitle[p.Title] = p
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if !strings.Contains(string(p.Datasource), "${datasource}") {
			t.Errorf("panel %q: datasource %s, want the ${datasource} variable", p.Title, p.Datasource)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", p.Title)
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if strings.TrimSpace(tg.Expr) == "" {
				t.Errorf("panel %q target %q: empty expr", p.Title, tg.RefID)
			}
			if err := balanced(tg.Expr); err != "" {
				t.Errorf("panel %q target %q: %s in %q", p.Title, tg.RefID, err, tg.Expr)
			}
			if refs[tg.RefID] {
				t.Errorf("panel %q: refId %q used twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			// The dashboard must work with default scrape labels: no
			// job or namespace selectors, no variables but the datasource.
			for _, bad := range []string{"job=", "job!", "namespace=", "namespace!", "$job", "$namespace"} {
				if strings.Contains(strings.ReplaceAll(tg.Expr, " ", ""), bad) {
					t.Errorf("panel %q: expr %q depends on %s", p.Title, tg.Expr, bad)
				}
			}
		}
	}
	for _, title := range dashboardPanels {
		p, ok := byTitle[title]
		if !ok {
			t.Errorf("no panel titled %q", title)
			continue
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no targets", title)
		}
	}
}

// TestDashboardMetricsExported runs a short distributed test and checks
// that every metric name in the dashboard's queries is exported by the
// orchestrator or the executor.
func TestDashboardMetricsExported(t *testing.T) {
	_, panels := loadDashboard(t)
	used := map[string][]string{} // metric name -> panels using it
	for _, p := range panels {
		for _, tg := range p.Targets {
			for _, name := range metricName.FindAllString(tg.Expr, -1) {
				used[name] = append(used[name], p.Title)
			}
		}
	}
	if len(used) == 0 {
		t.Fatal("no imager_ metric names found in the dashboard's queries")
	}

	target := startSumservice(t)
	s := startOrchestrator(t, target, "-load-calculator=step", "-min-rps=10", "-max-rps=20", "-step-rps=10", "-duration=3s")
	s.addExecutor(t, "exec-a")
	s.waitExecutors(t, 1)
	s.orch.WaitFor(t, "round finished", 30*time.Second, func(ls []map[string]any) bool { return len(ls) >= 2 })
	series := seriesNames(proc.Scrape(t, s.orchHTTP+"/metrics"))
	for name := range seriesNames(proc.Scrape(t, s.execHTTP["exec-a"]+"/metrics")) {
		series[name] = true
	}
	if err := s.orch.Wait(t, 60*time.Second); err != nil {
		t.Fatalf("orchestrator exited with %v, want success after -duration", err)
	}

	families := map[string]bool{}
	for name := range series {
		families[familyName(name)] = true
	}
	podUsage := podUsageSeries(t)

	names := make([]string, 0, len(used))
	for name := range used {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		family := familyName(name)
		switch {
		case series[name]:
			// Exported as written (a histogram's _bucket included).
		case families[family]:
			// The family is exported, but not with this series: _bucket
			// on a gauge, or a classic histogram's bare family name.
			t.Errorf("%s (panels %q): the family %s is exported, but has no series %s", name, used[name], family, name)
		case podModeOnly[family] && podUsage[name]:
			t.Logf("%s: exported in pod and service modes only (no target pod in url mode)", name)
		default:
			t.Errorf("%s (panels %q) is exported by neither the orchestrator nor the executor", name, used[name])
		}
	}
}
