package engine

import (
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/types"
)

// hangUp returns a handler that counts each request it reads and closes
// the connection without answering, a failure fasthttp would retry by
// default for an idempotent request.
func hangUp(t *testing.T, handled *atomic.Int64) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		handled.Add(1)
		conn, _, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Errorf("hijack: %v", err)
			return
		}
		_ = conn.Close()
	}
}

// TestRequestsAreNeverRetried checks that a request whose connection is
// closed before the response reaches the target once and counts as a
// connection error, over plain HTTP (the engine's own sender), over HTTPS
// (a slot's fasthttp.HostClient) and through Client.send (its
// fasthttp.Client), for an idempotent and a non-idempotent method.
func TestRequestsAreNeverRetried(t *testing.T) {
	cert := tlstest.SelfSigned(t)
	const n = 3
	for _, method := range []string{http.MethodGet, http.MethodPost} {
		t.Run(method+"/http", func(t *testing.T) {
			var handled atomic.Int64
			checkSentOnce(t, target(t, hangUp(t, &handled)), nil, method, &handled, n)
		})
		t.Run(method+"/https", func(t *testing.T) {
			var handled atomic.Int64
			srv := tlstest.NewServer(t, cert, nil, hangUp(t, &handled))
			checkSentOnce(t, srv.URL, &tally.TLSConfig{CAPEM: cert.CertPEM}, method, &handled, n)
		})
		t.Run(method+"/Client.send", func(t *testing.T) {
			var handled atomic.Int64
			url := target(t, hangUp(t, &handled))
			client := NewClient(ClientConfig{MaxConnsPerHost: 1})
			t.Cleanup(client.CloseConnections)
			reqs, err := prepare(url, []types.RequestSpec{{Method: method, Path: "/"}})
			if err != nil {
				t.Fatalf("prepare: %v", err)
			}
			for i := range n {
				var s tally.Sample
				client.send(&reqs[0], time.Now().Add(5*time.Second), &s)
				if s.Outcome != tally.ConnError {
					t.Errorf("request %d: outcome %v (%v), want a connection error", i, s.Outcome, s.Err)
				}
				if got := handled.Load(); got != int64(i+1) {
					t.Fatalf("after %d requests the target read %d, want %d (no retries)", i+1, got, i+1)
				}
			}
		})
	}
}

// checkSentOnce runs a job of n requests with method against url and
// checks each failed as a connection error and reached the target once.
func checkSentOnce(t *testing.T, url string, tc *tally.TLSConfig, method string, handled *atomic.Int64, n int) {
	t.Helper()
	r := NewRunner(RunnerConfig{MaxInFlight: 10}) // above n: none dropped
	defer r.CloseConnections()
	rep := r.Run(t.Context(), tally.Job{
		ID: "no-retry", TargetURL: url, StartAt: time.Now(), Duration: 20 * time.Millisecond,
		Count: n, Timeout: 5 * time.Second, Requests: []types.RequestSpec{{Method: method, Path: "/"}}, TLS: tc,
	})
	checkAccounted(t, rep)
	if rep.ConnErrors != int64(n) {
		t.Errorf("%d connection errors, want %d: %+v %v", rep.ConnErrors, n, rep.Counts, rep.Errors)
	}
	if got := handled.Load(); got != int64(n) {
		t.Errorf("the target read %d requests, want %d (no retries)", got, n)
	}
}
