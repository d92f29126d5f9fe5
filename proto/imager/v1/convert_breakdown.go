package imagerv1

import (
	"fmt"
	"sort"

	"github.com/PeladoCollado/imager/engine"
)

// statusFromEngine converts status code counts to their wire form.
func statusFromEngine(m map[int]int64) map[int32]int64 {
	if len(m) == 0 {
		return nil
	}
	out := make(map[int32]int64, len(m))
	for code, n := range m {
		out[int32(code)] = n
	}
	return out
}

// errorsFromEngine converts failure reasons to their wire form, most
// frequent first.
func errorsFromEngine(m map[string]int64) []*ErrorCount {
	out := make([]*ErrorCount, 0, len(m))
	for msg, n := range m {
		out = append(out, &ErrorCount{Message: msg, Count: n})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Message < out[j].Message
	})
	return out
}

// namesFromEngine converts per-name results to their wire form.
func namesFromEngine(m map[string]*engine.NameResult) ([]*NameReport, error) {
	out := make([]*NameReport, 0, len(m))
	for name, nr := range m {
		lat, err := engine.EncodeHistogram(nr.Latency)
		if err != nil {
			return nil, fmt.Errorf("name %q latency: %w", name, err)
		}
		c := nr.Counts
		out = append(out, &NameReport{
			Name: name, Planned: c.Planned, Sent: c.Sent, Success: c.Success,
			ClientErrors: c.ClientErrors, ServerErrors: c.ServerErrors, Timeouts: c.Timeouts,
			ConnectionErrors: c.ConnErrors, Dropped: c.Dropped, Lost: c.Lost, LatencyHistogram: lat,
		})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// namesToEngine decodes the per-name results of a wire report. A sender
// keeps at most engine.MaxNames names, so a report with more is refused
// before their histograms are decoded; a name given twice adds up.
func (r *Report) namesToEngine() (map[string]*engine.NameResult, error) {
	if len(r.GetNames()) == 0 {
		return nil, nil
	}
	if n := len(r.GetNames()); n > engine.MaxNames {
		return nil, fmt.Errorf("report %s has %d names, more than the %d allowed", r.GetJobId(), n, engine.MaxNames)
	}
	out := make(map[string]*engine.NameResult, len(r.GetNames()))
	for _, n := range r.GetNames() {
		lat, err := engine.DecodeHistogram(n.GetLatencyHistogram())
		if err != nil {
			return nil, fmt.Errorf("report %s name %q latency: %w", r.GetJobId(), n.GetName(), err)
		}
		c := engine.Counts{
			Planned: n.GetPlanned(), Sent: n.GetSent(), Success: n.GetSuccess(),
			ClientErrors: n.GetClientErrors(), ServerErrors: n.GetServerErrors(), Timeouts: n.GetTimeouts(),
			ConnErrors: n.GetConnectionErrors(), Dropped: n.GetDropped(), Lost: n.GetLost(),
		}
		if nr, dup := out[n.GetName()]; dup {
			nr.Counts.Add(c)
			nr.Latency.Merge(lat)
			continue
		}
		out[n.GetName()] = &engine.NameResult{Latency: lat, Counts: c}
	}
	return out, nil
}

// breakdownToEngine assembles a wire report's breakdown; the engine's
// bounds apply, so a report cannot grow the orchestrator's maps past them.
func (r *Report) breakdownToEngine(names map[string]*engine.NameResult) engine.Breakdown {
	var b engine.Breakdown
	for code, n := range r.GetStatusCodes() {
		b.AddStatus(int(code), n)
	}
	for _, e := range r.GetErrors() {
		b.AddError(e.GetMessage(), e.GetCount())
	}
	b.Merge(&engine.Breakdown{Names: names})
	return b
}
