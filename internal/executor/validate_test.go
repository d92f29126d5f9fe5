package executor

import (
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/wire"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
)

func TestValidateJob(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	valid := func() *imagerv1.Job {
		return &imagerv1.Job{
			JobId: "j", Count: 100, DurationNanos: int64(time.Second), StartAtUnixNanos: now.UnixNano(),
			TimeoutNanos: int64(5 * time.Second), Requests: []*imagerv1.Request{{Path: "/a"}, {Path: "/b"}},
		}
	}
	tests := []struct {
		name    string
		mutate  func(*imagerv1.Job)
		wantErr string // "" means valid
	}{
		{"valid", func(*imagerv1.Job) {}, ""},
		{"largest count", func(j *imagerv1.Job) { j.Count, j.DurationNanos = MaxJobCount, int64(10*time.Second) }, ""},
		{"highest rate", func(j *imagerv1.Job) { j.Count = MaxJobRate }, ""},
		{"default timeout", func(j *imagerv1.Job) { j.TimeoutNanos = 0 }, ""},
		{"start at the skew limits", func(j *imagerv1.Job) { j.StartAtUnixNanos = now.Add(MaxJobSkew).UnixNano() }, ""},
		{"start in the past within skew", func(j *imagerv1.Job) { j.StartAtUnixNanos = now.Add(-MaxJobSkew).UnixNano() }, ""},
		{"order within the pool", func(j *imagerv1.Job) { j.Order = []uint32{1, 0, 1} }, ""},
		{"zero count", func(j *imagerv1.Job) { j.Count = 0 }, "count is 0"},
		{"negative count", func(j *imagerv1.Job) { j.Count = -5 }, "count is -5"},
		{"two billion requests", func(j *imagerv1.Job) { j.Count, j.DurationNanos = 2e9, int64(time.Hour) }, "count is 2000000000"},
		{"rate too high", func(j *imagerv1.Job) { j.Count = MaxJobRate + 1 }, "rate is"},
		{"rate too high in a short job", func(j *imagerv1.Job) { j.Count, j.DurationNanos = 1000, int64(100*time.Microsecond) }, "rate is"},
		{"zero duration", func(j *imagerv1.Job) { j.DurationNanos = 0 }, "duration is 0s"},
		{"negative duration", func(j *imagerv1.Job) { j.DurationNanos = -1 }, "duration is"},
		{"duration too long", func(j *imagerv1.Job) { j.DurationNanos = int64(MaxJobDuration + time.Second) }, "duration is 1h0m1s"},
		{"negative timeout", func(j *imagerv1.Job) { j.TimeoutNanos = -1 }, "request timeout"},
		{"timeout too long", func(j *imagerv1.Job) { j.TimeoutNanos = int64(2 * time.Hour) }, "request timeout"},
		{"start far in the future", func(j *imagerv1.Job) { j.StartAtUnixNanos = now.Add(MaxJobSkew + time.Second).UnixNano() }, "start time"},
		{"start far in the past", func(j *imagerv1.Job) { j.StartAtUnixNanos = now.Add(-MaxJobSkew - time.Second).UnixNano() }, "start time"},
		{"start at the epoch", func(j *imagerv1.Job) { j.StartAtUnixNanos = 0 }, "start time"},
		{"no requests", func(j *imagerv1.Job) { j.Requests = nil }, "no requests"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := valid()
			tt.mutate(job)
			err := validateJob(wire.JobToTally(job), now)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("validateJob() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("validateJob() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestRefusedReport(t *testing.T) {
	rep := refusedReport("j7", 3, 2e9, errTest("count is too big"))
	if rep.JobID != "j7" || rep.Round != 3 || rep.Planned != 2e9 || rep.Lost != 2e9 || rep.Sent != 0 {
		t.Errorf("report = %+v, want job j7 round 3 with 2e9 planned and lost, none sent", rep.Counts)
	}
	if !strings.Contains(rep.Err, "count is too big") || rep.Errors[rep.Err] != 2e9 {
		t.Errorf("report error %q with errors %v, want the reason counted for every request", rep.Err, rep.Errors)
	}
	if got := refusedReport("", 0, -4, errTest("x")); got.Planned != 0 || got.Lost != 0 {
		t.Errorf("report of a negative count plans %d and loses %d, want 0 and 0", got.Planned, got.Lost)
	}
}

// errTest is an error with a fixed message.
type errTest string

func (e errTest) Error() string { return string(e) }

func TestRefusedReportWithoutReason(t *testing.T) {
	rep := refusedReport("j", 0, 3, nil)
	if rep.Err != "job refused" || rep.Lost != 3 {
		t.Errorf("report error %q, %d lost; want \"job refused\" and 3 lost", rep.Err, rep.Lost)
	}
}
