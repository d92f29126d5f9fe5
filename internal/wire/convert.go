// Package wire converts between the data model (internal/tally) and the
// control-plane messages of proto/imager/v1: the one place in each
// direction where a job or a report changes form.
package wire

import (
	"fmt"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
)

// unixNanos returns t as Unix nanoseconds, 0 for the zero time.
func unixNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromUnixNanos is the inverse of unixNanos.
func fromUnixNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n)
}

// JobFromTally converts a job into its wire form, the one place a job's
// requests become wire messages: each request's headers go out sorted by
// name, a name's values in their order, as the engine sends them. The
// messages share their bodies with j's requests (a body string is not
// copied for the wire): treat them as read-only.
func JobFromTally(j tally.Job) *imagerv1.Job {
	reqs := requestsFromTally(j.Requests)
	var tls *imagerv1.TLS
	if t := j.TLS; t != nil {
		tls = &imagerv1.TLS{InsecureSkipVerify: t.InsecureSkipVerify, CaPem: t.CAPEM, ClientCertPem: t.ClientCertPEM, ClientKeyPem: t.ClientKeyPEM}
	}
	return &imagerv1.Job{
		JobId:            j.ID,
		Round:            j.Round,
		TargetUrl:        j.TargetURL,
		StartAtUnixNanos: unixNanos(j.StartAt),
		DurationNanos:    int64(j.Duration),
		Count:            int64(j.Count),
		TimeoutNanos:     int64(j.Timeout),
		Requests:         reqs,
		Order:            j.Order,
		Tls:              tls,
	}
}

// JobToTally converts a wire job into a job, the one place wire requests
// become requests. A body becomes one string per wire request, which the
// job's uses of that request share. Headers with the same content as the
// request before share its map. Requests with the same response checks
// share one Expect; checks that do not parse set the job's Invalid, which
// the engine refuses.
func JobToTally(j *imagerv1.Job) tally.Job {
	var tls *tally.TLSConfig
	if t := j.GetTls(); t != nil {
		tls = &tally.TLSConfig{InsecureSkipVerify: t.GetInsecureSkipVerify(), CAPEM: t.GetCaPem(), ClientCertPEM: t.GetClientCertPem(), ClientKeyPEM: t.GetClientKeyPem()}
	}
	reqs, invalid := requestsToTally(j.GetRequests())
	return tally.Job{
		ID:        j.GetJobId(),
		Round:     j.GetRound(),
		TargetURL: j.GetTargetUrl(),
		StartAt:   fromUnixNanos(j.GetStartAtUnixNanos()),
		Duration:  time.Duration(j.GetDurationNanos()),
		Count:     int(j.GetCount()),
		Timeout:   time.Duration(j.GetTimeoutNanos()),
		Requests:  reqs,
		Order:     j.GetOrder(),
		TLS:       tls,
		Invalid:   invalid,
	}
}

// ReportFromTally converts a report into its wire form.
func ReportFromTally(r *tally.Report) (*imagerv1.Report, error) {
	lat, err := tally.EncodeHistogram(r.Latency)
	if err != nil {
		return nil, fmt.Errorf("report %s latency: %w", r.JobID, err)
	}
	svc, err := tally.EncodeHistogram(r.Service)
	if err != nil {
		return nil, fmt.Errorf("report %s service time: %w", r.JobID, err)
	}
	c := r.Counts
	names, err := namesFromTally(r.Names)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", r.JobID, err)
	}
	return &imagerv1.Report{
		JobId:              r.JobID,
		Round:              r.Round,
		Planned:            c.Planned,
		Sent:               c.Sent,
		Success:            c.Success,
		ClientErrors:       c.ClientErrors,
		ServerErrors:       c.ServerErrors,
		Timeouts:           c.Timeouts,
		ConnectionErrors:   c.ConnErrors,
		Dropped:            c.Dropped,
		Lost:               c.Lost,
		CheckFailed:        c.CheckFailed,
		ResponseBytes:      c.ResponseBytes,
		LatencyHistogram:   lat,
		ServiceHistogram:   svc,
		FirstSendUnixNanos: unixNanos(r.FirstSend),
		LastSendUnixNanos:  unixNanos(r.LastSend),
		Error:              r.Err,
		StatusCodes:        statusFromTally(r.StatusCodes),
		Errors:             errorsFromTally(r.Errors),
		Names:              names,
		Dials:              r.Dials,
		DialErrors:         r.DialErrors,
		Checks:             checksFromTally(r.Checks),
	}, nil
}

// ReportToTally converts a wire report into a report.
func ReportToTally(r *imagerv1.Report) (*tally.Report, error) {
	lat, err := tally.DecodeHistogram(r.GetLatencyHistogram())
	if err != nil {
		return nil, fmt.Errorf("report %s latency: %w", r.GetJobId(), err)
	}
	svc, err := tally.DecodeHistogram(r.GetServiceHistogram())
	if err != nil {
		return nil, fmt.Errorf("report %s service time: %w", r.GetJobId(), err)
	}
	names, err := namesToTally(r)
	if err != nil {
		return nil, err
	}
	return &tally.Report{
		JobID: r.GetJobId(),
		Round: r.GetRound(),
		Counts: tally.Counts{
			Planned:       r.GetPlanned(),
			Sent:          r.GetSent(),
			Success:       r.GetSuccess(),
			ClientErrors:  r.GetClientErrors(),
			ServerErrors:  r.GetServerErrors(),
			Timeouts:      r.GetTimeouts(),
			ConnErrors:    r.GetConnectionErrors(),
			Dropped:       r.GetDropped(),
			Lost:          r.GetLost(),
			CheckFailed:   r.GetCheckFailed(),
			ResponseBytes: r.GetResponseBytes(),
		},
		Latency:    lat,
		Service:    svc,
		FirstSend:  fromUnixNanos(r.GetFirstSendUnixNanos()),
		LastSend:   fromUnixNanos(r.GetLastSendUnixNanos()),
		Err:        r.GetError(),
		Dials:      r.GetDials(),
		DialErrors: r.GetDialErrors(),
		Breakdown:  breakdownToTally(r, names),
	}, nil
}
