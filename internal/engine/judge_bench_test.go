package engine

import (
	"context"
	"crypto/tls"
	"net/http"
	neturl "net/url"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/internal/tally"
	"github.com/PeladoCollado/imager/internal/testutil/tlstest"
	"github.com/PeladoCollado/imager/types"
)

// benchJSONBody is the JSON body the checks benchmarks judge (230 bytes).
const benchJSONBody = `{"status":"ok","count":3,"data":{"items":[{"id":7,"name":"widget","tags":["a","b"]},` +
	`{"id":8,"name":"gadget","tags":[]},{"id":9,"name":"gizmo","tags":["c"]}]},"next":null,"took_ms":12.5}`

// benchChecks are the checks the benchmarks judge, one kind each.
var benchChecks = []struct{ name, expect string }{
	{"none", ""},
	{"status", `{"status":"200-299"}`},
	{"contains", `{"body_contains":"\"status\":\"ok\""}`},
	{"regex", `{"body_regex":"\"count\":\\s*[0-9]+"}`},
	{"json", `{"json":{"data.items[0].name":"widget"}}`},
	{"header", `{"header":{"Content-Type":"application/json"}}`},
}

// BenchmarkSlotSendChecks measures one request through a slot (the
// plain-HTTP path of the Runner) and the judging of its response, for
// each kind of check, sequentially against the loopback target: the
// difference to "none" is what a check costs per response. Time and
// allocations include the in-process target's.
func BenchmarkSlotSendChecks(b *testing.B) {
	benchSendChecks(b, benchTargetWith(b, benchJSONBody), NewClient(ClientConfig{}))
}

// BenchmarkHostSendChecks is BenchmarkSlotSendChecks to an https target,
// through fasthttp (the Runner's https path). The target is net/http's,
// whose allocations count too: compare with "none".
func BenchmarkHostSendChecks(b *testing.B) {
	srv := tlstest.NewServer(b, tlstest.SelfSigned(b), nil, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(benchJSONBody))
	}))
	benchSendChecks(b, srv.URL, NewClient(ClientConfig{TLSConfig: &tls.Config{InsecureSkipVerify: true}}))
}

// benchSendChecks runs the checks benchmarks against url with client.
func benchSendChecks(b *testing.B, url string, client *Client) {
	b.Cleanup(client.CloseConnections)
	u, err := neturl.Parse(url)
	if err != nil {
		b.Fatal(err)
	}
	isTLS := u.Scheme == "https"
	addr := fasthttp.AddMissingPort(u.Host, isTLS)
	for _, bc := range benchChecks {
		b.Run(bc.name, func(b *testing.B) {
			req := types.RequestSpec{Method: "GET", Path: "/bench"}
			if bc.expect != "" {
				req.Expect = expectOf(b, bc.expect)
			}
			reqs := []types.RequestSpec{req}
			ps, err := prepare(url, reqs)
			if err != nil {
				b.Fatalf("prepare: %v", err)
			}
			jc, err := compileChecks(reqs, ps)
			if err != nil {
				b.Fatalf("checks: %v", err)
			}
			j := &jobRun{ctx: context.Background(), client: client, addr: addr, isTLS: isTLS, checks: jc}
			w := &worker{j: j, checks: make([]tally.CheckCount, len(jc.names))}
			s := &slot{}
			s.bind(j)
			defer s.unbind()
			p := &ps[0]
			var smp tally.Sample
			send := func() {
				s.send(p, time.Now().Add(5*time.Second), &smp)
				smp.Latency = smp.Service
				if p.checks != nil {
					w.judge(s, p.checks, &smp)
				}
				if smp.Outcome != tally.Success {
					b.Fatalf("outcome %v (%v), want success", smp.Outcome, smp.Err)
				}
			}
			send() // dial outside the timing
			b.ReportAllocs()
			for b.Loop() {
				send()
			}
			if bc.expect != "" && w.checks[0].Passed != int64(b.N)+1 {
				b.Fatalf("checks counted %+v, want %d passes", w.checks, b.N+1)
			}
		})
	}
}
