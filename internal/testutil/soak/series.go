package soak

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"
)

// Sample is one reading of one process.
type Sample struct {
	// At is the time since the first sample of the soak.
	At time.Duration
	// RSS is the resident set size in bytes.
	RSS int64
	// FDs is the number of open file descriptors.
	FDs int
	// Goroutines is go_goroutines from the process's /metrics, or -1 when
	// the process serves no metrics.
	Goroutines int
}

// Series is the samples of one process, oldest first.
type Series struct {
	// Name names the process in the table and in errors.
	Name string
	// Samples are its readings, one per sampling interval.
	Samples []Sample
}

// Rules are the growth rules applied to each kind of sample.
type Rules struct {
	// RSS judges the resident memory in MiB.
	RSS Rule
	// FDs judges the open file descriptors.
	FDs Rule
	// Goroutines judges the goroutine count; skipped for a series whose
	// process serves no metrics.
	Goroutines Rule
}

// column returns one kind of sample of s as floats.
func (s Series) column(pick func(Sample) float64) []float64 {
	out := make([]float64, len(s.Samples))
	for i, x := range s.Samples {
		out[i] = pick(x)
	}
	return out
}

func rssMiB(x Sample) float64     { return float64(x.RSS) / (1 << 20) }
func fds(x Sample) float64        { return float64(x.FDs) }
func goroutines(x Sample) float64 { return float64(x.Goroutines) }

// kind is one kind of sample: its name, how to read it from a Sample and
// which of the Rules judges it.
type kind struct {
	name string
	pick func(Sample) float64
	rule func(Rules) Rule
}

// kinds lists the kinds of sample in table order.
func kinds() []kind {
	return []kind{
		{"rss_mib", rssMiB, func(r Rules) Rule { return r.RSS }},
		{"fds", fds, func(r Rules) Rule { return r.FDs }},
		{"goroutines", goroutines, func(r Rules) Rule { return r.Goroutines }},
	}
}

// Judge applies rules to every series, the first warm samples of each being
// the warm-up, and returns one error per series and kind that fails. A
// series whose goroutine count is -1 (no metrics) is not judged on it.
func Judge(all []Series, warm int, rules Rules) []error {
	var errs []error
	for _, s := range all {
		for _, k := range kinds() {
			v := s.column(k.pick)
			if len(v) > 0 && v[0] < 0 {
				continue
			}
			if err := k.rule(rules).Check(v, warm); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.Name, err))
			}
		}
	}
	return errs
}

// Table formats the samples of all series side by side, one row per
// sampling time (taken from the first series), with the warm-up rows
// marked. A goroutine count of -1 prints as "-".
func Table(all []Series, warm int) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"t_s"}
	for _, s := range all {
		head = append(head, s.Name+".rss_mib", s.Name+".fds", s.Name+".gor")
	}
	fmt.Fprintln(w, strings.Join(head, "\t")+"\t")
	if len(all) == 0 {
		w.Flush()
		return b.String()
	}
	for i, x := range all[0].Samples {
		row := []string{fmt.Sprintf("%.0f", x.At.Seconds())}
		if i < warm {
			row[0] += "w"
		}
		for _, s := range all {
			if i >= len(s.Samples) {
				row = append(row, "", "", "")
				continue
			}
			y := s.Samples[i]
			gor := "-"
			if y.Goroutines >= 0 {
				gor = fmt.Sprint(y.Goroutines)
			}
			row = append(row, fmt.Sprintf("%.1f", rssMiB(y)), fmt.Sprint(y.FDs), gor)
		}
		fmt.Fprintln(w, strings.Join(row, "\t")+"\t")
	}
	w.Flush()
	return b.String()
}

// Summary returns one line per series: for RSS, fds and goroutines, its
// first and last sample and the medians of the thirds after the warm-up
// that the rules compare.
func Summary(all []Series, warm int) string {
	var b strings.Builder
	for _, s := range all {
		fmt.Fprintf(&b, "%s:", s.Name)
		for _, k := range kinds() {
			v := s.column(k.pick)
			if len(v) == 0 || v[0] < 0 {
				continue
			}
			fmt.Fprintf(&b, " %s %.1f..%.1f", k.name, v[0], v[len(v)-1])
			if early, middle, late, err := Thirds(v, warm); err == nil {
				fmt.Fprintf(&b, " (thirds %.1f/%.1f/%.1f)", early, middle, late)
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}
