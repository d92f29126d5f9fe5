package executor

import (
	"context"
	"log/slog"
	"net/url"
	"strings"
)

// redactedPassword replaces a password in logged addresses, as
// url.URL.Redacted does.
const redactedPassword = "xxxxx"

// RedactAddress returns addr, a gRPC target or URL, with the password of
// its user information hidden: "dns://user:pass@host:8100" and
// "user:pass@host:8100" become "…user:xxxxx@host:8100". An address without
// a password is returned as it is.
func RedactAddress(addr string) string {
	return redactIn(addr, addr)
}

// redactIn returns text with the password of addr hidden wherever it
// appears as ":password@".
func redactIn(text, addr string) string {
	if pw := addressPassword(addr); pw != "" {
		return strings.ReplaceAll(text, ":"+pw+"@", ":"+redactedPassword+"@")
	}
	return text
}

// addressPassword returns the password in addr's user information, or ""
// when it has none. An address without a scheme ("user:pass@host:port")
// is read as a URL authority.
func addressPassword(addr string) string {
	if !strings.Contains(addr, "@") {
		return ""
	}
	for _, raw := range []string{addr, "//" + addr} {
		u, err := url.Parse(raw)
		if err != nil || u.User == nil {
			continue
		}
		if pw, ok := u.User.Password(); ok && pw != "" {
			return pw
		}
	}
	return ""
}

// redactHandler is a slog.Handler that hides a password wherever it appears
// as "user:password@" in a message or a string, error or Stringer
// attribute: errors from gRPC and the resolver quote the address they
// failed on.
type redactHandler struct {
	inner slog.Handler
	// from and to are ":password@" and its redacted form.
	from, to string
}

// withRedaction returns logger with the password of addr hidden, or logger
// itself when addr has none.
func withRedaction(logger *slog.Logger, addr string) *slog.Logger {
	pw := addressPassword(addr)
	if pw == "" {
		return logger
	}
	return slog.New(&redactHandler{inner: logger.Handler(), from: ":" + pw + "@", to: ":" + redactedPassword + "@"})
}

// Enabled implements slog.Handler.
func (h *redactHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

// Handle implements slog.Handler.
func (h *redactHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, strings.ReplaceAll(r.Message, h.from, h.to), r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(h.attr(a))
		return true
	})
	return h.inner.Handle(ctx, out)
}

// WithAttrs implements slog.Handler.
func (h *redactHandler) WithAttrs(as []slog.Attr) slog.Handler {
	clean := make([]slog.Attr, len(as))
	for i, a := range as {
		clean[i] = h.attr(a)
	}
	return &redactHandler{inner: h.inner.WithAttrs(clean), from: h.from, to: h.to}
}

// WithGroup implements slog.Handler.
func (h *redactHandler) WithGroup(name string) slog.Handler {
	return &redactHandler{inner: h.inner.WithGroup(name), from: h.from, to: h.to}
}

// attr returns a with the password hidden in its value.
func (h *redactHandler) attr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindString:
		return slog.String(a.Key, strings.ReplaceAll(v.String(), h.from, h.to))
	case slog.KindGroup:
		g := v.Group()
		clean := make([]any, len(g))
		for i, ga := range g {
			clean[i] = h.attr(ga)
		}
		return slog.Group(a.Key, clean...)
	case slog.KindAny:
		switch x := v.Any().(type) {
		case error:
			return slog.String(a.Key, strings.ReplaceAll(x.Error(), h.from, h.to))
		case interface{ String() string }:
			return slog.String(a.Key, strings.ReplaceAll(x.String(), h.from, h.to))
		}
	}
	return slog.Attr{Key: a.Key, Value: v}
}
