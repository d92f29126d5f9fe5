package manager_test

import (
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// take returns the next n rates of c.
func take(c manager.LoadCalculator, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = c.Next()
	}
	return out
}

func TestStepFunctionLoadCalculator(t *testing.T) {
	tests := []struct {
		name           string
		min, max, step int
		want           []int
	}{
		{"seed profile", 5, 50, 5, []int{5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 50, 50}},
		{"max not a multiple of step", 10, 35, 10, []int{10, 20, 30, 35, 35, 35}},
		{"step larger than range", 10, 12, 100, []int{10, 12, 12}},
		{"min zero", 0, 30, 10, []int{0, 10, 20, 30, 30}},
		{"min equals max", 40, 40, 10, []int{40, 40, 40}},
		{"all zero", 0, 0, 1, []int{0, 0, 0}},
		{"step zero becomes one", 3, 6, 0, []int{3, 4, 5, 6, 6}},
		{"negative step becomes one", 3, 5, -4, []int{3, 4, 5, 5}},
		{"negative min becomes zero", -7, 2, 1, []int{0, 1, 2, 2}},
		{"max below min is raised to min", 60, 50, 5, []int{60, 60, 60}},
		{"negative bounds become zero", -5, -1, 3, []int{0, 0}},
		{"no overflow near MaxInt", math.MaxInt - 5, math.MaxInt, 4, []int{math.MaxInt - 5, math.MaxInt - 1, math.MaxInt, math.MaxInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := manager.NewStepFunctionLoadCalculator(tt.min, tt.max, tt.step)
			if got := take(c, len(tt.want)); !slices.Equal(got, tt.want) {
				t.Errorf("step(%d, %d, %d) = %v, want %v", tt.min, tt.max, tt.step, got, tt.want)
			}
		})
	}
}

func TestExponentialLoadCalculator(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		want     []int
	}{
		{"power of two range", 10, 80, []int{10, 20, 40, 80, 80, 80}},
		{"cap between doublings", 10, 500, []int{10, 20, 40, 80, 160, 320, 500, 500}},
		{"min zero", 0, 10, []int{0, 1, 2, 4, 8, 10, 10}},
		{"min one", 1, 5, []int{1, 2, 4, 5, 5}},
		{"min equals max", 7, 7, []int{7, 7, 7}},
		{"all zero", 0, 0, []int{0, 0, 0}},
		{"max below min is raised to min", 60, 50, []int{60, 60}},
		{"negative min becomes zero", -3, 4, []int{0, 1, 2, 4, 4}},
		{"no overflow near MaxInt", math.MaxInt / 2, math.MaxInt, []int{math.MaxInt / 2, math.MaxInt - 1, math.MaxInt, math.MaxInt}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := manager.NewExponentialLoadCalculator(tt.min, tt.max)
			if got := take(c, len(tt.want)); !slices.Equal(got, tt.want) {
				t.Errorf("exponential(%d, %d) = %v, want %v", tt.min, tt.max, got, tt.want)
			}
		})
	}
}

func TestLogarithmicLoadCalculator(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
		want     []int
	}{
		{"zero to 100", 0, 100, []int{0, 29, 46, 58, 67, 75, 81, 87, 92, 96, 100, 100}},
		{"10 to 500", 10, 500, []int{10, 152, 234, 293, 339, 376, 408, 435, 459, 481, 500, 500}},
		{"100 to 1000", 100, 1000, []int{100, 360, 512, 620, 704, 772, 830, 880, 925, 964, 1000, 1000}},
		{"narrow range", 0, 3, []int{0, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 3}},
		{"min equals max", 5, 5, []int{5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5}},
		{"max below min is raised to min", 9, 2, []int{9, 9, 9}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := manager.NewLogarithmicLoadCalculator(tt.min, tt.max)
			if got := take(c, len(tt.want)); !slices.Equal(got, tt.want) {
				t.Errorf("logarithmic(%d, %d) = %v, want %v", tt.min, tt.max, got, tt.want)
			}
		})
	}
}

func TestConstantLoadCalculator(t *testing.T) {
	tests := []struct {
		rps  int
		want []int
	}{
		{20, []int{20, 20, 20, 20}},
		{0, []int{0, 0}},
		{-3, []int{0, 0}},
		{math.MaxInt, []int{math.MaxInt, math.MaxInt}},
	}
	for _, tt := range tests {
		if got := take(manager.NewConstantLoadCalculator(tt.rps), len(tt.want)); !slices.Equal(got, tt.want) {
			t.Errorf("NewConstantLoadCalculator(%d) rates = %v, want %v", tt.rps, got, tt.want)
		}
	}
	// Safe for concurrent use: Next holds no state.
	c := manager.NewConstantLoadCalculator(7)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				if got := c.Next(); got != 7 {
					t.Errorf("concurrent Next() = %d, want 7", got)
					return
				}
			}
		})
	}
	wg.Wait()
}
