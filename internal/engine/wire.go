package engine

import (
	"maps"
	"slices"
	"strings"
	"unsafe"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/types"
)

// checkRequest reports whether r, with method as its method, can be sent
// exactly as written, by the rules every request source applies
// (types.RequestSpec.Validate; the name is not the engine's concern). A
// job from a client that skipped them is refused rather than sent
// rewritten or with headers smuggled in.
func checkRequest(method string, r *types.RequestSpec) error {
	if err := types.CheckMethod(method); err != nil {
		return err
	}
	if err := types.CheckTarget(r.Path, r.QueryString); err != nil {
		return err
	}
	return types.CheckHeaders(r.Headers)
}

// headerSorter lists header maps in the order they are sent, converting
// a map met just before once: the uses of one source line, and requests
// with the same headers from the wire, share a map.
type headerSorter struct {
	last unsafe.Pointer
	out  []header
}

// sorted lists m's headers in the order they are sent: sorted by name, so
// that runs repeat exactly, a name's values in their order, each on its
// own line.
func (hs *headerSorter) sorted(m map[string][]string) []header {
	if len(m) == 0 {
		return nil
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(&m))
	if p == hs.last {
		return hs.out
	}
	n := 0
	for _, vs := range m {
		n += len(vs)
	}
	out := make([]header, 0, n)
	for _, name := range slices.Sorted(maps.Keys(m)) {
		for _, v := range m[name] {
			out = append(out, header{name: name, value: v})
		}
	}
	hs.last, hs.out = p, out
	return out
}

// stringBytes returns the bytes of s without copying them. The engine
// only reads a request's body (fasthttp's SetBodyRaw and the wire
// rendering read it; nothing appends to it or writes into it), so that a
// body is shared by every request and job that carries the same string.
func stringBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// targetHost returns the host and port of target as fasthttp sends it in
// the Host header.
func targetHost(target string) []byte {
	u := fasthttp.AcquireURI()
	defer fasthttp.ReleaseURI(u)
	if err := u.Parse(nil, []byte(target)); err != nil {
		return nil
	}
	return append([]byte(nil), u.Host()...)
}

// scanHeaders notes which of the headers the engine would otherwise add or
// act on the request carries itself.
func (p *prepared) scanHeaders() {
	for _, h := range p.headers {
		switch {
		case strings.EqualFold(h.name, fasthttp.HeaderHost):
			p.hasHost = true
		case strings.EqualFold(h.name, fasthttp.HeaderUserAgent):
			p.hasUserAgent = true
		case strings.EqualFold(h.name, fasthttp.HeaderConnection) && hasCloseToken(h.value):
			p.connClose = true
		}
	}
}

// hasCloseToken reports whether a Connection header value lists "close".
func hasCloseToken(v string) bool {
	for part := range strings.SplitSeq(v, ",") {
		if strings.EqualFold(strings.TrimSpace(part), "close") {
			return true
		}
	}
	return false
}
