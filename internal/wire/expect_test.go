package wire_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/wire"
	"github.com/PeladoCollado/imager/types"
)

// TestJobWireExpect checks that response checks cross the wire: each
// distinct Expect is marshalled once (requests sharing it share the
// string), and on the way back requests with equal checks share one
// Expect, equal to the one sent.
func TestJobWireExpect(t *testing.T) {
	full := &types.Expect{Name: "search",
		Status:       []types.StatusRange{{Lo: 200, Hi: 200}, {Lo: 300, Hi: 302}},
		BodyContains: []string{"ok", "id"}, BodyRegex: `^\{`,
		JSON:         map[string]json.RawMessage{"a.b[0]": json.RawMessage(`"x"`), "n": json.RawMessage(`1`)},
		Header:       map[string]types.HeaderMatch{"Content-Type": {Value: "application/json"}, "Etag": {Present: true}},
		MaxBodyBytes: 1000, MaxLatency: 250 * time.Millisecond}
	twin := *full // equal content, another pointer
	job := tally.Job{ID: "j", Count: 4, Requests: []types.RequestSpec{
		{Path: "/1", Expect: full},
		{Path: "/2", Expect: full},
		{Path: "/3"},
		{Path: "/4", Expect: &twin},
	}}
	wm := wire.JobFromTally(job)
	w := wm.GetRequests()
	if w[0].GetExpect() == "" || w[2].GetExpect() != "" {
		t.Fatalf("wm expect %q and %q, want the JSON and none", w[0].GetExpect(), w[2].GetExpect())
	}
	if unsafe.StringData(w[0].GetExpect()) != unsafe.StringData(w[1].GetExpect()) {
		t.Error("requests sharing an Expect were marshalled each")
	}
	back := wire.JobToTally(roundTrip(t, wm))
	if back.Invalid != nil {
		t.Fatalf("Invalid = %v", back.Invalid)
	}
	if d := jobDiff(back, job); d != "" {
		t.Fatalf("round trip changed the job: %s", d)
	}
	r := back.Requests
	if r[0].Expect != r[1].Expect || r[0].Expect != r[3].Expect {
		t.Error("requests with equal checks do not share one Expect")
	}
}

// TestJobWireExpectInvalid checks that checks that do not parse make the
// job invalid, naming the request, rather than run it unchecked.
func TestJobWireExpectInvalid(t *testing.T) {
	wm := wire.JobFromTally(tally.Job{ID: "j", Count: 2, Requests: []types.RequestSpec{
		{Path: "/1"}, {Path: "/2", Expect: &types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 200}}}},
	}})
	wm.GetRequests()[1].Expect = `{"stauts":[200]}`
	got := wire.JobToTally(roundTrip(t, wm))
	if got.Invalid == nil || !strings.Contains(got.Invalid.Error(), "request 2") || !strings.Contains(got.Invalid.Error(), "stauts") {
		t.Errorf("Invalid = %v, want an error naming request 2 and the bad key", got.Invalid)
	}
}
