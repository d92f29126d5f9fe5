package script

import (
	"fmt"
	"reflect"
	"testing"

	lua "github.com/yuin/gopher-lua"

	"github.com/PeladoCollado/imager/types"
)

// counterScenario numbers requests per VM and adds a seeded random value.
const counterScenario = `
n = 0
function request()
  n = n + 1
  if n == fail_at then error("request " .. n .. " failed") end
  return {path = "/" .. n, query = {r = math.random(1, 1000000000)}}
end
function reset() n = 0 end
`

func paths(specs []types.RequestSpec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Path
	}
	return out
}

func TestNextBatchSplitsAcrossVMs(t *testing.T) {
	s := loadSource(t, counterScenario, nil)
	tests := []struct {
		n    int
		want []string
	}{
		{n: 10, want: []string{"/1", "/2", "/3", "/1", "/2", "/3", "/1", "/2", "/1", "/2"}},
		{n: 2, want: []string{"/1", "/1"}},
		{n: 4, want: []string{"/1", "/1", "/1", "/1"}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			src, err := NewRequestSource(s, VMConfig{Seed: 7}, 4)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			got, err := src.NextBatch(tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(paths(got), tt.want) {
				t.Errorf("NextBatch(%d) paths = %v, want %v", tt.n, paths(got), tt.want)
			}
		})
	}
}

func TestNextBatchDeterministic(t *testing.T) {
	s := loadSource(t, counterScenario, nil)
	batches := func(seed int64, vms int) [][]types.RequestSpec {
		src, err := NewRequestSource(s, VMConfig{Seed: seed}, vms)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		var out [][]types.RequestSpec
		for _, n := range []int{100, 37, 5} {
			b, err := src.NextBatch(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) != n {
				t.Fatalf("NextBatch(%d) returned %d requests", n, len(b))
			}
			out = append(out, b)
		}
		return out
	}
	a, b := batches(7, 4), batches(7, 4)
	if !reflect.DeepEqual(a, b) {
		t.Error("two sources with seed 7 and 4 VMs produced different batches")
	}
	if c := batches(8, 4); reflect.DeepEqual(a, c) {
		t.Error("seeds 7 and 8 produced the same batches")
	}
	// VM i is seeded with Seed+i: VM 1 of seed 7 is VM 0 of seed 8.
	one := batches(8, 1)
	if got, want := a[0][25].QueryString, one[0][0].QueryString; got != want {
		t.Errorf("VM 1 of seed 7 drew %q, VM 0 of seed 8 drew %q; want equal", got, want)
	}
}

func TestRequestSourceNextResetAndErrors(t *testing.T) {
	s := loadSource(t, counterScenario, nil)
	src, err := NewRequestSource(s, VMConfig{}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if src.VMs() != 2 {
		t.Errorf("VMs() = %d, want 2", src.VMs())
	}
	for _, want := range []string{"/1", "/2"} {
		spec, err := src.Next()
		if err != nil || spec.Path != want {
			t.Fatalf("Next() = %q, %v; want %q", spec.Path, err, want)
		}
	}
	if _, err := src.NextBatch(4); err != nil {
		t.Fatal(err)
	}
	if err := src.Reset(); err != nil {
		t.Fatal(err)
	}
	got, err := src.NextBatch(4)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"/1", "/2", "/1", "/2"}; !reflect.DeepEqual(paths(got), want) {
		t.Errorf("after Reset paths = %v, want %v", paths(got), want)
	}
	if b, err := src.NextBatch(0); b != nil || err != nil {
		t.Errorf("NextBatch(0) = %v, %v; want nil, nil", b, err)
	}

	// A VM that fails fails the whole batch with the scenario's message:
	// VM 1 is at n = 2 and fails on its second request of the batch.
	src.vms[1].L.SetGlobal("fail_at", lua.LNumber(4))
	_, err = src.NextBatch(6)
	wantErr(t, err, "scenario.lua:5: request 4 failed (in request())")
}
