package imagerv1

import (
	"fmt"
	"time"

	"github.com/PeladoCollado/imager/engine"
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

// JobFromEngine converts an engine job into its wire form.
func JobFromEngine(j engine.Job) *Job {
	reqs := requestsFromEngine(j.Requests)
	var tls *TLS
	if t := j.TLS; t != nil {
		tls = &TLS{InsecureSkipVerify: t.InsecureSkipVerify, CaPem: t.CAPEM, ClientCertPem: t.ClientCertPEM, ClientKeyPem: t.ClientKeyPEM}
	}
	return &Job{
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

// requestsFromEngine converts requests into their wire form. The messages
// and their headers are carved out of a few large allocations rather than
// one per message, which a job of a million distinct requests needs.
func requestsFromEngine(rs []engine.Request) []*Request {
	n := 0
	for i := range rs {
		n += len(rs[i].Headers)
	}
	reqs := make([]*Request, len(rs))
	msgs := make([]Request, len(rs))
	headers := make([]Header, n)
	headerPtrs := make([]*Header, n)
	for i := range rs {
		r, m := &rs[i], &msgs[i]
		m.Method, m.Path, m.Query, m.Body, m.Name = r.Method, r.Path, r.Query, r.Body, r.Name
		if len(r.Headers) > 0 {
			hs := headerPtrs[:len(r.Headers):len(r.Headers)]
			headerPtrs = headerPtrs[len(r.Headers):]
			for k, h := range r.Headers {
				headers[k].Name, headers[k].Value = h.Name, h.Value
				hs[k] = &headers[k]
			}
			headers = headers[len(r.Headers):]
			m.Headers = hs
		} else {
			m.Headers = []*Header{}
		}
		reqs[i] = m
	}
	return reqs
}

// ToEngine converts a wire job into an engine job.
func (j *Job) ToEngine() engine.Job {
	reqs := make([]engine.Request, len(j.GetRequests()))
	for i, r := range j.GetRequests() {
		var hs []engine.Header
		if len(r.GetHeaders()) > 0 {
			hs = make([]engine.Header, len(r.GetHeaders()))
			for k, h := range r.GetHeaders() {
				hs[k] = engine.Header{Name: h.GetName(), Value: h.GetValue()}
			}
		}
		reqs[i] = engine.Request{Method: r.GetMethod(), Path: r.GetPath(), Query: r.GetQuery(), Headers: hs, Body: r.GetBody(), Name: r.GetName()}
	}
	var tls *engine.TLSConfig
	if t := j.GetTls(); t != nil {
		tls = &engine.TLSConfig{InsecureSkipVerify: t.GetInsecureSkipVerify(), CAPEM: t.GetCaPem(), ClientCertPEM: t.GetClientCertPem(), ClientKeyPEM: t.GetClientKeyPem()}
	}
	return engine.Job{
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
	}
}

// ReportFromEngine converts an engine report into its wire form.
func ReportFromEngine(r *engine.Report) (*Report, error) {
	lat, err := engine.EncodeHistogram(r.Latency)
	if err != nil {
		return nil, fmt.Errorf("report %s latency: %w", r.JobID, err)
	}
	svc, err := engine.EncodeHistogram(r.Service)
	if err != nil {
		return nil, fmt.Errorf("report %s service time: %w", r.JobID, err)
	}
	c := r.Counts
	names, err := namesFromEngine(r.Names)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", r.JobID, err)
	}
	return &Report{
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
		ResponseBytes:      c.ResponseBytes,
		LatencyHistogram:   lat,
		ServiceHistogram:   svc,
		FirstSendUnixNanos: unixNanos(r.FirstSend),
		LastSendUnixNanos:  unixNanos(r.LastSend),
		Error:              r.Err,
		StatusCodes:        statusFromEngine(r.StatusCodes),
		Errors:             errorsFromEngine(r.Errors),
		Names:              names,
		Dials:              r.Dials,
		DialErrors:         r.DialErrors,
	}, nil
}

// ToEngine converts a wire report into an engine report.
func (r *Report) ToEngine() (*engine.Report, error) {
	lat, err := engine.DecodeHistogram(r.GetLatencyHistogram())
	if err != nil {
		return nil, fmt.Errorf("report %s latency: %w", r.GetJobId(), err)
	}
	svc, err := engine.DecodeHistogram(r.GetServiceHistogram())
	if err != nil {
		return nil, fmt.Errorf("report %s service time: %w", r.GetJobId(), err)
	}
	names, err := r.namesToEngine()
	if err != nil {
		return nil, err
	}
	return &engine.Report{
		JobID: r.GetJobId(),
		Round: r.GetRound(),
		Counts: engine.Counts{
			Planned:       r.GetPlanned(),
			Sent:          r.GetSent(),
			Success:       r.GetSuccess(),
			ClientErrors:  r.GetClientErrors(),
			ServerErrors:  r.GetServerErrors(),
			Timeouts:      r.GetTimeouts(),
			ConnErrors:    r.GetConnectionErrors(),
			Dropped:       r.GetDropped(),
			Lost:          r.GetLost(),
			ResponseBytes: r.GetResponseBytes(),
		},
		Latency:    lat,
		Service:    svc,
		FirstSend:  fromUnixNanos(r.GetFirstSendUnixNanos()),
		LastSend:   fromUnixNanos(r.GetLastSendUnixNanos()),
		Err:        r.GetError(),
		Dials:      r.GetDials(),
		DialErrors: r.GetDialErrors(),
		Breakdown:  r.breakdownToEngine(names),
	}, nil
}
