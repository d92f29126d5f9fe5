package check

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/PeladoCollado/imager/internal/testutil/race"
	"github.com/PeladoCollado/imager/types"
)

// okBody is a realistic JSON answer of about 200 bytes.
const okBody = `{"status":"ok","request_id":"7f3c2a9e-1b4d-4e8a-9c1f-2d3e4f5a6b7c",` +
	`"data":{"items":[{"id":1,"name":"widget","price":9.99,"tags":["a","b"]},` +
	`{"id":2,"name":"gadget","price":19.5,"tags":[]}],"count":2},"cached":false}`

// fullExpect has a check of every kind.
func fullExpect() types.Expect {
	return types.Expect{
		Status:       []types.StatusRange{{Lo: 200, Hi: 299}},
		BodyContains: []string{`"status":"ok"`},
		BodyRegex:    `"count":\s*\d+`,
		JSON: map[string]json.RawMessage{
			"status":             json.RawMessage(`"ok"`),
			"$.data.items[0].id": json.RawMessage(`1`),
		},
		Header: map[string]types.HeaderMatch{
			"content-type": {Value: "application/json"},
			"X-Request-Id": {Present: true},
		},
		MaxBodyBytes: 4096,
		MaxLatency:   500 * time.Millisecond,
	}
}

// jsonHeaders are the headers of a correct answer.
var jsonHeaders = []Header{
	{Name: []byte("Content-Type"), Value: []byte(" application/json")},
	{Name: []byte("x-request-id"), Value: []byte("7f3c")},
}

// answer builds a response with a whole body.
func answer(status int, headers []Header, body string, latency time.Duration) Response {
	return Response{Status: status, Headers: headers, Body: []byte(body), BodyLen: int64(len(body)), Latency: latency}
}

func TestCheckNamesAndOrder(t *testing.T) {
	s, err := Compile("", fullExpect())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"status", "header:Content-Type", "header:X-Request-Id", "max_latency", "max_body_bytes",
		"body_contains", "body_regex", "json:data.items[0].id", "json:status"}
	if got := s.Names(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Names = %q\nwant    %q", got, want)
	}
	named, err := Compile("search", fullExpect())
	if err != nil {
		t.Fatal(err)
	}
	if got := named.Name(0); got != "search:status" {
		t.Errorf("with the request's name: Name(0) = %q, want search:status", got)
	}
	e := fullExpect()
	e.Name = "items"
	e.BodyContains = []string{"a", "b"}
	own, err := Compile("search", e)
	if err != nil {
		t.Fatal(err)
	}
	if got := own.Names()[5:7]; !reflect.DeepEqual(got, []string{"items:body_contains[0]", "items:body_contains[1]"}) {
		t.Errorf("with its own name and two texts: %q", got)
	}
	if own.Len() != 10 {
		t.Errorf("Len = %d, want 10", own.Len())
	}
}

func TestJudgeResponses(t *testing.T) {
	s, err := Compile("", fullExpect())
	if err != nil {
		t.Fatal(err)
	}
	oversize := answer(200, jsonHeaders, okBody, time.Millisecond)
	oversize.BodyLen = 10 << 20 // only the start is held
	cases := []struct {
		name string
		r    Response
		fail []string
	}{
		{"correct", answer(200, jsonHeaders, okBody, 10*time.Millisecond), nil},
		{"error body", answer(200, jsonHeaders, `{"error":"overloaded"}`, time.Millisecond),
			[]string{"body_contains", "body_regex", "json:data.items[0].id", "json:status"}},
		{"empty body", answer(200, jsonHeaders, "", time.Millisecond),
			[]string{"body_contains", "body_regex", "json:data.items[0].id", "json:status"}},
		{"malformed JSON", answer(200, jsonHeaders, `{"status":"ok","data":{"items":[{"id":1}],"count":2}`, time.Millisecond),
			[]string{"json:data.items[0].id", "json:status"}},
		{"wrong header", answer(200, []Header{{Name: []byte("Content-Type"), Value: []byte("text/html")}}, okBody, time.Millisecond),
			[]string{"header:Content-Type", "header:X-Request-Id"}},
		{"no headers", answer(200, nil, okBody, time.Millisecond),
			[]string{"header:Content-Type", "header:X-Request-Id"}},
		{"slow", answer(200, jsonHeaders, okBody, 501*time.Millisecond), []string{"max_latency"}},
		{"at the latency bound", answer(200, jsonHeaders, okBody, 500*time.Millisecond), nil},
		{"oversize, truncated", oversize, []string{"max_body_bytes", "body_regex", "json:data.items[0].id", "json:status"}},
		{"503", answer(503, jsonHeaders, okBody, time.Millisecond), []string{"status"}},
		{"status 0", answer(0, jsonHeaders, okBody, time.Millisecond), []string{"status"}},
		{"status 999", answer(999, jsonHeaders, okBody, time.Millisecond), []string{"status"}},
	}
	for _, c := range cases {
		mask := s.Failures(c.r)
		var got []string
		for i := range s.Len() {
			if mask&(1<<i) != 0 {
				got = append(got, s.Name(i))
			}
		}
		if !reflect.DeepEqual(got, c.fail) {
			t.Errorf("%s: failed %q, want %q", c.name, got, c.fail)
		}
		first := s.Judge(c.r)
		switch {
		case c.fail == nil && first != -1:
			t.Errorf("%s: Judge = %d (%s), want -1", c.name, first, s.Name(first))
		case c.fail != nil && (first < 0 || s.Name(first) != c.fail[0]):
			t.Errorf("%s: Judge = %d, want the index of %s", c.name, first, c.fail[0])
		}
	}
}

func TestNeedsBody(t *testing.T) {
	cases := []struct {
		e     types.Expect
		needs bool
		limit int
	}{
		{types.Expect{}, false, 0},
		{types.Expect{Status: []types.StatusRange{{Lo: 200, Hi: 200}}, MaxLatency: time.Second, MaxBodyBytes: 10,
			Header: map[string]types.HeaderMatch{"A": {Present: true}}}, false, 0},
		{types.Expect{BodyContains: []string{"x"}}, true, BodyCap},
		{types.Expect{BodyRegex: "x"}, true, BodyCap},
		{types.Expect{JSON: map[string]json.RawMessage{"$": json.RawMessage(`1`)}}, true, BodyCap},
		{types.Expect{BodyContains: []string{"x"}, MaxBodyBytes: 100}, true, 100},
		{types.Expect{BodyContains: []string{"x"}, MaxBodyBytes: 2 * BodyCap}, true, BodyCap},
	}
	for i, c := range cases {
		s, err := Compile("", c.e)
		if err != nil {
			t.Fatal(err)
		}
		if s.NeedsBody() != c.needs || s.BodyLimit() != c.limit {
			t.Errorf("case %d: NeedsBody %v, BodyLimit %d; want %v, %d", i, s.NeedsBody(), s.BodyLimit(), c.needs, c.limit)
		}
	}
}

func TestWantsHeader(t *testing.T) {
	s, err := Compile("", fullExpect())
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"content-type": true, "CONTENT-TYPE": true, "X-Request-ID": true, "Content-Length": false, "": false} {
		if got := s.WantsHeader([]byte(name)); got != want {
			t.Errorf("WantsHeader(%q) = %v, want %v", name, got, want)
		}
	}
	if got := s.HeaderNames(); !reflect.DeepEqual(got, []string{"Content-Type", "X-Request-Id"}) {
		t.Errorf("HeaderNames = %q", got)
	}
}

func TestHeaderLines(t *testing.T) {
	s, err := Compile("", types.Expect{Header: map[string]types.HeaderMatch{"Vary": {Value: "Accept"}}})
	if err != nil {
		t.Fatal(err)
	}
	lines := func(values ...string) []Header {
		var hs []Header
		for _, v := range values {
			hs = append(hs, Header{Name: []byte("vary"), Value: []byte(v)})
		}
		return hs
	}
	for _, c := range []struct {
		values []string
		pass   bool
	}{
		{[]string{"Accept"}, true},
		{[]string{"\tAccept  "}, true},
		{[]string{"Origin", "Accept"}, true},
		{[]string{"accept"}, false},
		{[]string{"Accept, Origin"}, false},
		{[]string{""}, false},
	} {
		if got := s.Judge(Response{Headers: lines(c.values...)}) == -1; got != c.pass {
			t.Errorf("Vary lines %q: pass %v, want %v", c.values, got, c.pass)
		}
	}
}

func TestCompileRefusesBadInput(t *testing.T) {
	cases := []struct {
		e    types.Expect
		want string
	}{
		{types.Expect{BodyRegex: "a("}, "expect.body_regex"},
		{types.Expect{JSON: map[string]json.RawMessage{"a[": json.RawMessage(`1`)}}, `expect.json["a["]`},
		{types.Expect{Status: []types.StatusRange{{Lo: 299, Hi: 200}}}, "expect.status[0]"},
		{types.Expect{Status: []types.StatusRange{{Lo: 600, Hi: 600}}}, "expect.status[0]"},
	}
	for _, c := range cases {
		if _, err := Compile("", c.e); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Compile(%+v) = %v, want an error naming %s", c.e, err, c.want)
		}
	}
	// A status that does not parse is refused when the file is read.
	var e types.Expect
	if err := json.Unmarshal([]byte(`{"status":["abc"]}`), &e); err == nil || !strings.Contains(err.Error(), "expect.status[0]") {
		t.Errorf("status abc: %v", err)
	}
}

func TestPassPathAllocatesNothing(t *testing.T) {
	if race.Enabled {
		// The race detector makes sync.Pool drop items at random, and
		// regexp keeps its matchers in one.
		t.Skip("allocations are not measurable under the race detector")
	}
	e := fullExpect()
	e.JSON["data.count"] = json.RawMessage(`2`)
	e.JSON["data.items[1].name"] = json.RawMessage(`"gadget"`)
	e.JSON["cached"] = json.RawMessage(`false`)
	s, err := Compile("", e)
	if err != nil {
		t.Fatal(err)
	}
	r := answer(200, jsonHeaders, okBody, time.Millisecond)
	if got := s.Judge(r); got != -1 {
		t.Fatalf("Judge = %d (%s), want -1", got, s.Name(got))
	}
	if n := testing.AllocsPerRun(100, func() { s.Judge(r) }); n != 0 {
		t.Errorf("Judge allocates %v times per response, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { s.Failures(r) }); n != 0 {
		t.Errorf("Failures allocates %v times per response, want 0", n)
	}
}

func TestJudgeConcurrently(t *testing.T) {
	s, err := Compile("", fullExpect())
	if err != nil {
		t.Fatal(err)
	}
	good := answer(200, jsonHeaders, okBody, time.Millisecond)
	bad := answer(200, jsonHeaders, `{"error":"overloaded"}`, time.Millisecond)
	const workers, rounds = 4, 500
	errs := make(chan string, workers)
	for w := range workers {
		go func() {
			for i := range rounds {
				r, want := good, -1
				if (i+w)%2 == 1 {
					r, want = bad, 5 // body_contains
				}
				if got := s.Judge(r); got != want {
					errs <- fmt.Sprintf("worker %d, round %d: Judge = %d, want %d", w, i, got, want)
					return
				}
			}
			errs <- ""
		}()
	}
	for range workers {
		if msg := <-errs; msg != "" {
			t.Error(msg)
		}
	}
}

func TestSetStatusCheck(t *testing.T) {
	s, err := Compile("", types.Expect{Status: []types.StatusRange{{Lo: 404, Hi: 404}}, BodyContains: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasStatus() || !s.StatusPasses(404) || s.StatusPasses(200) {
		t.Errorf("status 404 set: HasStatus %v, passes 404 %v, passes 200 %v", s.HasStatus(), s.StatusPasses(404), s.StatusPasses(200))
	}
	none, err := Compile("", types.Expect{BodyContains: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	if none.HasStatus() || !none.StatusPasses(500) {
		t.Errorf("set without status: HasStatus %v, passes 500 %v", none.HasStatus(), none.StatusPasses(500))
	}
	empty, _ := Compile("", types.Expect{})
	if empty.HasStatus() || !empty.StatusPasses(200) {
		t.Error("empty set has a status check")
	}
}
