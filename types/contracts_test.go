package types_test

import (
	"errors"
	"testing"

	"github.com/PeladoCollado/imager/types"
)

// countdown is a LoadCalculator that returns its rates, then -1; err, when
// set, is what its Err method reports after that.
type countdown struct {
	rates    []int
	err      error
	observed []int64
	begun    []int64
}

func (c *countdown) Next() int {
	if len(c.rates) == 0 {
		return -1
	}
	r := c.rates[0]
	c.rates = c.rates[1:]
	return r
}

func (c *countdown) Err() error                 { return c.err }
func (c *countdown) Observe(o types.RoundStats) { c.observed = append(c.observed, o.Round) }
func (c *countdown) BeginRound(i int64)         { c.begun = append(c.begun, i) }

// nextOnly has Next and nothing else.
type nextOnly struct{ n int }

func (c *nextOnly) Next() int { c.n--; return c.n }

// native implements Calculator itself.
type native struct{ nextOnly }

func (native) NextRate(int64) (int, bool, error) { return 42, false, nil }

func TestCalculatorOf(t *testing.T) {
	boom := errors.New("boom")
	t.Run("negative rate stops", func(t *testing.T) {
		c := types.CalculatorOf(&countdown{rates: []int{5}})
		if rps, stop, err := c.NextRate(0); rps != 5 || stop || err != nil {
			t.Fatalf("round 0 = %d, %v, %v; want 5, false, nil", rps, stop, err)
		}
		if _, stop, err := c.NextRate(1); !stop || err != nil {
			t.Fatalf("round 1 = stop %v, err %v; want stop and no error", stop, err)
		}
	})
	t.Run("Err becomes the error", func(t *testing.T) {
		c := types.CalculatorOf(&countdown{err: boom})
		if _, stop, err := c.NextRate(0); !stop || !errors.Is(err, boom) {
			t.Fatalf("NextRate = stop %v, err %v; want stop with boom", stop, err)
		}
	})
	t.Run("zero is a rate, not a stop", func(t *testing.T) {
		c := types.CalculatorOf(&countdown{rates: []int{0}})
		if rps, stop, _ := c.NextRate(0); rps != 0 || stop {
			t.Fatalf("NextRate = %d, stop %v; want 0 without stop", rps, stop)
		}
	})
	t.Run("Observe and BeginRound pass through", func(t *testing.T) {
		inner := &countdown{rates: []int{1}}
		c := types.CalculatorOf(inner)
		c.(types.RoundHook).BeginRound(3)
		c.(types.Observer).Observe(types.RoundStats{Round: 2})
		if len(inner.begun) != 1 || inner.begun[0] != 3 || len(inner.observed) != 1 || inner.observed[0] != 2 {
			t.Fatalf("begun %v observed %v; want [3] and [2]", inner.begun, inner.observed)
		}
	})
	t.Run("a calculator without them ignores Observe and BeginRound", func(t *testing.T) {
		c := types.CalculatorOf(&nextOnly{n: 10})
		c.(types.RoundHook).BeginRound(0)
		c.(types.Observer).Observe(types.RoundStats{})
		if rps, _, _ := c.NextRate(0); rps != 9 {
			t.Fatalf("NextRate = %d, want 9", rps)
		}
	})
	t.Run("a Calculator is used as it is", func(t *testing.T) {
		c := types.CalculatorOf(&native{})
		if rps, _, _ := c.NextRate(0); rps != 42 {
			t.Fatalf("NextRate = %d, want the calculator's own 42", rps)
		}
	})
}
