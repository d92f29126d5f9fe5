package engine

import (
	"fmt"
	"io"
	"slices"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/check"
	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/types"
)

// Response checks. A job's checks are compiled once, when the job is
// prepared: each distinct Expect (with the request name its check names
// derive from) becomes one checkSet, which the prepared requests point
// to, and each distinct check name gets a counter index, so that a
// worker counts passes and failures in a slice of its own without a map
// or a lock. As a response arrives, the slot keeps what the checks read
// of it (judgeBuf: the headers they name, at most BodyLimit body bytes)
// and the worker judges it once its latency is known (worker.judge).

// checkSet is one compiled Set of a job, with the counter of each check.
type checkSet struct {
	set *check.Set
	// counter[i] is the index of check i's counter in the job's table.
	counter []int32
	// headers says a check reads a header, so headers are captured.
	headers bool
}

// runs reports whether the checks run on a response of status: the
// status passes the status check, if any, and, without one, the status
// is a success.
func (cs *checkSet) runs(status int) bool {
	if cs.set.HasStatus() {
		return cs.set.StatusPasses(status)
	}
	return tally.Classify(status) == tally.Success
}

// bodyLimit returns how many body bytes to keep of a response of status.
func (cs *checkSet) bodyLimit(status int) int {
	if cs == nil || !cs.set.NeedsBody() || !cs.runs(status) {
		return 0
	}
	return cs.set.BodyLimit()
}

// setKey identifies a checkSet: the Expect, and the request name when
// the check names derive from it.
type setKey struct {
	e    *types.Expect
	name string
}

// jobChecks is the compiled checks of a job and the names of its check
// counters, at most tally.MaxChecks: further names share OtherCheck's.
type jobChecks struct {
	names  []string
	byName map[string]int32
	sets   map[setKey]*checkSet
}

// compileChecks compiles the checks of reqs into ps, which prepare made
// of them, each distinct Expect once. A request whose checks do not
// compile fails the job.
func compileChecks(reqs []types.RequestSpec, ps []prepared) (*jobChecks, error) {
	jc := &jobChecks{}
	for i := range reqs {
		e := reqs[i].Expect
		if e == nil {
			continue
		}
		key := setKey{e: e}
		if e.Name == "" {
			key.name = reqs[i].Name
		}
		cs, ok := jc.sets[key]
		if !ok {
			set, err := check.Compile(reqs[i].Name, *e)
			if err != nil {
				return nil, fmt.Errorf("request %d: response checks: %w", i+1, err)
			}
			cs = jc.add(set)
			if jc.sets == nil {
				jc.sets = make(map[setKey]*checkSet)
			}
			jc.sets[key] = cs
		}
		if set := cs.set; set.Len() > 0 {
			ps[i].checks = cs
		}
	}
	return jc, nil
}

// add makes a checkSet of set, giving its checks their counters.
func (jc *jobChecks) add(set *check.Set) *checkSet {
	cs := &checkSet{set: set, counter: make([]int32, set.Len()), headers: len(set.HeaderNames()) > 0}
	for i := range cs.counter {
		cs.counter[i] = jc.counter(set.Name(i))
	}
	return cs
}

// counter returns the counter index of check name.
func (jc *jobChecks) counter(name string) int32 {
	if k, ok := jc.byName[name]; ok {
		return k
	}
	if len(jc.names) >= tally.MaxChecks-1 && name != tally.OtherCheck {
		return jc.counter(tally.OtherCheck)
	}
	if jc.byName == nil {
		jc.byName = make(map[string]int32)
	}
	k := int32(len(jc.names))
	jc.names = append(jc.names, name)
	jc.byName[name] = k
	return k
}

// merge adds a worker's check counts to b.
func (jc *jobChecks) merge(b *tally.Breakdown, counts []tally.CheckCount) {
	for i, c := range counts {
		if c.Passed+c.Failed > 0 {
			cc := b.Check(jc.names[i])
			cc.Passed += c.Passed
			cc.Failed += c.Failed
		}
	}
}

// judgeBuf is a slot's room, reused for every response, for what the
// checks of the request in flight read of its response.
type judgeBuf struct {
	// set is the checks of the request in flight; nil for none.
	set *checkSet
	// headers are the header lines the checks name, their bytes in
	// hdrBytes (plain http) or in the fasthttp response (https).
	headers  []check.Header
	hdrBytes []byte
	// body holds the first bytes of the body, at most limit of them;
	// view is what the checks judge: body, or the start of a body the
	// fasthttp response holds whole.
	body, view []byte
	limit      int
}

// start readies jb for the response to a request with checks cs.
func (jb *judgeBuf) start(cs *checkSet) {
	jb.set, jb.headers, jb.hdrBytes, jb.body, jb.view, jb.limit = cs, jb.headers[:0], jb.hdrBytes[:0], jb.body[:0], nil, 0
}

// captureLine keeps a header line of the plain reader when a check
// names it. The bytes are copied: the reader's buffer moves on. A copy
// made before hdrBytes grows stays valid in the old array.
func (jb *judgeBuf) captureLine(line []byte) {
	colon := 0
	for colon < len(line) && line[colon] != ':' {
		colon++
	}
	name := line[:colon]
	if colon == len(line) || !jb.set.set.WantsHeader(name) {
		return
	}
	if jb.hdrBytes == nil {
		jb.hdrBytes = make([]byte, 0, maxHead)
	}
	a := len(jb.hdrBytes)
	jb.hdrBytes = append(jb.hdrBytes, line...)
	b := jb.hdrBytes[a:len(jb.hdrBytes):len(jb.hdrBytes)]
	jb.headers = append(jb.headers, check.Header{Name: b[:colon], Value: trimOWS(b[colon+1:])})
}

// keep keeps the next body bytes, up to the limit.
func (jb *judgeBuf) keep(b []byte) {
	if room := jb.limit - len(jb.body); room > 0 {
		jb.body = append(jb.body, b[:min(len(b), room)]...)
	}
}

// captureHeaders keeps the header lines of a fasthttp response that the
// checks name, referring to the response's own bytes.
func (jb *judgeBuf) captureHeaders(h *fasthttp.ResponseHeader) {
	for k, v := range h.All() {
		if jb.set.set.WantsHeader(k) {
			jb.headers = append(jb.headers, check.Header{Name: k, Value: v})
		}
	}
}

// readStream reads a streamed body, keeping its first bytes up to the
// limit and discarding the rest, and returns its length.
func (jb *judgeBuf) readStream(r io.Reader) (int64, error) {
	var n int64
	for len(jb.body) < jb.limit {
		if len(jb.body) == cap(jb.body) {
			jb.body = slices.Grow(jb.body, min(max(cap(jb.body), 4096), jb.limit-len(jb.body)))
		}
		free := jb.body[len(jb.body):min(cap(jb.body), jb.limit)]
		k, err := r.Read(free)
		jb.body = jb.body[:len(jb.body)+k]
		n += int64(k)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	m, err := io.Copy(io.Discard, r)
	return n + m, err
}

// cut reports whether the job's context ended: a request that fails then
// counts as lost. The context is asked (not only stopped, which its
// AfterFunc sets a moment later) so that a cut right after the cancel
// counts as lost.
func (j *jobRun) cut() bool { return j.stopped.Load() || j.ctx.Err() != nil }

// judge runs the checks of p on the response s holds, which smp
// describes, and sets smp's outcome: a status the checks allow makes a
// success of a response that passes the other checks; a status they do
// not allow keeps a failed outcome and fails the checks of a success;
// without a status check only a success is judged. Each check that ran
// is counted in the worker's counters.
func (w *worker) judge(s *slot, cs *checkSet, smp *tally.Sample) {
	if smp.Err != nil {
		return // no complete response
	}
	set := cs.set
	if !set.StatusPasses(smp.Status) {
		if smp.Outcome == tally.Success {
			smp.Outcome = tally.CheckFailed
		} else if w.j.cut() {
			return // the failure counts as lost
		}
		w.checks[cs.counter[0]].Failed++
		return
	}
	if !set.HasStatus() && smp.Outcome != tally.Success {
		return
	}
	jb := &s.jb
	failed := set.Failures(check.Response{Status: smp.Status, Headers: jb.headers, Body: jb.view,
		BodyLen: int64(smp.Bytes), Latency: smp.Latency})
	for i, k := range cs.counter {
		if failed&(1<<uint(i)) != 0 {
			w.checks[k].Failed++
		} else {
			w.checks[k].Passed++
		}
	}
	smp.Outcome = tally.Success
	if failed != 0 {
		smp.Outcome = tally.CheckFailed
	}
}
