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
