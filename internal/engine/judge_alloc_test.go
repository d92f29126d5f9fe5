package engine

import (
	"bufio"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/race"
)

// loopReader serves data over and over, as a connection answering every
// request alike.
type loopReader struct {
	data []byte
	off  int
}

func (l *loopReader) Read(b []byte) (int, error) {
	n := copy(b, l.data[l.off:])
	l.off = (l.off + n) % len(l.data)
	return n, nil
}

// benchResponse is a response carrying benchJSONBody.
var benchResponse = "HTTP/1.1 200 OK\r\nServer: bench\r\nContent-Type: application/json\r\nContent-Length: " +
	strconv.Itoa(len(benchJSONBody)) + "\r\nDate: Tue, 01 Dec 2026 00:00:00 GMT\r\n\r\n" + benchJSONBody

// readJudge is a slot reading canned responses and a worker judging
// them: the engine's own per-response work, without a network.
type readJudge struct {
	s  *slot
	w  *worker
	cs *checkSet
}

// newReadJudge readies a readJudge for the checks expect ("" for none).
func newReadJudge(t testing.TB, expect string) *readJudge {
	rj := &readJudge{s: &slot{}, w: &worker{j: &jobRun{}}}
	rj.s.rd.jb = &rj.s.jb
	rj.s.rd.reset(&loopReader{data: []byte(benchResponse)})
	if expect != "" {
		jc := &jobChecks{}
		rj.cs = jc.add(mustSet(t, expect))
		rj.w.checks = make([]tally.CheckCount, len(jc.names))
	}
	return rj
}

// one reads and judges one response.
func (rj *readJudge) one(t testing.TB, smp *tally.Sample) {
	s := &rj.s.jb
	s.start(rj.cs)
	h, err := rj.s.rd.readHead(false)
	if err != nil {
		t.Fatal(err)
	}
	smp.Status, smp.Outcome = h.status, tally.Classify(h.status)
	s.limit = rj.cs.bodyLimit(h.status)
	n, err := rj.s.rd.readBody(&h)
	if err != nil {
		t.Fatal(err)
	}
	s.view = s.body
	smp.Bytes, smp.Latency = int(n), time.Millisecond
	if rj.cs != nil {
		rj.w.judge(rj.s, rj.cs, smp)
	}
	if smp.Outcome != tally.Success {
		t.Fatalf("outcome %v, want success", smp.Outcome)
	}
}

// TestJudgeAllocs checks that reading and judging a response allocates
// nothing once the slot's buffers have grown, on the plain path and for
// the headers of a fasthttp response.
func TestJudgeAllocs(t *testing.T) {
	if race.Enabled {
		t.Skip("allocations are not measurable under the race detector")
	}
	all := `{"status":[200],"header":{"Content-Type":"application/json","Date":true},"max_latency":"1s",` +
		`"max_body_bytes":1000,"body_contains":"ok","body_regex":"\"id\":[0-9]+","json":{"data.items[1].name":"gadget"}}`
	rj := newReadJudge(t, all)
	var smp tally.Sample
	if n := testing.AllocsPerRun(100, func() { rj.one(t, &smp) }); n != 0 {
		t.Errorf("plain path: %v allocations per response, want 0", n)
	}
	if len(rj.s.jb.headers) != 2 || len(rj.s.jb.view) != len(benchJSONBody) {
		t.Errorf("kept %d headers and %d body bytes, want 2 and %d", len(rj.s.jb.headers), len(rj.s.jb.view), len(benchJSONBody))
	}
	for i, c := range rj.w.checks {
		if c.Failed != 0 || c.Passed == 0 {
			t.Errorf("check %s counted %+v, want passes only", rj.cs.set.Name(i), c)
		}
	}

	var resp fasthttp.Response
	resp.Header.DisableNormalizing()
	if err := resp.Read(bufio.NewReader(strings.NewReader(benchResponse))); err != nil {
		t.Fatal(err)
	}
	jb := &judgeBuf{}
	if n := testing.AllocsPerRun(100, func() {
		jb.start(rj.cs)
		jb.captureHeaders(&resp.Header)
	}); n != 0 || len(jb.headers) != 2 {
		t.Errorf("https path: %v allocations capturing headers, %d captured; want 0 and 2", n, len(jb.headers))
	}
}

// BenchmarkReadJudge measures the engine's own work on one response,
// without a network: reading a 230-byte JSON response from the slot's
// buffer and judging it with each kind of check. The difference to
// "none" is what a check adds to the engine's per-response CPU.
func BenchmarkReadJudge(b *testing.B) {
	for _, bc := range benchChecks {
		b.Run(bc.name, func(b *testing.B) {
			rj := newReadJudge(b, bc.expect)
			var smp tally.Sample
			rj.one(b, &smp)
			b.ReportAllocs()
			for b.Loop() {
				rj.one(b, &smp)
			}
		})
	}
}
