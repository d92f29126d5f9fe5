package app

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/PeladoCollado/imager/internal/k8s"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/script"
)

// TestFlagErrors: each typed library error is reworded to name the flags
// behind it, and stays in the chain for errors.As.
func TestFlagErrors(t *testing.T) {
	cause := errors.New("boom")
	tests := []struct {
		err  error
		want string
	}{
		{&manager.RangeError{Field: "min", Value: 60, Problem: "is greater than", Other: "max", OtherValue: 50},
			"-min-rps (60) is greater than -max-rps (50)"},
		{&manager.ExecutorWaitError{Want: 3, Have: 1, Wait: 2 * time.Minute},
			"-expect-executors=3: only 1 executor(s) joined within -executor-wait=2m0s"},
		{&script.MissingFunctionError{Scenario: "s.lua", Function: script.FuncRequest},
			"s.lua: -request-source-type=lua needs a request() function"},
		{&script.MissingFunctionError{Scenario: "s.lua", Function: script.FuncRPS},
			"s.lua: -load-calculator=lua needs an rps(round) function"},
		{&k8s.ClientConfigError{Source: k8s.SourceKubeconfig, Path: "/k", Err: cause}, "-kubeconfig /k: boom"},
		{&k8s.ClientConfigError{Source: k8s.SourceInCluster, Err: cause}, "-in-cluster: boom"},
		{&k8s.ClientConfigError{Source: k8s.SourceInCluster, Err: rest.ErrNotInCluster},
			"-in-cluster: not running in a Kubernetes pod (" + rest.ErrNotInCluster.Error() + "); outside the cluster pass -kubeconfig"},
		{&k8s.ClientConfigError{Source: k8s.SourceDefault, Err: cause},
			"-in-cluster=false and no -kubeconfig: no usable kubeconfig from KUBECONFIG or ~/.kube/config (boom); pass -kubeconfig"},
		{&k8s.ConfigError{Field: "PortName", Problem: "is port 70000: want 1 to 65535"}, "-target-port-name is port 70000: want 1 to 65535"},
	}
	for _, tt := range tests {
		got := flagErrors(fmt.Errorf("context: %w", tt.err))
		if got == nil || got.Error() != tt.want {
			t.Errorf("flagErrors(%v) = %v, want %q", tt.err, got, tt.want)
		}
		if target := tt.err; !errors.Is(got, target) {
			t.Errorf("flagErrors(%v) lost the library error from its chain", tt.err)
		}
	}
}

// TestFlagErrorsJoined: joined errors are reworded one by one; others and
// nil pass through.
func TestFlagErrorsJoined(t *testing.T) {
	if flagErrors(nil) != nil {
		t.Fatal("flagErrors(nil) is not nil")
	}
	plain := errors.New("plain")
	if flagErrors(plain) != plain {
		t.Fatal("flagErrors changed an error it has no flag for")
	}
	err := flagErrors(errors.Join(plain, &manager.RangeError{Field: "step", Value: -1, Problem: "must not be negative"}))
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != 2 || lines[0] != "plain" || !strings.HasPrefix(lines[1], "-step-rps (-1)") {
		t.Errorf("joined = %q", err)
	}
	var re *manager.RangeError
	if !errors.As(err, &re) || !errors.Is(err, plain) {
		t.Errorf("joined %v lost an error from its chain", err)
	}
}
