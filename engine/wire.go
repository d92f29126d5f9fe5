package engine

import (
	"strings"

	"github.com/valyala/fasthttp"

	"github.com/PeladoCollado/imager/types"
)

// checkRequest reports whether r, with method as its method, can be sent
// exactly as written, by the rules every request source applies
// (types.RequestSpec.Validate). A job from a client that skipped them is
// refused rather than sent rewritten or with headers smuggled in.
func checkRequest(method string, r Request) error {
	if err := types.CheckMethod(method); err != nil {
		return err
	}
	if err := types.CheckTarget(r.Path, r.Query); err != nil {
		return err
	}
	hosts := 0
	for _, h := range r.Headers {
		if err := types.CheckHeader(h.Name, h.Value); err != nil {
			return err
		}
		if strings.EqualFold(h.Name, fasthttp.HeaderHost) {
			hosts++
		}
	}
	return types.CheckHostCount(hosts)
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
		case strings.EqualFold(h.Name, fasthttp.HeaderHost):
			p.hasHost = true
		case strings.EqualFold(h.Name, fasthttp.HeaderUserAgent):
			p.hasUserAgent = true
		case strings.EqualFold(h.Name, fasthttp.HeaderConnection) && hasCloseToken(h.Value):
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
