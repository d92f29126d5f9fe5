package soak

import (
	"errors"
	"fmt"
	"slices"
)

// Rule decides whether a series of samples, taken at a fixed interval over
// a soak, grows without bound. After the warm-up samples are set aside, the
// rest is cut in three thirds and each third is summed up by its median:
// early, middle and late. With the allowed growth
//
//	allowed = early*RelMargin + AbsMargin
//
// the series fails when it keeps growing: from the first third to the
// middle one by more than allowed/2, and again from the middle third to
// the last by more than allowed/2.
//
// A leak grows with the work done, at a fixed rate steadily, so it shows in
// both halves; for linear growth the rule is the same as "the last third
// exceeds the first by more than allowed". A bounded process passes: noise
// and single spikes do not move a median, and a single step (a connection
// pool growing once to a new high-water mark during a stall of the
// machine, the heap settling at a new size) moves only one of the two
// differences. Independently, no sample (warm-up included) may exceed
// Ceiling: that catches a process that is far too big from the start,
// which no growth rule sees.
type Rule struct {
	// Name names the series in errors, e.g. "rss_mib".
	Name string
	// RelMargin is the growth allowed as a fraction of the early median.
	RelMargin float64
	// AbsMargin is the growth allowed on top of RelMargin, in the unit of
	// the series; it keeps small series (a few fds) from failing on one
	// extra connection.
	AbsMargin float64
	// Ceiling is the largest value any sample may take.
	Ceiling float64
}

// errTooFew says a series is too short to be judged.
var errTooFew = errors.New("too few samples after the warm-up: need at least 3")

// Thirds returns the medians of the first, middle and last thirds of the
// samples after the first warm (the middle third takes the remainder). It
// fails when fewer than three samples remain.
func Thirds(values []float64, warm int) (early, middle, late float64, err error) {
	if warm < 0 || warm > len(values) {
		return 0, 0, 0, fmt.Errorf("warm-up of %d samples out of %d", warm, len(values))
	}
	post := values[warm:]
	if len(post) < 3 {
		return 0, 0, 0, errTooFew
	}
	k := len(post) / 3
	return Median(post[:k]), Median(post[k : len(post)-k]), Median(post[len(post)-k:]), nil
}

// Check applies the rule to values, of which the first warm are the
// warm-up. It returns nil when the series is bounded, else an error naming
// the series, the medians compared and the limit, or the sample over the
// ceiling.
func (r Rule) Check(values []float64, warm int) error {
	for i, v := range values {
		if v > r.Ceiling {
			return fmt.Errorf("%s: sample %d is %.1f, over the ceiling of %.1f", r.Name, i, v, r.Ceiling)
		}
	}
	early, middle, late, err := Thirds(values, warm)
	if err != nil {
		return fmt.Errorf("%s: %w", r.Name, err)
	}
	half := (early*r.RelMargin + r.AbsMargin) / 2
	if middle-early > half && late-middle > half {
		return fmt.Errorf("%s keeps growing: medians of the thirds %.1f -> %.1f -> %.1f, each step over %.1f (%.0f%% of the first plus %.1f, halved)",
			r.Name, early, middle, late, half, 100*r.RelMargin, r.AbsMargin)
	}
	return nil
}

// Median returns the median of a non-empty slice (the mean of the middle
// two for an even length), which it leaves as it is.
func Median(vs []float64) float64 {
	s := slices.Sorted(slices.Values(vs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
