package executor

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/proc"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// TestJobChecks checks that a remote job's response checks reach the
// engine: responses failing them count as check_failed, per check name;
// checks that do not parse refuse the job, its requests lost.
func TestJobChecks(t *testing.T) {
	const count = 10
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write([]byte(`{"error":"overloaded"}`))
	}))
	t.Cleanup(srv.Close)
	tests := []struct {
		name, expect string
		check        func(t *testing.T, r *imagerv1.Report)
	}{
		{"failing check", `{"body_contains":"\"ok\""}`, func(t *testing.T, r *imagerv1.Report) {
			if r.GetCheckFailed() != count || r.GetError() != "" {
				t.Errorf("check_failed %d, error %q; want %d and none", r.GetCheckFailed(), r.GetError(), count)
			}
			cs := r.GetChecks()
			if len(cs) != 1 || cs[0].GetName() != "api:body_contains" || cs[0].GetFailed() != count || cs[0].GetPassed() != 0 {
				t.Errorf("checks %v, want api:body_contains failed %d times", cs, count)
			}
		}},
		{"unparsable checks", `{"body_contans":"ok"}`, func(t *testing.T, r *imagerv1.Report) {
			if r.GetLost() != count || r.GetSent() != 0 || !strings.Contains(r.GetError(), "body_contans") {
				t.Errorf("lost %d, sent %d, error %q; want the job refused", r.GetLost(), r.GetSent(), r.GetError())
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reports := make(chan *imagerv1.Report, 1)
			f := startFake(t, func(_ int, st serverStream) error {
				if err := welcome(st, time.Hour); err != nil {
					return err
				}
				err := sendJob(st, &imagerv1.Job{
					JobId: "job-c", Round: 1, TargetUrl: srv.URL,
					StartAtUnixNanos: time.Now().Add(20 * time.Millisecond).UnixNano(),
					DurationNanos:    int64(100 * time.Millisecond), Count: count, TimeoutNanos: int64(5 * time.Second),
					Requests: []*imagerv1.Request{{Method: "GET", Path: "/", Name: "api", Expect: tt.expect}},
				})
				if err != nil {
					return err
				}
				return forwardReports(st, reports)
			})
			logs := &proc.Buffer{}
			startExecutor(t, newExecutor(t, testConfig(f.addr, logs)), logs)
			select {
			case r := <-reports:
				tt.check(t, r)
			case <-time.After(waitLimit):
				t.Fatalf("no report within %v", waitLimit)
			}
		})
	}
}
