package sumservice

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/PeladoCollado/imager/internal/httpserve"
)

// Server timeouts. The service answers from memory, so every phase of a
// request is short; the limits only protect it from stalled clients.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 10 * time.Second
	writeTimeout      = 10 * time.Second
	idleTimeout       = 2 * time.Minute
	maxHeaderBytes    = 64 << 10
)

// Server runs Handler on a TCP address.
type Server struct {
	// Logger receives the HTTP server's own error messages (for example
	// TLS handshake or accept errors). Nil means slog.Default(). Set it
	// before calling Run.
	Logger *slog.Logger

	addr string
}

// New returns a server that will listen on addr, in the form accepted by
// net.Listen ("host:port"; port 0 picks a free port).
func New(addr string) *Server {
	return &Server{addr: addr}
}

// Run listens on the server's address, calls ready (when not nil) with the
// bound address, and serves until ctx ends. It then shuts the server down,
// letting in-flight requests finish for up to httpserve.ShutdownGrace, and returns nil.
// It returns an error when it cannot listen, when serving fails, or when the
// graceful shutdown does not complete in time. Run may be called again after
// it has returned.
func (s *Server) Run(ctx context.Context, ready func(addr net.Addr)) error {
	logger := s.Logger
	if logger == nil {
		logger = slog.Default()
	}
	srv := &http.Server{
		Handler:           Handler(),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if err := httpserve.ListenAndServe(ctx, s.addr, srv, ready); err != nil {
		return fmt.Errorf("sumservice: %w", err)
	}
	return nil
}
