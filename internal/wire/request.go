package wire

import (
	"encoding/json"
	"fmt"
	imagerv1 "github.com/PeladoCollado/imager/proto/imager/v1"
	"maps"
	"slices"
	"unsafe"

	"github.com/PeladoCollado/imager/types"
)

// requestsFromTally converts requests into their wire form. The messages
// and their headers are carved out of a few large allocations rather than
// one per message, which a job of a million distinct requests needs.
// Requests that share a header map (the uses of one source line) share
// its wire headers, and every body is the request's own string bytes.
// Each distinct Expect is marshalled once, the requests sharing it share
// the string.
func requestsFromTally(rs []types.RequestSpec) []*imagerv1.Request {
	n := 0
	for i := range rs {
		for _, vs := range rs[i].Headers {
			n += len(vs)
		}
	}
	reqs := make([]*imagerv1.Request, len(rs))
	msgs := make([]imagerv1.Request, len(rs))
	c := headerCarver{headers: make([]imagerv1.Header, n), ptrs: make([]*imagerv1.Header, n)}
	var expects expectMarshaller
	for i := range rs {
		r, m := &rs[i], &msgs[i]
		m.Method, m.Path, m.Query, m.Name = r.Method, r.Path, r.QueryString, r.Name
		if r.Body != "" {
			// Marshalling only reads the body; nothing writes to it.
			m.Body = unsafe.Slice(unsafe.StringData(r.Body), len(r.Body))
		}
		m.Headers = c.carve(r.Headers)
		m.Expect = expects.marshal(r.Expect)
		reqs[i] = m
	}
	return reqs
}

// headerCarver hands out the wire headers of requests from two
// preallocated arrays, converting a map met again just before once.
type headerCarver struct {
	headers []imagerv1.Header
	ptrs    []*imagerv1.Header
	// last is the map converted last and out what it became.
	last unsafe.Pointer
	out  []*imagerv1.Header
}

// carve returns the wire headers of m, sorted by name, a name's values in
// their order; an empty slice for none.
func (c *headerCarver) carve(m map[string][]string) []*imagerv1.Header {
	if len(m) == 0 {
		return []*imagerv1.Header{}
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if p == c.last {
		return c.out
	}
	k := 0
	for _, name := range slices.Sorted(maps.Keys(m)) {
		for _, v := range m[name] {
			c.headers[k].Name, c.headers[k].Value = name, v
			c.ptrs[k] = &c.headers[k]
			k++
		}
	}
	out := c.ptrs[:k:k]
	c.headers, c.ptrs = c.headers[k:], c.ptrs[k:]
	c.last, c.out = p, out
	return out
}

// expectMarshaller marshals the Expect of requests, each distinct pointer
// once.
type expectMarshaller struct {
	done map[*types.Expect]string
}

// marshal returns e as the JSON object of the wire's expect field, ""
// for nil. An Expect that does not marshal (a JSON value that is not
// JSON) becomes a string that does not parse, so that the executor
// refuses the job rather than run it unchecked.
func (m *expectMarshaller) marshal(e *types.Expect) string {
	if e == nil {
		return ""
	}
	if s, ok := m.done[e]; ok {
		return s
	}
	var s string
	if b, err := json.Marshal(e); err != nil {
		s = "not marshalled: " + err.Error()
	} else {
		s = string(b)
	}
	if m.done == nil {
		m.done = make(map[*types.Expect]string)
	}
	m.done[e] = s
	return s
}

// expectParser unmarshals the expect fields of wire requests, each
// distinct string once, so that requests with equal checks share one
// Expect.
type expectParser struct {
	done map[string]*types.Expect
	// err is the first expect that did not parse.
	err error
}

// parse returns the Expect of wire request i (from 0), nil for none.
func (p *expectParser) parse(i int, s string) *types.Expect {
	if s == "" {
		return nil
	}
	if e, ok := p.done[s]; ok {
		return e
	}
	e := new(types.Expect)
	if err := json.Unmarshal([]byte(s), e); err != nil {
		if p.err == nil {
			p.err = fmt.Errorf("request %d: response checks %.80q: %w", i+1, s, err)
		}
		return nil
	}
	if p.done == nil {
		p.done = make(map[string]*types.Expect)
	}
	p.done[s] = e
	return e
}

// requestsToTally converts wire requests into requests. A body becomes one
// string per wire request; a request whose headers equal those of the
// request before shares its map; requests with the same expect share one
// Expect. The error is the first expect that does not parse.
func requestsToTally(ws []*imagerv1.Request) ([]types.RequestSpec, error) {
	reqs := make([]types.RequestSpec, len(ws))
	var prev []*imagerv1.Header
	var prevMap map[string][]string
	var expects expectParser
	for i, w := range ws {
		r := &reqs[i]
		r.Method, r.Path, r.QueryString, r.Name = w.GetMethod(), w.GetPath(), w.GetQuery(), w.GetName()
		r.Expect = expects.parse(i, w.GetExpect())
		if b := w.GetBody(); len(b) > 0 {
			r.Body = string(b)
		}
		hs := w.GetHeaders()
		if len(hs) == 0 {
			continue
		}
		if !sameWireHeaders(hs, prev) {
			prev, prevMap = hs, headerMap(hs)
		}
		r.Headers = prevMap
	}
	return reqs, expects.err
}

// headerMap collects wire headers by name, a name's values in the order
// they came.
func headerMap(hs []*imagerv1.Header) map[string][]string {
	m := make(map[string][]string, len(hs))
	for _, h := range hs {
		m[h.GetName()] = append(m[h.GetName()], h.GetValue())
	}
	return m
}

// sameWireHeaders reports whether a and b hold the same headers in the
// same order.
func sameWireHeaders(a, b []*imagerv1.Header) bool {
	return slices.EqualFunc(a, b, func(x, y *imagerv1.Header) bool {
		return x.GetName() == y.GetName() && x.GetValue() == y.GetValue()
	})
}
