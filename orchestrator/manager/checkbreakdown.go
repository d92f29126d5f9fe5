package manager

import (
	"fmt"
	"sort"

	"github.com/PeladoCollado/imager/internal/tally"
)

// namedCount is one count of a report with its wire name.
type namedCount struct {
	name string
	v    int64
}

// outcomeCounts lists the request counts of c (all but response bytes).
func outcomeCounts(c *tally.Counts) []namedCount {
	return []namedCount{
		{"planned", c.Planned}, {"sent", c.Sent}, {"success", c.Success}, {"client_errors", c.ClientErrors},
		{"server_errors", c.ServerErrors}, {"timeouts", c.Timeouts}, {"connection_errors", c.ConnErrors},
		{"dropped", c.Dropped}, {"lost", c.Lost}, {"check_failed", c.CheckFailed},
	}
}

// checkOutcomeBounds refuses a count above the report's planned count.
// checkReport has refused negative counts, so once this passes no sum of
// outcomes can overflow and wrap around to look right.
func checkOutcomeBounds(c *tally.Counts) error {
	for _, f := range outcomeCounts(c)[1:] {
		if f.v > c.Planned {
			return fmt.Errorf("%s (%d) is more than its %d planned requests", f.name, f.v, c.Planned)
		}
	}
	return nil
}

// checkBreakdown refuses a report whose details claim more than its
// counts: negative counts, more status codes than requests that ended,
// more failure reasons than failures, request names whose counts add up
// to more than the report's, or more service times than latencies. It
// runs after checkReport's checks of the counts themselves.
func checkBreakdown(rep *tally.Report) error {
	c := &rep.Counts
	ended := c.Success + c.ClientErrors + c.ServerErrors + c.Timeouts + c.ConnErrors + c.CheckFailed
	if err := boundedSum("status code", rep.StatusCodes, ended); err != nil {
		return err
	}
	if err := boundedSum("failure reason", rep.Errors, c.Failed()); err != nil {
		return err
	}
	if rep.Service != nil {
		if n, most := rep.Service.TotalCount(), c.Planned-c.Dropped-c.Lost; n > most {
			return fmt.Errorf("its service-time histogram holds %d requests, more than the %d that ended", n, most)
		}
	}
	if err := checkChecks(rep); err != nil {
		return err
	}
	return checkNames(rep)
}

// checkChecks refuses per-check counts that are negative, more checks
// than an executor keeps, or a check that judged more responses than the
// report received, or failed more than ended in check_failed and the
// failures of the outcomes a check may leave in place.
func checkChecks(rep *tally.Report) error {
	if n := len(rep.Checks); n > tally.MaxChecks {
		return fmt.Errorf("it has %d checks, more than the %d allowed", n, tally.MaxChecks)
	}
	c := &rep.Counts
	responses := c.Success + c.ClientErrors + c.ServerErrors + c.Timeouts + c.CheckFailed
	for name, cc := range rep.Checks {
		switch {
		case cc == nil:
			return fmt.Errorf("check %q has no counts", name)
		case cc.Passed < 0 || cc.Failed < 0:
			return fmt.Errorf("check %q has a negative count", name)
		case cc.Passed > responses || cc.Failed > responses || cc.Passed+cc.Failed > responses:
			return fmt.Errorf("check %q judged %d responses, more than the %d received", name, cc.Passed+cc.Failed, responses)
		}
	}
	return nil
}

// checkNames refuses per-name counts that are negative, that add up to
// more than the report's, or a name's histogram with more requests than
// the name.
func checkNames(rep *tally.Report) error {
	limits := outcomeCounts(&rep.Counts)
	sums := make([]int64, len(limits))
	names := make([]string, 0, len(rep.Names))
	for name := range rep.Names {
		names = append(names, name)
	}
	sort.Strings(names) // the first offending name, always the same one
	for _, name := range names {
		nr := rep.Names[name]
		for i, f := range outcomeCounts(&nr.Counts) {
			if f.v < 0 {
				return fmt.Errorf("name %q: %s is negative (%d)", name, f.name, f.v)
			}
			// Each term is at most the limit, so the sum cannot overflow.
			if f.v > limits[i].v || sums[i]+f.v > limits[i].v {
				return fmt.Errorf("its names' %s add up to more than its %d", f.name, limits[i].v)
			}
			sums[i] += f.v
		}
		if nr.Latency != nil {
			if n, most := nr.Latency.TotalCount(), nr.Planned-nr.Dropped-nr.Lost; n > most {
				return fmt.Errorf("name %q: its latency histogram holds %d requests, more than the %d that ended", name, n, most)
			}
		}
	}
	return nil
}

// boundedSum refuses a map of counts with a negative count or a total
// above limit.
func boundedSum[K comparable](what string, m map[K]int64, limit int64) error {
	var sum int64
	for k, n := range m {
		if n < 0 {
			return fmt.Errorf("%s %v has a negative count (%d)", what, k, n)
		}
		// Each term is at most the limit, so the sum cannot overflow.
		if n > limit || sum+n > limit {
			return fmt.Errorf("its %s counts add up to more than %d", what, limit)
		}
		sum += n
	}
	return nil
}
