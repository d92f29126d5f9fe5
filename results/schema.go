// Package results is what a run leaves behind: the results file (one JSON
// object a line, written as the run goes), the thresholds that judge a run,
// the text summary both commands print, and the comparison of two runs.
// docs/RESULTS.md documents the file's schema; SchemaVersion is its version.
//
// The types here are the one view of a finished round and of a whole run
// that everything downstream of the scheduler reads: the text lines, the
// results file, the HTML report and `imager compare`.
package results

import (
	"time"
)

// SchemaVersion is the version of the results file schema. Additive
// changes keep it; a change that alters or removes a field bumps it.
const SchemaVersion = 1

// Line types: the value of the "type" field of each line.
const (
	TypeRun     = "run"
	TypeRound   = "round"
	TypeSummary = "summary"
)

// Run is the first line of a results file: what was run, and how.
type Run struct {
	Type string `json:"type"`
	// SchemaVersion is the version of this file's schema.
	SchemaVersion int `json:"schema_version"`
	// Version is the version of imager that wrote the file.
	Version string `json:"version"`
	// Command is the program that ran the test: "imager run" or
	// "orchestrator".
	Command string `json:"command"`
	// Start is when the run started.
	Start time.Time `json:"start"`
	// Flags holds every flag whose value differs from the orchestrator's
	// default, by name without the dash; a URL's password and credential
	// headers are redacted.
	Flags map[string]string `json:"flags"`
	// Seed is the random seed of the request source.
	Seed int64 `json:"seed"`
	// Scenario is the Lua scenario file and ScenarioSHA256 its SHA-256, when
	// a scenario is used.
	Scenario       string `json:"scenario,omitempty"`
	ScenarioSHA256 string `json:"scenario_sha256,omitempty"`
	// Target describes what was loaded: the URL in url mode, or
	// "pod <namespace>/<deployment>" and "service <namespace>/<service>".
	Target string `json:"target"`
	// Thresholds are the expressions the run is judged by, as given.
	Thresholds []string `json:"thresholds,omitempty"`
}

// Quantiles are latency quantiles in milliseconds.
type Quantiles struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P95  float64 `json:"p95"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p99.9"`
	Max  float64 `json:"max"`
}

// ErrorCount is one distinct failure reason with how often it occurred.
type ErrorCount struct {
	Message string `json:"message"`
	Count   int64  `json:"count"`
}

// TargetUsage is the target pods' summed resource usage. In the summary,
// CPU and memory are the highest of any round and CPUMsPerRequest is
// over the whole run.
type TargetUsage struct {
	CPUMillicores float64 `json:"cpu_millicores"`
	MemoryBytes   int64   `json:"memory_bytes"`
	// CPUMsPerRequest is target CPU time per successful request, in
	// milliseconds; 0 when unknown.
	CPUMsPerRequest float64 `json:"cpu_ms_per_request,omitempty"`
}

// Counts are the outcome counts shared by a whole round or run and by the
// requests of one name.
type Counts struct {
	// Planned is the number of requests that fell due; Sent those that
	// went out on the wire.
	Planned int64 `json:"planned"`
	Sent    int64 `json:"sent"`
	// Outcomes counts planned requests by outcome name; it always holds
	// every outcome, and its values add up to Planned.
	Outcomes map[string]int64 `json:"outcomes"`
	// ErrorRate is (planned − success) / planned, 0 when nothing was
	// planned.
	ErrorRate float64 `json:"error_rate"`
	// Latency holds quantiles of the latency from each request's intended
	// send time, in milliseconds.
	Latency Quantiles `json:"latency"`
	// LatencyHistogram is that latency as an HdrHistogram in its V2
	// compressed encoding, in microseconds, base64 (standard alphabet).
	LatencyHistogram string `json:"latency_histogram"`
}

// NameStats is the share of a round or run of the requests with one name.
type NameStats struct {
	Name string `json:"name"`
	Counts
}

// Stats is what a round line and the summary line have in common.
type Stats struct {
	Counts
	// PlannedRPS is the rate the load calculator asked for; over a whole
	// run, planned requests over the elapsed time.
	PlannedRPS float64 `json:"planned_rps"`
	// StatusCodes counts responses by HTTP status code, keyed by the code
	// as a string.
	StatusCodes map[string]int64 `json:"status_codes"`
	// AchievedRPS is the rate at which requests went out.
	AchievedRPS float64 `json:"achieved_rps"`
	// ServiceTime holds quantiles of the time from the actual send, in
	// milliseconds.
	ServiceTime Quantiles `json:"service_time"`
	// ResponseBytes is the total size of response bodies.
	ResponseBytes int64 `json:"response_bytes"`
	// Errors are the most frequent failure reasons, most frequent first.
	Errors []ErrorCount `json:"errors,omitempty"`
	// Names breaks the counts and latency down by request name.
	Names []NameStats `json:"names,omitempty"`
	// Target is the target pods' usage, when known.
	Target *TargetUsage `json:"target,omitempty"`
	// Connections counts the connections to the target the executors
	// opened and failed to open; nil in a file written before imager
	// counted them.
	Connections *Connections `json:"connections,omitempty"`
	// Checks counts the verdicts of each response check, sorted by name;
	// empty when no check judged a response (and in files written before
	// imager had checks).
	Checks []CheckStats `json:"checks,omitempty"`
}

// CheckStats is how often one response check (docs/CHECKS.md) passed and
// failed.
type CheckStats struct {
	Name   string `json:"name"`
	Passed int64  `json:"passed"`
	Failed int64  `json:"failed"`
	// PassRate is Passed / (Passed + Failed); a check that judged nothing
	// is not listed.
	PassRate float64 `json:"pass_rate"`
}

// Connections are the connections to the target of a round or run.
type Connections struct {
	// Opened counts the connections opened: a first connect, or a
	// reconnect after the target or a failure closed one.
	Opened int64 `json:"opened"`
	// Failed counts the connection attempts that failed; the requests
	// they were for are connection errors.
	Failed int64 `json:"failed"`
}

// Round is one line per finished round.
type Round struct {
	Type string `json:"type"`
	// Round is the round's index on the time grid, from 0.
	Round int64 `json:"round"`
	// Start is when the round was due to start; IntervalSeconds its length.
	Start           time.Time `json:"start"`
	IntervalSeconds float64   `json:"interval_seconds"`
	// Executors is how many executors the round was split across.
	Executors int `json:"executors"`
	Stats
}

// Summary is the last line: the whole run, and its verdict.
type Summary struct {
	Type string `json:"type"`
	// Rounds is the number of finished rounds; ElapsedSeconds runs from
	// the first round's start to the end of the last.
	Rounds         int     `json:"rounds"`
	ElapsedSeconds float64 `json:"elapsed_seconds"`
	// SkippedRounds counts the rounds not run (planned too late, no
	// executor, no target); their load is missing from the totals.
	SkippedRounds int `json:"skipped_rounds,omitempty"`
	Stats
	// Thresholds holds the verdict of every threshold.
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	// Passed is false when a threshold failed or, with no thresholds, when
	// not one request succeeded; Reason then says why.
	Passed bool   `json:"passed"`
	Reason string `json:"reason,omitempty"`
	// Stopped says how the run ended: "completed", "interrupted",
	// "aborted" (a round threshold failed with abort-on-fail), or
	// "failed" (the run could not go on; Error says why).
	Stopped string `json:"stopped"`
	Error   string `json:"error,omitempty"`
	// Search is what a searching load calculator (adaptive-exponential)
	// concluded, e.g. the rate it settled on.
	Search string `json:"search,omitempty"`
}

// ThresholdResult is the verdict of one threshold.
type ThresholdResult struct {
	// Expression is the threshold as the user wrote it.
	Expression string `json:"expression"`
	Passed     bool   `json:"passed"`
	// Value is the measured value, in the metric's unit (milliseconds for
	// latency); for a round threshold, the value in the first failing
	// round, or the worst round when all passed.
	Value float64 `json:"value"`
	// Round is the first round that failed a round: threshold.
	Round *int64 `json:"round,omitempty"`
	// Reason says why a threshold failed without a measured value, such
	// as a check threshold naming a check that never ran.
	Reason string `json:"reason,omitempty"`
}

// durationMS converts d to milliseconds.
func durationMS(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
