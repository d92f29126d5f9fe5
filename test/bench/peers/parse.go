package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"time"

	"github.com/PeladoCollado/imager/results"
)

// wrk's output: "26083 requests in 3.06s, 3.73MB read", the 99% line of
// --latency, "Requests/sec:   8521.54", and its error lines.
var (
	wrkRequests = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h),`)
	wrkRate     = regexp.MustCompile(`(?m)^Requests/sec:\s+([\d.]+)\s*$`)
	wrkP99      = regexp.MustCompile(`(?m)^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$`)
	wrkSocket   = regexp.MustCompile(`(?m)^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)\s*$`)
	wrkNon2xx   = regexp.MustCompile(`(?m)^\s*Non-2xx or 3xx responses: (\d+)\s*$`)
)

// wrkUnits are the units wrk prints times in.
var wrkUnits = map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond,
	"s": time.Second, "m": time.Minute, "h": time.Hour}

// parseWrk reads wrk's report: its rate, requests, p99 latency, and
// socket errors and non-2xx responses as failed.
func parseWrk(out string) (outcome, error) {
	var o outcome
	m := wrkRequests.FindStringSubmatch(out)
	r := wrkRate.FindStringSubmatch(out)
	p := wrkP99.FindStringSubmatch(out)
	if m == nil || r == nil || p == nil {
		return o, fmt.Errorf("wrk printed no requests, Requests/sec or 99%% latency line:\n%s", tail(out, 1500))
	}
	o.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	o.Rate, _ = strconv.ParseFloat(r[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	o.P99 = time.Duration(v * float64(wrkUnits[p[2]]))
	if s := wrkSocket.FindStringSubmatch(out); s != nil {
		for _, n := range s[1:] {
			c, _ := strconv.ParseInt(n, 10, 64)
			o.Failed += c
		}
	}
	if s := wrkNon2xx.FindStringSubmatch(out); s != nil {
		c, _ := strconv.ParseInt(s[1], 10, 64)
		o.Failed += c
	}
	return o, nil
}

// The lines of imager's printed summary that results/text.go keeps stable
// for scripts.
var (
	imagerAchieved = regexp.MustCompile(`(?m)^\s*achieved rate\s+([\d.]+) rps`)
	imagerDropped  = regexp.MustCompile(`(?m)^\s*outcomes\s.*\bdropped (\d+)`)
	imagerLatency  = regexp.MustCompile(`(?m)^\s*latency\s.*\bp99 ([\d.]+)ms\s.*\bp99\.9 ([\d.]+)ms`)
)

// parseImager reads a run of `imager run` at rate for d: the dropped
// count and p99 from its printed summary, and from the summary line of its
// results file the requests sent and those that did not succeed. The
// printed achieved rate must be there but is not used: it is sent over
// the rounds' elapsed time, and the rate here is sent over the scheduled
// duration d.
func parseImager(out string, file []byte, rate int, d time.Duration) (outcome, error) {
	o := outcome{Planned: float64(rate)}
	a := imagerAchieved.FindStringSubmatch(out)
	dr := imagerDropped.FindStringSubmatch(out)
	l := imagerLatency.FindStringSubmatch(out)
	if a == nil || dr == nil || l == nil {
		return o, fmt.Errorf("imager printed no achieved rate, outcomes or latency line:\n%s", tail(out, 1500))
	}
	o.Dropped, _ = strconv.ParseInt(dr[1], 10, 64)
	p99, _ := strconv.ParseFloat(l[1], 64)
	p999, _ := strconv.ParseFloat(l[2], 64)
	o.P99 = time.Duration(p99 * float64(time.Millisecond))
	o.P999 = time.Duration(p999 * float64(time.Millisecond))
	f, err := results.Read("imager results", bytes.NewReader(file))
	if err != nil {
		return o, err
	}
	if f.Summary == nil {
		return o, fmt.Errorf("imager results file has no summary line")
	}
	s := f.Summary
	o.Requests = s.Sent
	o.Rate = float64(s.Sent) / d.Seconds()
	o.Failed = s.Planned - s.Outcomes["success"]
	if scheduled := int64(rate) * int64(d/time.Second); s.Planned < scheduled {
		o.Note = fmt.Sprintf("imager planned only %d of the %d scheduled requests, in %d rounds (skipped rounds?)",
			s.Planned, scheduled, s.Rounds)
	}
	if s.Outcomes["dropped"] != o.Dropped {
		return o, fmt.Errorf("imager printed dropped %d but its results file says %d", o.Dropped, s.Outcomes["dropped"])
	}
	return o, nil
}

// vegetaReport is the part of `vegeta report -type=json` used here.
type vegetaReport struct {
	Latencies struct {
		P99 int64 `json:"99th"`
	} `json:"latencies"`
	Requests int64   `json:"requests"`
	Success  float64 `json:"success"`
}

// parseVegeta reads vegeta's JSON report of an attack at rate for d. Its
// requests over the scheduled duration are the achieved rate (requests it
// did not get to send lower it); unsuccessful ones count as failed.
func parseVegeta(report []byte, rate int, d time.Duration) (outcome, error) {
	var v vegetaReport
	if err := json.Unmarshal(report, &v); err != nil {
		return outcome{}, fmt.Errorf("vegeta report: %w: %s", err, tail(string(report), 600))
	}
	o := outcome{Planned: float64(rate), Requests: v.Requests, P99: time.Duration(v.Latencies.P99)}
	o.Rate = float64(v.Requests) / d.Seconds()
	success := int64(v.Success*float64(v.Requests) + 0.5)
	o.Failed = v.Requests - success
	return o, nil
}
