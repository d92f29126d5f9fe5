package requests

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/PeladoCollado/imager/types"
)

// pcgStream is the second PCG seed word; the first is the caller's seed. Any
// fixed odd constant works, it only has to stay the same between releases so
// that a seed keeps producing the same requests.
const pcgStream = 0x9e3779b97f4a7c15

// RandomSumSource yields requests for the sumservice demo target:
// GET <path>?a=X&b=Y where X and Y are drawn independently and uniformly from
// [min, max]. The sequence depends only on the seed, so a test run can be
// repeated exactly; Reset starts the sequence over from the seed.
type RandomSumSource struct {
	path     string
	min, max int
	seed     int64
	pcg      *rand.PCG
	rng      *rand.Rand
	buf      []byte
}

var _ types.RequestSource = (*RandomSumSource)(nil)

// NewRandomSumSource returns a source of GET requests to path with query
// parameters a and b in [min, max]. path must start with '/' and must not
// hold a query ('?') or fragment ('#'); min must not exceed max.
func NewRandomSumSource(path string, min, max int, seed int64) (*RandomSumSource, error) {
	switch {
	case path == "":
		return nil, errors.New("random-sum source: path is empty")
	case path[0] != '/':
		return nil, fmt.Errorf("random-sum source: path %q must start with '/'", path)
	case strings.ContainsAny(path, "?#"):
		return nil, fmt.Errorf("random-sum source: path %q must not contain '?' or '#'", path)
	case min > max:
		return nil, fmt.Errorf("random-sum source: min %d is greater than max %d", min, max)
	}
	pcg := rand.NewPCG(uint64(seed), pcgStream)
	return &RandomSumSource{
		path: path,
		min:  min,
		max:  max,
		seed: seed,
		pcg:  pcg,
		rng:  rand.New(pcg),
		buf:  make([]byte, 0, 64),
	}, nil
}

// Next returns the next request of the sequence. It never fails.
func (s *RandomSumSource) Next() (types.RequestSpec, error) {
	b := append(s.buf[:0], "a="...)
	b = strconv.AppendInt(b, int64(s.draw()), 10)
	b = append(b, "&b="...)
	b = strconv.AppendInt(b, int64(s.draw()), 10)
	s.buf = b
	return types.RequestSpec{
		Method:      "GET",
		Path:        s.path,
		QueryString: string(b),
	}, nil
}

// Reset restarts the sequence from the seed given to NewRandomSumSource.
func (s *RandomSumSource) Reset() error {
	s.pcg.Seed(uint64(s.seed), pcgStream)
	return nil
}

// draw returns a uniform integer in [s.min, s.max]. The arithmetic is done
// on uint64 so that even the full int range neither overflows nor biases.
func (s *RandomSumSource) draw() int {
	span := uint64(s.max) - uint64(s.min) // max-min, exact modulo 2^64
	var off uint64
	if span == math.MaxUint64 {
		off = s.rng.Uint64()
	} else {
		off = s.rng.Uint64N(span + 1)
	}
	return int(uint64(s.min) + off)
}
