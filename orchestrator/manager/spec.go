package manager

import (
	"slices"
	"unsafe"

	"github.com/PeladoCollado/imager/engine"
	"github.com/PeladoCollado/imager/types"
)

// FromSpec converts a types.RequestSpec into an engine request. Headers go
// out sorted by name, so that runs repeat exactly; a name's values keep
// their order, each on its own line.
func FromSpec(spec types.RequestSpec) engine.Request {
	var c specConverter
	return c.fromSpec(&spec)
}

// specConverter converts the specs of one job into engine requests. It
// shares what requests drawn from one source line or script value have in
// common: a body string's bytes are copied once, and a header map met again
// (a file source hands out the same map for every use of its line) is
// converted once, as long as its content has not changed. The zero value
// copies every body and converts every header map.
type specConverter struct {
	bodies map[bodyKey][]byte

	// lastMap is the header map converted last, lastHeaders what it
	// became.
	lastMap     unsafe.Pointer
	lastHeaders []engine.Header
}

// newSpecConverter returns a converter that shares bodies.
func newSpecConverter() *specConverter {
	return &specConverter{bodies: make(map[bodyKey][]byte)}
}

// bodyKey identifies a string by its bytes in memory, not its content.
type bodyKey struct {
	data *byte
	n    int
}

// minSharedBody is the body length from which bodies are shared; shorter
// ones are cheaper to copy than to look up.
const minSharedBody = 512

// fromSpec is FromSpec with bodies and headers shared through c.
func (c *specConverter) fromSpec(spec *types.RequestSpec) engine.Request {
	r := engine.Request{Method: spec.Method, Path: spec.Path, Query: spec.QueryString, Name: spec.Name}
	switch {
	case spec.Body == "":
	case c.bodies == nil || len(spec.Body) < minSharedBody:
		r.Body = []byte(spec.Body)
	default:
		k := bodyKey{unsafe.StringData(spec.Body), len(spec.Body)}
		b, ok := c.bodies[k]
		if !ok {
			b = []byte(spec.Body)
			c.bodies[k] = b
		}
		r.Body = b
	}
	if len(spec.Headers) > 0 {
		r.Headers = c.headers(spec.Headers)
	}
	return r
}

// headers converts m, or returns the slice m was converted to last when m
// is that same map with the same content.
func (c *specConverter) headers(m map[string][]string) []engine.Header {
	p := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if p == c.lastMap && sameHeaders(m, c.lastHeaders) {
		return c.lastHeaders
	}
	hs := sortedHeaders(m)
	c.lastMap, c.lastHeaders = p, hs
	return hs
}

// sameHeaders reports whether hs is what m converts to: m has exactly
// the names of hs, each with the values hs holds for it, in order.
func sameHeaders(m map[string][]string, hs []engine.Header) bool {
	names := 0
	for i := 0; i < len(hs); names++ {
		vs, ok := m[hs[i].Name]
		if !ok || len(vs) == 0 || i+len(vs) > len(hs) {
			return false
		}
		for k, v := range vs {
			if hs[i+k].Name != hs[i].Name || hs[i+k].Value != v {
				return false
			}
		}
		i += len(vs)
		if i < len(hs) && hs[i].Name == hs[i-1].Name {
			return false
		}
	}
	return names == len(m)
}

// sortedHeaders lists m's headers sorted by name, a name's values in
// their order.
func sortedHeaders(m map[string][]string) []engine.Header {
	var buf [16]string
	names := buf[:0]
	n := 0
	for name, vs := range m {
		names = append(names, name)
		n += len(vs)
	}
	if len(names) > 1 {
		slices.Sort(names)
	}
	if n == 0 {
		return nil
	}
	hs := make([]engine.Header, 0, n)
	for _, name := range names {
		for _, v := range m[name] {
			hs = append(hs, engine.Header{Name: name, Value: v})
		}
	}
	return hs
}
