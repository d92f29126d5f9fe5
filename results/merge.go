package results

import (
	"fmt"
	"sort"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
)

// Totals returns f's summary or, when the run was killed before it wrote
// one, a summary built from its rounds by MergeRounds; rebuilt says which.
func (f *File) Totals() (s *Summary, rebuilt bool, err error) {
	if f.Summary != nil {
		return f.Summary, false, nil
	}
	s, err = MergeRounds(f.Rounds)
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", f.Path, err)
	}
	return s, true, nil
}

// MergeRounds sums a run up from its round lines: counts, status codes,
// connections, check verdicts and failure reasons add up (each round lists only its most
// frequent reasons), latency quantiles come from the merged latency histograms,
// and the rates are planned and sent requests over the sum of the rounds'
// intervals. The file holds no service-time histogram, so each
// service-time quantile is the highest of the rounds', an upper bound.
// The summary carries no verdict: Passed is false and Reason says it was
// rebuilt.
func MergeRounds(rounds []*Round) (*Summary, error) {
	s := &Summary{Type: TypeSummary, Rounds: len(rounds)}
	s.StatusCodes = map[string]int64{}
	all := newCountsSum()
	names := map[string]*countsSum{}
	reasons := map[string]int64{}
	checks := checksSum{}
	var seconds float64
	var first, last time.Time
	for i, r := range rounds {
		if err := all.add(&r.Counts); err != nil {
			return nil, fmt.Errorf("round %d: %w", r.Round, err)
		}
		for _, n := range r.Names {
			if names[n.Name] == nil {
				names[n.Name] = newCountsSum()
			}
			if err := names[n.Name].add(&n.Counts); err != nil {
				return nil, fmt.Errorf("round %d: name %q: %w", r.Round, n.Name, err)
			}
		}
		for code, n := range r.StatusCodes {
			s.StatusCodes[code] += n
		}
		for _, e := range r.Errors {
			reasons[e.Message] += e.Count
		}
		checks.add(r.Checks)
		s.ResponseBytes += r.ResponseBytes
		s.Connections = addConnections(s.Connections, r.Connections)
		s.ServiceTime = maxQuantiles(s.ServiceTime, r.ServiceTime)
		seconds += r.IntervalSeconds
		// The first round sets both bounds: a round without a start
		// (the zero time) must not be mistaken for "no bound yet", or the
		// bounds would depend on the order of the rounds.
		end := r.Start.Add(time.Duration(r.IntervalSeconds * float64(time.Second)))
		if i == 0 || r.Start.Before(first) {
			first = r.Start
		}
		if i == 0 || end.After(last) {
			last = end
		}
	}
	var err error
	if s.Counts, err = all.counts(); err != nil {
		return nil, err
	}
	for _, n := range sortedKeys(names) {
		nc, err := names[n].counts()
		if err != nil {
			return nil, fmt.Errorf("name %q: %w", n, err)
		}
		s.Names = append(s.Names, NameStats{Name: n, Counts: nc})
	}
	s.Errors = topErrors(reasons, MaxErrors)
	s.Checks = checksFrom(checks)
	if seconds > 0 {
		s.PlannedRPS, s.AchievedRPS = float64(s.Planned)/seconds, float64(s.Sent)/seconds
	}
	s.ElapsedSeconds = last.Sub(first).Seconds()
	s.Reason = fmt.Sprintf("no summary line: totals rebuilt from %d rounds", len(rounds))
	return s, nil
}

// countsSum adds up Counts and their latency histograms.
type countsSum struct {
	c   Counts
	lat *hdrhistogram.Histogram
}

func newCountsSum() *countsSum {
	return &countsSum{c: Counts{Outcomes: map[string]int64{}}, lat: tally.NewHistogram()}
}

// add adds c, decoding and merging its latency histogram.
func (s *countsSum) add(c *Counts) error {
	h, err := DecodeHistogram(c.LatencyHistogram)
	if err != nil {
		return err
	}
	s.lat.Merge(h)
	s.c.Planned += c.Planned
	s.c.Sent += c.Sent
	for o, n := range c.Outcomes {
		s.c.Outcomes[o] += n
	}
	return nil
}

// counts returns the sum, with its error rate, latency quantiles and
// histogram computed afresh.
func (s *countsSum) counts() (Counts, error) {
	c := s.c
	for _, o := range tally.Outcomes() {
		c.Outcomes[o.String()] += 0 // every outcome present, as in a file
	}
	if c.Planned > 0 {
		c.ErrorRate = float64(c.Planned-c.Outcomes["success"]) / float64(c.Planned)
	}
	c.Latency = QuantilesOf(s.lat)
	enc, err := EncodeHistogram(s.lat)
	if err != nil {
		return Counts{}, err
	}
	c.LatencyHistogram = enc
	return c, nil
}

// addConnections returns the sum of two connection counts, nil when both
// are unknown (rounds written before imager counted connections).
func addConnections(a, b *Connections) *Connections {
	if b == nil {
		return a
	}
	if a == nil {
		return &Connections{Opened: b.Opened, Failed: b.Failed}
	}
	return &Connections{Opened: a.Opened + b.Opened, Failed: a.Failed + b.Failed}
}

// maxQuantiles returns the larger of a and b, quantile by quantile.
func maxQuantiles(a, b Quantiles) Quantiles {
	return Quantiles{
		P50: max(a.P50, b.P50), P90: max(a.P90, b.P90), P95: max(a.P95, b.P95),
		P99: max(a.P99, b.P99), P999: max(a.P999, b.P999), Max: max(a.Max, b.Max),
	}
}

// sortedKeys returns the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
