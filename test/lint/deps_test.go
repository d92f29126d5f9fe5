package lint

import (
	"os/exec"
	"strings"
	"testing"
)

// boundary is a package and the import paths its non-test build must not
// reach, directly or through another package.
type boundary struct {
	pkg string
	// forbidden are import-path prefixes.
	forbidden []string
	// stdlibOnly refuses every dependency outside the standard library.
	stdlibOnly bool
}

const module = "github.com/PeladoCollado/imager"

// boundaries are the dependency rules of the package layout
// (docs/ARCHITECTURE.md): the plug-in contracts need nothing but the
// standard library, a scenario runtime does not drag in the scheduler,
// metrics or the HTTP client, and the planning side does not link the HTTP
// client.
var boundaries = []boundary{
	{pkg: module + "/types", stdlibOnly: true},
	{pkg: module + "/script", forbidden: []string{
		module + "/orchestrator/", module + "/engine", module + "/metrics",
		"github.com/prometheus/", "github.com/valyala/fasthttp", "google.golang.org/grpc", "k8s.io/",
	}},
	// The scheduler and the wire format plan and carry requests; only
	// executors send them.
	{pkg: module + "/orchestrator/manager", forbidden: []string{module + "/engine", "github.com/valyala/fasthttp", "github.com/prometheus/"}},
	{pkg: module + "/proto/imager/v1", forbidden: []string{module + "/engine", "github.com/valyala/fasthttp"}},
}

// TestDependencyBoundaries runs go list -deps on each package of
// boundaries and names every dependency it must not have.
func TestDependencyBoundaries(t *testing.T) {
	for _, b := range boundaries {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}", b.pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", b.pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == b.pkg {
				continue
			}
			if b.stdlibOnly {
				t.Errorf("%s depends on %s; it may use only the standard library", b.pkg, dep)
				continue
			}
			for _, f := range b.forbidden {
				if strings.HasPrefix(dep, f) {
					t.Errorf("%s depends on %s (nothing under %s allowed)", b.pkg, dep, f)
				}
			}
		}
	}
}

// publicAPI is every importable package outside internal/: the ones
// README's Layout section documents as the Go API.
var publicAPI = []string{
	module + "/orchestrator/app",
	module + "/orchestrator/manager",
	module + "/proto/imager/v1",
	module + "/results",
	module + "/script",
	module + "/types",
}

// TestPublicPackagesAreTheDocumentedAPI fails when a package other
// programs could import (it has non-test Go files, is not a command and
// is not under internal/) is not one of publicAPI, or one of them is gone.
func TestPublicPackagesAreTheDocumentedAPI(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{if and .GoFiles (ne .Name \"main\")}}{{.ImportPath}}{{end}}", module+"/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	got := map[string]bool{}
	for _, p := range strings.Fields(string(out)) {
		if !strings.Contains(p, "/internal/") {
			got[p] = true
		}
	}
	for _, p := range publicAPI {
		if !got[p] {
			t.Errorf("%s is documented as API but is not an importable package", p)
		}
		delete(got, p)
	}
	for p := range got {
		t.Errorf("%s is importable but not documented as API: move it under internal/ or document it", p)
	}
}
