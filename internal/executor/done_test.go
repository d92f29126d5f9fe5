package executor

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

// logRecord is one recorded log line.
type logRecord struct {
	level slog.Level
	msg   string
}

// recorder is a slog.Handler that keeps every record, at every level;
// handlers derived with WithAttrs or WithGroup share its records.
type recorder struct {
	mu   *sync.Mutex
	recs *[]logRecord
}

func newRecorder() recorder { return recorder{mu: &sync.Mutex{}, recs: &[]logRecord{}} }

func (recorder) Enabled(context.Context, slog.Level) bool { return true }

func (r recorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	*r.recs = append(*r.recs, logRecord{rec.Level, rec.Message})
	return nil
}

func (r recorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r recorder) WithGroup(string) slog.Handler      { return r }

// count returns how many records have the level and, unless msg is empty,
// the message.
func (r recorder) count(level slog.Level, msg string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range *r.recs {
		if rec.level == level && (msg == "" || rec.msg == msg) {
			n++
		}
	}
	return n
}

// String lists the records, for failure messages.
func (r recorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var s string
	for _, rec := range *r.recs {
		s += rec.level.String() + " " + rec.msg + "\n"
	}
	return s
}

// sendDone sends the end-of-test notice.
func sendDone(st serverStream, passed bool, reason string) error {
	return st.Send(&imagerv1.OrchestratorMessage{Kind: &imagerv1.OrchestratorMessage_Done{
		Done: &imagerv1.Done{Passed: passed, Reason: reason},
	}})
}

// runUntilReturn runs e.Run in the background and returns a channel with
// its result; Run is cancelled when the test ends at the latest.
func runUntilReturn(t *testing.T, e *Executor) <-chan error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done, returned := make(chan error, 1), make(chan struct{})
	go func() {
		done <- e.Run(ctx)
		close(returned)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-returned:
		case <-time.After(waitLimit):
			t.Errorf("Run did not return within %v of cancellation", waitLimit)
		}
	})
	return done
}

// With ExitWhenDone, a Done that arrives while a job is running makes Run
// return nil, but only after the job's full report went out and the
// executor closed the stream.
func TestExitWhenDoneReportsJobsInFlight(t *testing.T) {
	const count = 10
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(srv.Close)

	// got is what the fake received after Done, in order, ending with
	// the executor's half-close.
	type event struct {
		report *imagerv1.Report
		eof    bool
	}
	events := make(chan event, 100)
	f := startFake(t, func(conn int, st serverStream) error {
		if conn > 1 {
			return status.Error(codes.Unavailable, "test over")
		}
		if err := welcome(st, time.Hour); err != nil {
			return err
		}
		err := sendJob(st, &imagerv1.Job{
			JobId: "last", Round: 9, TargetUrl: srv.URL, Count: count,
			StartAtUnixNanos: time.Now().UnixNano(), DurationNanos: int64(300 * time.Millisecond),
			TimeoutNanos: int64(5 * time.Second),
			Requests:     []*imagerv1.Request{{Path: "/"}},
		})
		if err != nil {
			return err
		}
		if err := sendDone(st, true, "completed"); err != nil {
			return err
		}
		for {
			m, err := st.Recv()
			if errors.Is(err, io.EOF) {
				events <- event{eof: true}
				return nil
			}
			if err != nil {
				return err
			}
			if r := m.GetReport(); r != nil {
				events <- event{report: r}
			}
		}
	})
	logs := newRecorder()
	cfg := testConfig(f.addr, io.Discard)
	cfg.Logger = slog.New(logs)
	cfg.ExitWhenDone = true
	ret := runUntilReturn(t, newExecutor(t, cfg))

	select {
	case err := <-ret:
		if err != nil {
			t.Errorf("Run() = %v after Done, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("Run did not return within %v of Done with ExitWhenDone; log:\n%s", waitLimit, logs)
	}
	var first, second event
	select {
	case first = <-events:
	case <-time.After(waitLimit):
		t.Fatalf("orchestrator got nothing after Done")
	}
	if r := first.report; r == nil || r.GetJobId() != "last" || r.GetSent() != count || r.GetSuccess() != count || r.GetLost() != 0 {
		t.Errorf("first message after Done = %+v, want the full report of job last (%d sent and succeeded, none lost)", first, count)
	}
	select {
	case second = <-events:
	case <-time.After(waitLimit):
		t.Fatalf("the executor did not close the stream after its report")
	}
	if !second.eof {
		t.Errorf("after the report the orchestrator got %+v, want the end of the stream", second)
	}
	if n := f.conns.Load(); n != 1 {
		t.Errorf("executor connected %d times, want 1: it must not reconnect after Done", n)
	}
	if n := logs.count(slog.LevelInfo, "test finished; exiting"); n != 1 {
		t.Errorf("%d \"test finished; exiting\" lines, want 1; log:\n%s", n, logs)
	}
	if n := logs.count(slog.LevelWarn, ""); n != 0 {
		t.Errorf("%d warnings, want none; log:\n%s", n, logs)
	}
}

// Without ExitWhenDone, the executor logs one Info line on Done and waits
// for the next orchestrator; a stream that ends without Done costs one
// warning. Failed reconnects in between are logged at debug level only.
func TestReconnectsQuietly(t *testing.T) {
	const failures = 5 // rejected connections before the next orchestrator
	tests := []struct {
		name     string
		done     bool
		wantInfo int
		wantWarn int
	}{
		{name: "after Done", done: true, wantInfo: 1, wantWarn: 0},
		{name: "after the stream broke", done: false, wantInfo: 0, wantWarn: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			back := make(chan struct{})
			f := startFake(t, func(conn int, st serverStream) error {
				switch {
				case conn == 1:
					if err := welcome(st, time.Hour); err != nil {
						return err
					}
					if !tt.done {
						return status.Error(codes.Unavailable, "orchestrator gone")
					}
					if err := sendDone(st, false, "interrupted"); err != nil {
						return err
					}
					// Serve until the executor closes the stream.
					for {
						if _, err := st.Recv(); err != nil {
							return nil
						}
					}
				case conn <= 1+failures:
					return status.Error(codes.Unavailable, "no orchestrator yet")
				default:
					if err := welcome(st, time.Hour); err != nil {
						return err
					}
					close(back)
					<-st.Context().Done()
					return nil
				}
			})
			logs := newRecorder()
			cfg := testConfig(f.addr, io.Discard)
			cfg.Logger = slog.New(logs)
			ret := runUntilReturn(t, newExecutor(t, cfg))

			select {
			case <-back:
			case err := <-ret:
				t.Fatalf("Run returned %v, want it to wait for the next orchestrator; log:\n%s", err, logs)
			case <-time.After(waitLimit):
				t.Fatalf("executor not back within %v; log:\n%s", waitLimit, logs)
			}
			if n := int(f.conns.Load()); n != failures+2 {
				t.Errorf("%d connections, want %d", n, failures+2)
			}
			if n := logs.count(slog.LevelInfo, "test finished; waiting for the next orchestrator"); n != tt.wantInfo {
				t.Errorf("%d \"test finished; waiting for the next orchestrator\" lines, want %d; log:\n%s", n, tt.wantInfo, logs)
			}
			if n := logs.count(slog.LevelWarn, ""); n != tt.wantWarn {
				t.Errorf("%d warnings over %d failed reconnects, want %d; log:\n%s", n, failures, tt.wantWarn, logs)
			}
			if n := logs.count(slog.LevelDebug, "reconnect to orchestrator failed; retrying"); n != failures {
				t.Errorf("%d debug lines for failed reconnects, want %d; log:\n%s", n, failures, logs)
			}
		})
	}
}
