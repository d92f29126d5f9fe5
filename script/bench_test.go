package script

import (
	"fmt"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/types"
)

// benchScenario loads the benchmark scenario.
func benchScenario(b *testing.B) *Scenario {
	b.Helper()
	s, err := Load("testdata/bench/scenario.lua")
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// BenchmarkLuaRequest measures request() calls on one VM, conversion
// included.
func BenchmarkLuaRequest(b *testing.B) {
	vm, err := benchScenario(b).NewVM(VMConfig{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer vm.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := vm.Request(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
}

// BenchmarkLuaRequestExpect measures request() calls whose requests carry
// one expect table: cached, the table is converted and validated once per
// VM; uncached (the cache emptied before every call), at every request.
func BenchmarkLuaRequestExpect(b *testing.B) {
	s, err := Load("testdata/bench/expect.lua")
	if err != nil {
		b.Fatal(err)
	}
	for _, cached := range []bool{true, false} {
		b.Run(fmt.Sprintf("cached=%t", cached), func(b *testing.B) {
			vm, err := s.NewVM(VMConfig{Seed: 1})
			if err != nil {
				b.Fatal(err)
			}
			defer vm.Close()
			b.ReportAllocs()
			for b.Loop() {
				if !cached {
					vm.expects.reset()
				}
				spec, err := vm.Request()
				if err != nil || spec.Expect == nil {
					b.Fatal(spec.Expect, err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkLuaRequestBatch measures NextBatch(1000) across 1, 2 and 4 VMs.
func BenchmarkLuaRequestBatch(b *testing.B) {
	s := benchScenario(b)
	for _, vms := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("vms=%d", vms), func(b *testing.B) {
			src, err := NewRequestSource(s, VMConfig{Seed: 1}, vms)
			if err != nil {
				b.Fatal(err)
			}
			defer src.Close()
			const batch = 1000
			b.ReportAllocs()
			for b.Loop() {
				if _, err := src.NextBatch(batch); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)*batch/b.Elapsed().Seconds(), "req/s")
		})
	}
}

// BenchmarkLuaRPS measures one calculator round: Observe then Next.
func BenchmarkLuaRPS(b *testing.B) {
	calc, err := NewLoadCalculator(benchScenario(b), VMConfig{})
	if err != nil {
		b.Fatal(err)
	}
	defer calc.Close()
	obs := types.RoundStats{PlannedRPS: 100, AchievedRPS: 99.5, Planned: 100, Sent: 100, Success: 100, P50: 3 * time.Millisecond, P90: 8 * time.Millisecond, P99: 20 * time.Millisecond, Max: 40 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		calc.Observe(obs)
		if calc.Next() < 0 {
			b.Fatal(calc.Err())
		}
	}
}
