package results

import (
	"fmt"
	"sort"
	"strconv"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// MaxErrors is the most failure reasons a round or summary line lists.
const MaxErrors = 10

// FromRound converts a finished round into its results line. Its latency
// quantiles are r's, computed by Summarize: the scheduler's rounds are
// summarized; a RoundResult built by hand must call Summarize first.
func FromRound(r *manager.RoundResult) (*Round, error) {
	// The round's quantiles were computed once when it finished.
	q := quantilesFrom(&r.RoundStats)
	st, err := stats(r.Counts, r.Latency, &q, r.Service, &r.Breakdown, r.AchievedRPS)
	if err != nil {
		return nil, fmt.Errorf("round %d: %w", r.Round, err)
	}
	if len(r.PodUsage) > 0 {
		st.Target = &TargetUsage{CPUMillicores: r.TargetCPU(), MemoryBytes: r.TargetMemory(), CPUMsPerRequest: r.CPUPerRequest()}
	}
	st.PlannedRPS = float64(r.PlannedRPS)
	st.Connections = &Connections{Opened: r.Dials, Failed: r.DialErrors}
	return &Round{
		Type: TypeRound, Round: r.Round, Start: r.Start.UTC(), IntervalSeconds: r.Interval.Seconds(),
		Executors: r.Executors, Stats: st,
	}, nil
}

// FromSummary converts a run's totals into its summary line, with no
// verdict yet (see Judge).
func FromSummary(s *manager.Summary) (*Summary, error) {
	st, err := stats(s.Counts, s.Latency, nil, s.Service, &s.Breakdown, s.AchievedRPS())
	if err != nil {
		return nil, fmt.Errorf("summary: %w", err)
	}
	st.Connections = &Connections{Opened: s.Dials, Failed: s.DialErrors}
	sum := &Summary{Type: TypeSummary, Rounds: s.Rounds, ElapsedSeconds: s.Elapsed.Seconds(), SkippedRounds: s.Skipped, Stats: st, Passed: true}
	if s.Elapsed > 0 {
		sum.PlannedRPS = float64(s.Planned) / s.Elapsed.Seconds()
	}
	return sum, nil
}

// stats builds the part common to round and summary lines. latQ, when
// not nil, holds lat's quantiles already computed.
func stats(c tally.Counts, lat *hdrhistogram.Histogram, latQ *Quantiles, svc *hdrhistogram.Histogram, b *tally.Breakdown, rps float64) (Stats, error) {
	cs, err := counts(c, lat, latQ)
	if err != nil {
		return Stats{}, err
	}
	st := Stats{
		Counts:        cs,
		StatusCodes:   map[string]int64{},
		AchievedRPS:   rps,
		ServiceTime:   QuantilesOf(svc),
		ResponseBytes: c.ResponseBytes,
		Errors:        topErrors(b.Errors, MaxErrors),
		Checks:        checksFrom(b.Checks),
	}
	for code, n := range b.StatusCodes {
		st.StatusCodes[strconv.Itoa(code)] = n
	}
	for _, name := range sortedNames(b.Names) {
		nr := b.Names[name]
		nc, err := counts(nr.Counts, nr.Latency, nil)
		if err != nil {
			return Stats{}, fmt.Errorf("name %q: %w", name, err)
		}
		st.Names = append(st.Names, NameStats{Name: name, Counts: nc})
	}
	return st, nil
}

// counts converts outcome counts and a latency histogram; q, when not nil,
// holds the histogram's quantiles already computed.
func counts(c tally.Counts, lat *hdrhistogram.Histogram, q *Quantiles) (Counts, error) {
	enc, err := EncodeHistogram(lat)
	if err != nil {
		return Counts{}, err
	}
	if q == nil {
		all := QuantilesOf(lat)
		q = &all
	}
	out := Counts{Planned: c.Planned, Sent: c.Sent, Outcomes: map[string]int64{}, Latency: *q, LatencyHistogram: enc}
	for _, o := range tally.Outcomes() {
		out.Outcomes[o.String()] = c.Of(o)
	}
	if c.Planned > 0 {
		out.ErrorRate = float64(c.Planned-c.Success) / float64(c.Planned)
	}
	return out, nil
}

// quantilesFrom converts a round's quantiles to milliseconds.
func quantilesFrom(s *types.RoundStats) Quantiles {
	return Quantiles{P50: durationMS(s.P50), P90: durationMS(s.P90), P95: durationMS(s.P95),
		P99: durationMS(s.P99), P999: durationMS(s.P999), Max: durationMS(s.Max)}
}

// QuantilesOf reads the quantiles of a microsecond histogram; all zero for
// an empty or nil one.
func QuantilesOf(h *hdrhistogram.Histogram) Quantiles {
	q := func(p float64) float64 { return durationMS(tally.Percentile(h, p)) }
	return Quantiles{P50: q(50), P90: q(90), P95: q(95), P99: q(99), P999: q(99.9), Max: q(100)}
}

// EncodeHistogram returns h as the results file carries it: the
// HdrHistogram V2 compressed encoding in base64 (tally.EncodeHistogram's
// output is already base64 text).
func EncodeHistogram(h *hdrhistogram.Histogram) (string, error) {
	b, err := tally.EncodeHistogram(h)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// DecodeHistogram is the inverse of EncodeHistogram.
func DecodeHistogram(s string) (*hdrhistogram.Histogram, error) {
	h, err := tally.DecodeHistogram([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("latency histogram: %w", err)
	}
	return h, nil
}

// topErrors lists at most n reasons, most frequent first.
func topErrors(m map[string]int64, n int) []ErrorCount {
	out := make([]ErrorCount, 0, len(m))
	for msg, c := range m {
		out = append(out, ErrorCount{Message: msg, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Message < out[j].Message
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// sortedNames returns the names of m in order.
func sortedNames(m map[string]*tally.NameResult) []string {
	out := make([]string, 0, len(m))
	for name := range m {
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

// Duration returns ms milliseconds as a duration.
func Duration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
