package imagerv1

import (
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
func requestsFromTally(rs []types.RequestSpec) []*Request {
	n := 0
	for i := range rs {
		for _, vs := range rs[i].Headers {
			n += len(vs)
		}
	}
	reqs := make([]*Request, len(rs))
	msgs := make([]Request, len(rs))
	c := headerCarver{headers: make([]Header, n), ptrs: make([]*Header, n)}
	for i := range rs {
		r, m := &rs[i], &msgs[i]
		m.Method, m.Path, m.Query, m.Name = r.Method, r.Path, r.QueryString, r.Name
		if r.Body != "" {
			// Marshalling only reads the body; nothing writes to it.
			m.Body = unsafe.Slice(unsafe.StringData(r.Body), len(r.Body))
		}
		m.Headers = c.carve(r.Headers)
		reqs[i] = m
	}
	return reqs
}

// headerCarver hands out the wire headers of requests from two
// preallocated arrays, converting a map met again just before once.
type headerCarver struct {
	headers []Header
	ptrs    []*Header
	// last is the map converted last and out what it became.
	last unsafe.Pointer
	out  []*Header
}

// carve returns the wire headers of m, sorted by name, a name's values in
// their order; an empty slice for none.
func (c *headerCarver) carve(m map[string][]string) []*Header {
	if len(m) == 0 {
		return []*Header{}
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

// requestsToTally converts wire requests into requests. A body becomes one
// string per wire request; a request whose headers equal those of the
// request before shares its map.
func requestsToTally(ws []*Request) []types.RequestSpec {
	reqs := make([]types.RequestSpec, len(ws))
	var prev []*Header
	var prevMap map[string][]string
	for i, w := range ws {
		r := &reqs[i]
		r.Method, r.Path, r.QueryString, r.Name = w.GetMethod(), w.GetPath(), w.GetQuery(), w.GetName()
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
	return reqs
}

// headerMap collects wire headers by name, a name's values in the order
// they came.
func headerMap(hs []*Header) map[string][]string {
	m := make(map[string][]string, len(hs))
	for _, h := range hs {
		m[h.GetName()] = append(m[h.GetName()], h.GetValue())
	}
	return m
}

// sameWireHeaders reports whether a and b hold the same headers in the
// same order.
func sameWireHeaders(a, b []*Header) bool {
	return slices.EqualFunc(a, b, func(x, y *Header) bool {
		return x.GetName() == y.GetName() && x.GetValue() == y.GetValue()
	})
}
