package main

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// row is one generator's line of the table.
type row struct {
	Name string
	// Highest is wrk's closed-loop run, or the open-loop run at the
	// highest fraction of wrk's rate held (its Ref is that wrk rate).
	Highest outcome
	// Found is false when no fraction held; AtTop is true when the
	// search ran out of attempts before any fraction above its result
	// failed, so the real limit may be higher.
	Found, AtTop bool
	// Fixed is the run at the fixed rate.
	Fixed outcome
	// Skipped, when set, says why the generator did not run.
	Skipped string
	// PacedConns is how many connections paced wrk to the fixed rate in
	// millisecond steps (Fixed).
	PacedConns int
	// Burst is wrk's run at the fixed rate paced in bursts, over
	// BurstConns connections (see burstPacing).
	Burst      outcome
	BurstConns int
	// Ref is the median of wrk's closed-loop rate in the short runs
	// before each attempt of an open-loop search, of which there were
	// Refs; 0 for none. Until 2026-12-02, 08:57 UTC the held rate was
	// judged against it alone; now against it and the run just before
	// the attempt, Highest.Ref (see rateVerdict).
	Ref  float64
	Refs int
}

// label describes how each generator ran.
func label(name string, c config) string {
	switch name {
	case "wrk":
		return fmt.Sprintf("wrk -t1 -c%d, closed loop", c.Connections)
	case "imager":
		return "imager run -executors=1, open loop"
	case "vegeta":
		return fmt.Sprintf("vegeta attack -max-workers=%d -connections=%d, open loop", vegetaConns, vegetaConns)
	}
	return name
}

// printReport prints the machine, the table and how imager fares against
// the goals.
func printReport(w io.Writer, c config, m machine, rows []row) {
	fmt.Fprintf(w, "\n%s; %d CPUs, %s, kernel %s; load average %s before, %s after\n",
		m.Date, m.CPUs, m.Model, m.Kernel, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(w, "target nginx (1 worker, 3-byte body) on CPU %d; each generator alone on CPU %d; %s per run\n\n",
		c.TargetCPU, c.GeneratorCPU, c.Duration)
	fixed := thousands(float64(c.FixedRPS))
	fmt.Fprintf(w, "| generator on one core | highest rate, req/s | × wrk | p99 there | CPU µs/request there | at %s/s: achieved req/s | CPU µs/request | × wrk |\n", fixed)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	wrk := rows[0]
	for _, r := range rows {
		if r.Skipped != "" {
			fmt.Fprintf(w, "| %s | %s | | | | | | |\n", label(r.Name, c), r.Skipped)
			continue
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %.1f | %s | %.1f | %s |\n", label(r.Name, c), highest(r, c),
			ratio(r.Highest.Rate, r.reference(wrk), r.Found), latency(r.Highest.P99), r.Highest.cpuPerRequest(),
			thousands(r.Fixed.Rate), r.Fixed.cpuPerRequest(), ratio(r.Fixed.cpuPerRequest(), wrk.Fixed.cpuPerRequest(), true))
		if r.Name == "wrk" {
			fmt.Fprintf(w, "| wrk -t1 -c%d paced in bursts (reference) | | | | | %s | %.1f | %s |\n", r.BurstConns,
				thousands(r.Burst.Rate), r.Burst.cpuPerRequest(), ratio(r.Burst.cpuPerRequest(), wrk.Fixed.cpuPerRequest(), true))
		}
	}
	fmt.Fprintf(w, "\nOpen-loop rates are held for %s with 0 dropped, no failed request and |rate error| < %.1f%%"+
		" (rate error = sent ÷ scheduled duration ÷ planned − 1). wrk has no rate option: at %s/s it is paced by a"+
		" Lua delay() of 1 ms over %d connections, so that it sends a few requests every millisecond as imager does"+
		" (the × wrk column compares with this run), and for reference by a delay of %d ms over %d connections, which"+
		" fire together in bursts. CPU is the generator process's user+system time ÷ requests sent, start-up included;"+
		" at %s/s each figure is the median of %d runs, the generators taking turns."+
		" imager's p99 is from the intended send time; wrk's and vegeta's from the actual send.\n",
		c.Duration, maxRateError*100, fixed, wrk.PacedConns, burstPacing.delay(wrk.BurstConns, c.FixedRPS), wrk.BurstConns,
		fixed, c.FixedRuns)
	fmt.Fprintf(w, "An open-loop search tries fractions of wrk's closed-loop rate, each measured in a %ds run just before"+
		" the attempt; a row's rate is what it achieved at the highest fraction held, and its × wrk that rate ÷ that wrk run's. The paired runs: %s;"+
		" the first row's rate is wrk's first run, before every search.\n",
		refSeconds(c), refSummary(rows))
	if len(rows) > 1 && rows[1].Skipped == "" {
		im := rows[1]
		ref, cpu, wrkCPU := im.reference(wrk), im.Fixed.cpuPerRequest(), wrk.Fixed.cpuPerRequest()
		fmt.Fprintf(w, "issue 10 goals: imager holds %s× wrk's closed-loop rate of the same minute and %s× the median of the paired runs"+
			" (goal: both ≥ 0.8: %s; %s× wrk's first run); at %s/s it uses %s× the CPU per request of wrk paced"+
			" in millisecond steps (goal ≤ 1.5: %s), %s× that of wrk paced in bursts and %s× that of wrk's closed loop\n",
			ratio(im.Highest.Rate, ref, im.Found), ratio(im.Highest.Rate, im.Ref, im.Found && im.Refs > 0), rateVerdict(im),
			ratio(im.Highest.Rate, wrk.Highest.Rate, im.Found), fixed, ratio(cpu, wrkCPU, true),
			verdict(wrkCPU > 0 && cpu <= 1.5*wrkCPU),
			ratio(cpu, wrk.Burst.cpuPerRequest(), true), ratio(cpu, wrk.Highest.cpuPerRequest(), true))
	}
}

// reference returns the closed-loop rate r's highest rate is compared
// with: the wrk run paired with that attempt, or wrk's first run for
// wrk's own row.
func (r row) reference(wrk row) float64 {
	if r.Highest.Ref > 0 {
		return r.Highest.Ref
	}
	return wrk.Highest.Rate
}

// refSummary describes each open-loop generator's paired wrk runs: how
// many, and their median.
func refSummary(rows []row) string {
	var parts []string
	for _, r := range rows[1:] {
		switch {
		case r.Skipped != "":
		case r.Refs == 0:
			parts = append(parts, r.Name+": none, every attempt at a fraction of wrk's first run")
		default:
			parts = append(parts, fmt.Sprintf("%s: %d runs, median %s req/s", r.Name, r.Refs, thousands(r.Ref)))
		}
	}
	return strings.Join(parts, "; ")
}

// highest formats a row's highest rate, noting a search that found none
// or ran out of attempts before any fraction failed.
func highest(r row, c config) string {
	switch {
	case !r.Found:
		return fmt.Sprintf("none held from %.3g× wrk", c.MinRatio)
	case r.AtTop:
		return "≥ " + thousands(r.Highest.Rate)
	}
	return thousands(r.Highest.Rate)
}

// ratio formats a ÷ b with two decimals, or "-" when undefined.
func ratio(a, b float64, ok bool) string {
	if !ok || b == 0 {
		return "-"
	}
	return strconv.FormatFloat(a/b, 'f', 2, 64)
}

// verdict says whether a goal is met, judged on unrounded figures (a
// ratio of 0.797 prints as 0.80 and does not meet a goal of 0.8).
func verdict(met bool) string {
	if met {
		return "met"
	}
	return "not met"
}

// rateVerdict judges the rate goal for imager's row r: its highest held
// rate is at least 0.8 × the wrk run just before that attempt and 0.8 ×
// the median of all the wrk runs paired with its search. (A search keeps
// the highest fraction that held, and an attempt holds more easily after
// a wrk run that read low; the median, which no one attempt moves much,
// guards against that.) An attempt whose wrk run failed (StaleRef) shows
// nothing, nor does a search below the goal that ran out of attempts
// before any fraction failed (AtTop).
func rateVerdict(r row) string {
	h := r.Highest
	switch {
	case r.Found && h.StaleRef:
		return "not shown: that attempt's wrk run failed"
	case r.Found && r.Refs > 0 && h.Ref > 0 && h.Rate >= 0.8*h.Ref && h.Rate >= 0.8*r.Ref:
		return verdict(true)
	case r.AtTop:
		return "not shown: the search ran out of attempts before a fraction failed"
	}
	return verdict(false)
}

// latency formats a duration in milliseconds.
func latency(d time.Duration) string {
	return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond))
}

// thousands formats v rounded to a whole number with commas between
// groups of three digits.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(v+0.5), 10)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}
