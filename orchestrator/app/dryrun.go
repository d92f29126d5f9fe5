package app

import (
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/PeladoCollado/imager/internal/engine"
	"github.com/PeladoCollado/imager/orchestrator/manager"
	"github.com/PeladoCollado/imager/types"
)

// DryRunResult is what a dry run shows: the rate plan and sample
// requests, with JSON names for -format=json.
type DryRunResult struct {
	Target   string          `json:"target"`
	Interval string          `json:"roundInterval"`
	Rounds   []DryRunRound   `json:"rounds"`
	Requests []DryRunRequest `json:"requests"`
	// Notes say what the dry run left out and why.
	Notes []string `json:"notes,omitempty"`
}

// DryRunRound is one round of the plan and the modelled result fed back.
type DryRunRound struct {
	Index int64 `json:"index"`
	RPS   int   `json:"rps"`
	// The modelled result fed back to feedback calculators.
	P50Millis float64 `json:"modelP50Ms"`
	P99Millis float64 `json:"modelP99Ms"`
	Timeouts  int64   `json:"modelTimeouts"`
	Failed    int64   `json:"modelFailed"`
}

// DryRunRequest is one sample request as an executor would send it.
type DryRunRequest struct {
	Method  string   `json:"method"`
	URL     string   `json:"url"`
	Headers []string `json:"headers,omitempty"`
	Body    string   `json:"body,omitempty"`
	Wire    string   `json:"wire"`
	// Expect is the request's response checks (docs/CHECKS.md), those of
	// the -expect-* flags included; nil for none.
	Expect *types.Expect `json:"expect,omitempty"`
}

// DryRun builds the source and calculator the flags name and asks them for
// the plan and sample requests, sending nothing.
func DryRun(cfg Config, model manager.SyntheticTarget, rounds, samples int) (*DryRunResult, error) {
	if cfg.Seed == 0 {
		cfg.Seed = 1 // a dry run is repeatable unless -seed says otherwise
	}
	// Rounds are planned back to back, so the scenario's clock is a
	// simulated one that moves a round interval per round: round.elapsed
	// and imager.time read as they would in a real run.
	clock := &simClock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	bi := newBuiltIns(cfg, nil, clock.now)
	defer bi.close()
	cfg.builtIns = bi
	out := &DryRunResult{Target: cfg.TargetURL, Interval: cfg.RoundInterval.String(), Rounds: []DryRunRound{}, Requests: []DryRunRequest{}}
	if cfg.Scenario != "" && cfg.RequestSourceType == SourceAuto {
		// A scenario that only shapes the load has no requests to show,
		// unless the flags name another source.
		roles, err := bi.scenarioRoles(cfg)
		if err != nil {
			return nil, err
		}
		if !roles.Request {
			samples = 0
			out.Notes = append(out.Notes, "the scenario defines no request(); pass -request-source-type to see sample requests")
		}
	}
	calc, err := bi.loadCalculator(cfg)
	if err != nil {
		return nil, err
	}
	var src types.RequestSource
	if samples > 0 {
		if src, err = bi.requestSource(cfg); err != nil {
			return nil, err
		}
	}
	if _, err := loadTLS(cfg); err != nil {
		return nil, err
	}
	base := cfg.TargetURL
	if src != nil {
		target, err := sourceTarget(cfg, src, func() (string, error) { return base, nil })
		if err != nil {
			return nil, err
		}
		if base, err = target(); err != nil {
			return nil, err
		}
		if src, err = expectSourceOf(cfg, src); err != nil {
			return nil, err
		}
	}
	advance := func() { clock.advance(cfg.RoundInterval) }
	planned, err := manager.DryRun(types.CalculatorOf(calc), model, rounds, cfg.RoundInterval, advance)
	if err != nil {
		return nil, err
	}
	for _, r := range planned {
		o := r.Observation
		out.Rounds = append(out.Rounds, DryRunRound{Index: r.Index, RPS: r.RPS,
			P50Millis: millis(o.P50), P99Millis: millis(o.P99), Timeouts: o.Timeouts, Failed: o.Failed})
	}
	if out.Requests, err = sampleRequests(src, base, samples); err != nil {
		return nil, err
	}
	return out, nil
}

// sampleRequests asks src for n requests and shows them as they would be
// sent to base.
func sampleRequests(src types.RequestSource, base string, n int) ([]DryRunRequest, error) {
	out := []DryRunRequest{}
	for range n {
		spec, err := src.Next()
		if err != nil {
			return nil, fmt.Errorf("request source: %w", err)
		}
		wire, err := engine.Render(base, spec)
		if err != nil {
			return nil, err
		}
		d := DryRunRequest{Method: spec.Method, URL: engine.URL(base, spec), Body: spec.Body, Wire: wire, Expect: spec.Expect}
		if d.Method == "" {
			d.Method = "GET"
		}
		for _, name := range slices.Sorted(maps.Keys(spec.Headers)) {
			for _, v := range spec.Headers[name] {
				d.Headers = append(d.Headers, name+": "+v)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// simClock is a clock that only moves when told to.
type simClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *simClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *simClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
