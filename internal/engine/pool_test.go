package engine

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// TestRunFollowsOrder checks that a job with an order sends its pool's
// requests in that order, cycled over Count.
func TestRunFollowsOrder(t *testing.T) {
	var mu sync.Mutex
	var paths []string
	url := target(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		paths = append(paths, r.URL.Path)
		mu.Unlock()
	})
	r := NewRunner(RunnerConfig{})
	job := tally.Job{
		TargetURL: url, Count: 6, Duration: 60 * time.Millisecond, StartAt: time.Now(),
		Requests: []types.RequestSpec{{Method: "GET", Path: "/a"}, {Method: "GET", Path: "/b"}},
		Order:    []uint32{0, 0, 1},
	}
	rep := r.Run(context.Background(), job)
	checkAccounted(t, rep)
	if rep.Success != 6 {
		t.Fatalf("success %d of 6: %+v", rep.Success, rep.Counts)
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(paths)
	if got := strings.Join(paths, " "); got != "/a /a /a /a /b /b" {
		t.Errorf("target saw %s, want four /a and two /b", got)
	}
}

func TestRunRefusesBadOrder(t *testing.T) {
	r := NewRunner(RunnerConfig{})
	job := tally.Job{TargetURL: "http://127.0.0.1:1", Count: 3, Requests: []types.RequestSpec{{Path: "/"}}, Order: []uint32{0, 1}}
	rep := r.Run(context.Background(), job)
	if !strings.Contains(rep.Err, "order entry 1 names request 1 of 1") || rep.Lost != 3 {
		t.Errorf("err %q lost %d, want the bad order entry named and 3 lost", rep.Err, rep.Lost)
	}
}
