// Package e2e runs imager's binaries against a real kube-apiserver and etcd
// on loopback (test/k8s/cluster): it applies the kustomize trees in deploy/,
// checks the orchestrator's RBAC by impersonation, and runs the orchestrator
// out of cluster in pod and service modes against pods whose status points
// at sumservice processes on 127.0.0.x, with pod CPU and memory served
// through an aggregated metrics.k8s.io API.
//
// TestMain builds cmd/orchestrator, cmd/executor and cmd/sumservice once;
// when the test binary has the race detector, so do they, and a data race
// they report fails the test. The cluster binaries come from
// cluster.Binaries, which skips (or under CI=true fails) when they cannot
// be built.
package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
)

// bin holds the paths of the binaries TestMain builds, by command name.
var bin map[string]string

func TestMain(m *testing.M) {
	bins, cleanup, err := proc.BuildBinaries(proc.BuildOptions{Race: proc.RaceEnabled()}, "orchestrator", "executor", "sumservice")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = bins
	code := m.Run()
	cleanup()
	os.Exit(code)
}

// procTimeout bounds the life of every process a test starts.
const procTimeout = 4 * time.Minute

// stopTimeout bounds how long a process may take to exit after SIGTERM
// when a test stops it.
const stopTimeout = 30 * time.Second

// start runs a binary built by TestMain; it is stopped with SIGTERM (and
// killed 10s later if need be) when the test ends. A data race reported
// by a race-enabled binary fails the test.
func start(t *testing.T, name string, args ...string) *proc.Proc {
	t.Helper()
	return proc.Options{Timeout: procTimeout, TermGrace: 10 * time.Second, FailOnRace: true}.Start(t, bin[name], args...)
}

// sharedPort returns a port that was free a moment ago on every one of
// hosts (loopback addresses such as 127.0.0.2), so one container port can
// stand for several pods.
func sharedPort(t *testing.T, hosts ...string) int {
	t.Helper()
	for range 50 {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			t.Fatalf("listen on %s: %v", hosts[0], err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		ls := []net.Listener{first}
		ok := true
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return port
		}
	}
	t.Fatalf("no port free on all of %v", hosts)
	return 0
}

// repoRoot is the module root, three levels above this package.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", "..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root %s: %v", root, err)
	}
	return root
}
