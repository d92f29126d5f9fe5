package wire

import (
	"fmt"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"sort"

	"github.com/PeladoCollado/imager/internal/tally"
)

// statusFromTally converts status code counts to their wire form.
func statusFromTally(m map[int]int64) map[int32]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[int32]int64, len(m))
	for code, n := range m {
		out[int32(code)] = n
	}
	return out
}

// errorsFromTally converts failure reasons to their wire form, most
// frequent first.
func errorsFromTally(m map[string]int64) []*imagerv1.ErrorCount {
	out := make([]*imagerv1.ErrorCount, 0, len(m))
	for msg, n := range m {
		out = append(out, &imagerv1.ErrorCount{Message: msg, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// namesFromTally converts per-name results to their wire form.
func namesFromTally(m map[string]*tally.NameResult) ([]*imagerv1.NameReport, error) {
	out := make([]*imagerv1.NameReport, 0, len(m))
	for name, nr := range m {
		lat, err := tally.EncodeHistogram(nr.Latency)
		if err != nil {
			return nil, fmt.Errorf("name %q latency: %w", name, err)
		}
		c := nr.Counts
		out = append(out, &imagerv1.NameReport{
			Name: name, Planned: c.Planned, Sent: c.Sent, Success: c.Success,
			ClientErrors: c.ClientErrors, ServerErrors: c.ServerErrors, Timeouts: c.Timeouts,
			ConnectionErrors: c.ConnErrors, Dropped: c.Dropped, Lost: c.Lost, CheckFailed: c.CheckFailed,
			LatencyHistogram: lat,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// namesToTally decodes the per-name results of a wire report. A sender
// keeps at most tally.MaxNames names, so a report with more is refused
// before their histograms are decoded; a name given twice adds up.
func namesToTally(r *imagerv1.Report) (map[string]*tally.NameResult, error) {
	if len(r.GetNames()) == 0 {
		return nil, nil
	}
	if n := len(r.GetNames()); n > tally.MaxNames {
		return nil, fmt.Errorf("report %s has %d names, more than the %d allowed", r.GetJobId(), n, tally.MaxNames)
	}
	out := make(map[string]*tally.NameResult, len(r.GetNames()))
	for _, n := range r.GetNames() {
		lat, err := tally.DecodeHistogram(n.GetLatencyHistogram())
		if err != nil {
			return nil, fmt.Errorf("report %s name %q latency: %w", r.GetJobId(), n.GetName(), err)
		}
		c := tally.Counts{
			Planned: n.GetPlanned(), Sent: n.GetSent(), Success: n.GetSuccess(),
			ClientErrors: n.GetClientErrors(), ServerErrors: n.GetServerErrors(), Timeouts: n.GetTimeouts(),
			ConnErrors: n.GetConnectionErrors(), Dropped: n.GetDropped(), Lost: n.GetLost(),
			CheckFailed: n.GetCheckFailed(),
		}
		if nr, dup := out[n.GetName()]; dup {
			nr.Counts.Add(c)
			nr.Latency.Merge(lat)
			continue
		}
		out[n.GetName()] = &tally.NameResult{Latency: lat, Counts: c}
	}
	return out, nil
}

// breakdownToTally assembles a wire report's breakdown; the engine's
// bounds apply, so a report cannot grow the orchestrator's maps past them.
func breakdownToTally(r *imagerv1.Report, names map[string]*tally.NameResult) tally.Breakdown {
	var b tally.Breakdown
	for code, n := range r.GetStatusCodes() {
		b.AddStatus(int(code), n)
	}
	for _, e := range r.GetErrors() {
		b.AddError(e.GetMessage(), e.GetCount())
	}
	b.Merge(&tally.Breakdown{Names: names})
	for _, c := range r.GetChecks() {
		cc := b.Check(c.GetName())
		cc.Passed += c.GetPassed()
		cc.Failed += c.GetFailed()
	}
	return b
}

// checksFromTally converts per-check counts to their wire form, sorted by
// name.
func checksFromTally(m map[string]*tally.CheckCount) []*imagerv1.CheckCount {
	out := make([]*imagerv1.CheckCount, 0, len(m))
	for name, c := range m {
		out = append(out, &imagerv1.CheckCount{Name: name, Passed: c.Passed, Failed: c.Failed})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}
