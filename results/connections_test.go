package results

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/orchestrator/manager"
)

// TestConnectionsInFileAndSummary follows the connection counts from two
// rounds through the results file (round lines and summary line), the
// totals rebuilt from the rounds of a killed run, and the text summary.
func TestConnectionsInFileAndSummary(t *testing.T) {
	base := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	var sum manager.Summary
	path := filepath.Join(t.TempDir(), "run.ndjson")
	w, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(&Run{Type: TypeRun, SchemaVersion: SchemaVersion, Command: "imager run", Start: base, Target: "http://x"}); err != nil {
		t.Fatal(err)
	}
	for i, c := range []Connections{{Opened: 4, Failed: 1}, {Opened: 2, Failed: 0}} {
		r := synthRound(base, int64(i), roundSpec{success: 10, latency: time.Millisecond, name: "home"})
		r.Dials, r.DialErrors = c.Opened, c.Failed
		sum.Add(r)
		r.Summarize()
		line, err := FromRound(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(line); err != nil {
			t.Fatal(err)
		}
	}
	sum.Elapsed = 2 * time.Second
	s, err := FromSummary(&sum)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []Connections{{Opened: 4, Failed: 1}, {Opened: 2, Failed: 0}} {
		if got := f.Rounds[i].Connections; got == nil || *got != want {
			t.Errorf("round %d connections %+v, want %+v", i, got, want)
		}
	}
	want := Connections{Opened: 6, Failed: 1}
	if got := f.Summary.Connections; got == nil || *got != want {
		t.Errorf("summary connections %+v, want %+v", got, want)
	}
	rebuilt, err := MergeRounds(f.Rounds)
	if err != nil {
		t.Fatal(err)
	}
	if got := rebuilt.Connections; got == nil || *got != want {
		t.Errorf("connections rebuilt from the rounds %+v, want %+v", got, want)
	}
	var b bytes.Buffer
	PrintSummary(&b, f.Summary)
	if !strings.Contains(b.String(), "\n  connections    opened 6, failed 1\n") {
		t.Errorf("text summary lacks the connections line:\n%s", b.String())
	}
}

// A file written before connections were counted has none: its rebuilt
// totals have none either, and the text summary shows no line rather
// than zeros.
func TestConnectionsUnknown(t *testing.T) {
	old := &Round{Stats: Stats{Counts: Counts{Planned: 1, Outcomes: map[string]int64{"success": 1}}}}
	s, err := MergeRounds([]*Round{old, old})
	if err != nil {
		t.Fatal(err)
	}
	if s.Connections != nil {
		t.Errorf("connections rebuilt from rounds without any: %+v, want nil", s.Connections)
	}
	var b bytes.Buffer
	PrintSummary(&b, s)
	if strings.Contains(b.String(), "connections    ") {
		t.Errorf("text summary shows connections it does not know:\n%s", b.String())
	}
}

// A round that opened no connection still says so: the field is present,
// with zeros, so a reader can tell "none" from "not counted".
func TestConnectionsZeroIsWritten(t *testing.T) {
	r := synthRound(time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), 0, roundSpec{success: 1, latency: time.Millisecond})
	r.Summarize()
	line, err := FromRound(r)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(line)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte(`"connections":{"opened":0,"failed":0}`)) {
		t.Errorf("round line lacks zero connections: %s", b)
	}
}
