package executor

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	"github.com/PeladoCollado/imager/internal/version"
)

// An executor sends the same random instance in every Hello, across
// reconnects, and two executors send different ones.
func TestInstanceStableAcrossReconnects(t *testing.T) {
	f := startFake(t, func(conn int, st serverStream) error {
		if conn%2 == 1 {
			return status.Error(codes.Unavailable, "try again")
		}
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	var instances []string
	for range 2 {
		logs := &proc.Buffer{}
		e := startExecutor(t, newExecutor(t, testConfig(f.addr, logs)), logs)
		first, second := f.nextHello(t).hello.GetInstance(), f.nextHello(t).hello.GetInstance()
		if first == "" || first != second {
			t.Errorf("instances %q then %q across a reconnect, want one non-empty value", first, second)
		}
		instances = append(instances, first)
		e.stop()
	}
	if instances[0] == instances[1] {
		t.Errorf("two executors sent the same instance %q", instances[0])
	}
}

// Without Config.Version, Hello carries this build's version, the string
// every imager binary prints with -version.
func TestHelloDefaultVersion(t *testing.T) {
	f := startFake(t, func(_ int, st serverStream) error {
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	logs := &proc.Buffer{}
	cfg := testConfig(f.addr, logs)
	cfg.Version = ""
	e := startExecutor(t, newExecutor(t, cfg), logs)
	defer e.stop()
	if got, want := f.nextHello(t).hello.GetVersion(), version.String(); got != want || got == "" {
		t.Errorf("Hello version = %q, want %q", got, want)
	}
}
