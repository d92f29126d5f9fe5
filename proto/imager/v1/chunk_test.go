package imagerv1

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
)

// testJob returns a job of n distinct requests with bodies of size body
// and an order of orderLen entries cycling over them.
func testJob(n, body, orderLen int) *Job {
	j := &Job{JobId: "r3-exec-a", Round: 3, TargetUrl: "http://127.0.0.1:9", Count: int64(max(n, orderLen, 1)), DurationNanos: 1e9}
	for i := range n {
		j.Requests = append(j.Requests, &Request{Method: "POST", Path: fmt.Sprintf("/p%d", i),
			Headers: []*Header{{Name: "X-I", Value: fmt.Sprint(i)}}, Body: []byte(strings.Repeat("b", body))})
	}
	for i := range orderLen {
		j.Order = append(j.Order, uint32((i*7)%max(n, 1)))
	}
	return j
}

// assemble feeds msgs to an assembler as an executor would and returns
// the job it completes.
func assemble(t *testing.T, msgs []*OrchestratorMessage) *Job {
	t.Helper()
	var a JobAssembler
	var done *Job
	for i, m := range msgs {
		var got *Job
		var err error
		switch k := m.GetKind().(type) {
		case *OrchestratorMessage_Job:
			var abandoned []*Job
			got, abandoned, err = a.Job(k.Job)
			if abandoned != nil {
				t.Fatalf("message %d: abandoned %v", i, abandoned)
			}
		case *OrchestratorMessage_JobPart:
			var abandoned *Job
			got, abandoned, err = a.Part(k.JobPart)
			if abandoned != nil {
				t.Fatalf("message %d: abandoned %s", i, abandoned.GetJobId())
			}
		}
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got != nil {
			if i != len(msgs)-1 || done != nil {
				t.Fatalf("job complete at message %d of %d", i+1, len(msgs))
			}
			done = got
		}
	}
	if done == nil || a.Pending() != nil {
		t.Fatalf("job not complete after %d messages", len(msgs))
	}
	return done
}

func TestSplitJobRoundTrips(t *testing.T) {
	const budget = 64 << 10
	tests := []struct {
		name                 string
		n, body, order, msgs int
	}{
		{"small job in one message", 3, 10, 0, 1},
		{"many requests", 2000, 100, 0, 5},
		{"one request bigger than the budget", 1, 3 * budget, 0, 1},
		{"big requests each alone", 4, 2 * budget, 0, 4},
		{"long order", 2, 10, 100000, 8},
		{"requests and order", 1500, 100, 30000, 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			job := testJob(tt.n, tt.body, tt.order)
			want := proto.Clone(job).(*Job)
			msgs := SplitJob(job, budget)
			if !proto.Equal(job, want) {
				t.Fatal("SplitJob modified its job")
			}
			if len(msgs) != tt.msgs {
				t.Errorf("%d messages, want %d", len(msgs), tt.msgs)
			}
			for i, m := range msgs {
				limit := budget
				if tt.body > budget {
					limit = tt.body + 1024
				}
				if n := proto.Size(m); n > limit {
					t.Errorf("message %d is %d bytes, budget %d", i, n, limit)
				}
			}
			got := assemble(t, msgs)
			got.Parts = 0
			if !proto.Equal(got, want) {
				t.Errorf("reassembled job differs: %d requests, %d order entries; want %d, %d",
					len(got.Requests), len(got.Order), len(want.Requests), len(want.Order))
			}
		})
	}
}

// ids returns the ids of jobs.
func ids(jobs []*Job) []string {
	var out []string
	for _, j := range jobs {
		out = append(out, j.GetJobId())
	}
	return out
}

func TestJobAssemblerRefusesDisorder(t *testing.T) {
	msgs := SplitJob(testJob(100, 1000, 0), 8<<10)
	if len(msgs) < 3 {
		t.Fatalf("want at least 3 messages, got %d", len(msgs))
	}
	var a JobAssembler
	if _, _, err := a.Part(msgs[1].GetJobPart()); !errors.Is(err, ErrPartOutOfPlace) {
		t.Errorf("part before its job: err %v, want ErrPartOutOfPlace", err)
	}
	if _, _, err := a.Job(msgs[0].GetJob()); err != nil {
		t.Fatal(err)
	}
	other := &JobPart{JobId: "someone-else"}
	if _, _, err := a.Part(other); !errors.Is(err, ErrPartOutOfPlace) {
		t.Errorf("part of another job: err %v, want ErrPartOutOfPlace", err)
	}
	next := &Job{JobId: "r4-exec-a"}
	got, abandoned, err := a.Job(next)
	if got != next || fmt.Sprint(ids(abandoned)) != "[r3-exec-a]" || err == nil || !strings.Contains(err.Error(), "parts missing") {
		t.Errorf("job over an incomplete one: got %v, abandoned %v, err %v", got.GetJobId(), ids(abandoned), err)
	}
	// An announcement out of bounds abandons the job waiting for parts
	// and itself.
	a.MaxCount = 5000
	for _, bad := range []*Job{{JobId: "neg", Parts: -1}, {JobId: "many", Parts: maxParts + 1}, {JobId: "big", Parts: 1, Count: 5001}} {
		if _, _, err := a.Job(msgs[0].GetJob()); err != nil {
			t.Fatal(err)
		}
		got, abandoned, err := a.Job(bad)
		if got != nil || fmt.Sprint(ids(abandoned)) != "[r3-exec-a "+bad.JobId+"]" || err == nil || a.Pending() != nil {
			t.Errorf("%s: got %v, abandoned %v, err %v; want both jobs abandoned", bad.JobId, got, ids(abandoned), err)
		}
	}
}

func TestJobAssemblerBoundsPartsByCount(t *testing.T) {
	job := testJob(100, 10, 0)
	job.Count = 60 // fewer requests than the pool the parts carry
	msgs := SplitJob(job, 2<<10)
	var a JobAssembler
	if _, _, err := a.Job(msgs[0].GetJob()); err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs[1:] {
		got, abandoned, err := a.Part(m.GetJobPart())
		if got != nil {
			t.Fatalf("part %d completed a job whose parts exceed its count", i+1)
		}
		if abandoned != nil {
			if abandoned.GetJobId() != job.JobId || err == nil || !strings.Contains(err.Error(), "more requests or order entries than its count of 60") ||
				len(abandoned.Requests) > 60 || a.Pending() != nil {
				t.Errorf("abandoned %s with %d requests, err %v", abandoned.GetJobId(), len(abandoned.Requests), err)
			}
			return
		}
	}
	t.Error("no part was refused")
}
