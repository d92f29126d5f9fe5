package main

import (
	"cmp"
	"context"
	"fmt"
	"slices"
)

// repeatFixed runs every generator at the fixed rate cfg.FixedRuns − 1
// more times, taking turns (wrk in millisecond steps, wrk in bursts,
// imager, vegeta; then again), and keeps each one's median run by CPU per
// request. The first runs of measure are taken minutes apart, with the
// searches in between, and this machine's speed drifts over minutes; in
// turns, a drift weighs on every generator alike.
func (b *bench) repeatFixed(ctx context.Context, rows []row) error {
	type series struct {
		name string
		dst  *outcome
		run  func(context.Context) (outcome, error)
		runs []outcome
	}
	rate := b.cfg.FixedRPS
	var all []*series
	for i := range rows {
		r := &rows[i]
		switch {
		case r.Skipped != "":
		case r.Name == "wrk":
			steps, bursts := r.PacedConns, r.BurstConns
			all = append(all,
				&series{name: "wrk paced in steps", dst: &r.Fixed, runs: []outcome{r.Fixed},
					run: func(ctx context.Context) (outcome, error) {
						return b.runWrk(ctx, steps, stepPacing.delay(steps, rate))
					}},
				&series{name: "wrk paced in bursts", dst: &r.Burst, runs: []outcome{r.Burst},
					run: func(ctx context.Context) (outcome, error) {
						return b.runWrk(ctx, bursts, burstPacing.delay(bursts, rate))
					}})
		default:
			try := b.runImager
			if r.Name == "vegeta" {
				try = b.runVegeta
			}
			all = append(all, &series{name: r.Name, dst: &r.Fixed, runs: []outcome{r.Fixed},
				run: func(ctx context.Context) (outcome, error) { return try(ctx, rate) }})
		}
	}
	for k := 1; k < b.cfg.FixedRuns; k++ {
		for _, s := range all {
			o, err := s.run(ctx)
			if err != nil {
				return err
			}
			fmt.Fprintf(b.log, "%s at %d/s, run %d of %d: %s\n", s.name, rate, k+1, b.cfg.FixedRuns, o)
			s.runs = append(s.runs, o)
		}
	}
	for _, s := range all {
		*s.dst = medianByCPU(s.runs)
	}
	return nil
}

// medianByCPU returns the run of median CPU per request (the lower of the
// two middle ones for an even count).
func medianByCPU(runs []outcome) outcome {
	sorted := slices.Clone(runs)
	slices.SortFunc(sorted, func(a, b outcome) int { return cmp.Compare(a.cpuPerRequest(), b.cpuPerRequest()) })
	return sorted[(len(sorted)-1)/2]
}
