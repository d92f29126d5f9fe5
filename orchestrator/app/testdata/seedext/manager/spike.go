// The code below is the seed README's extension example, unchanged but
// for gofmt; TestSeedExtensionExampleCompiles builds it.

package manager

import (
	"math/rand"
	"time"
)

type RandomSpikeLoadCalculator struct {
	minRPS      int
	maxRPS      int
	baselineRPS int
	maxSpikeRPS int
	spikeChance int // 0-100
	rng         *rand.Rand
}

func NewRandomSpikeLoadCalculator(minRPS, maxRPS, baselineRPS, maxSpikeRPS, spikeChance int) LoadCalculator {
	return &RandomSpikeLoadCalculator{
		minRPS:      minRPS,
		maxRPS:      maxRPS,
		baselineRPS: baselineRPS,
		maxSpikeRPS: maxSpikeRPS,
		spikeChance: spikeChance,
		rng:         rand.New(rand.NewSource(time.Now().UnixNano())),
	}
}
func (c *RandomSpikeLoadCalculator) Next() int {
	rps := c.baselineRPS
	if c.rng.Intn(100) < c.spikeChance {
		rps += c.rng.Intn(c.maxSpikeRPS + 1)
	}
	if rps < c.minRPS {
		return c.minRPS
	}
	if rps > c.maxRPS {
		return c.maxRPS
	}
	return rps
}
