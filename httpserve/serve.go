// Package httpserve runs an http.Server for the life of a context. It is
// the one way imager's processes serve HTTP: the orchestrator's and
// executors' metrics and health endpoints, and the sumservice.
package httpserve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"
)

// ShutdownGrace is how long requests in flight get to finish once the
// context ends, before their connections are cut.
const ShutdownGrace = 10 * time.Second

// ReadHeaderTimeout is set on servers that do not set one, so that a
// client trickling headers cannot hold a connection forever.
const ReadHeaderTimeout = 5 * time.Second

// Serve serves srv on lis until ctx ends, then shuts it down gracefully
// (ShutdownGrace at most) and returns nil. It returns an error when serving
// fails or the shutdown does not complete in time. Serve owns lis.
func Serve(ctx context.Context, lis net.Listener, srv *http.Server) error {
	if srv.ReadHeaderTimeout == 0 {
		srv.ReadHeaderTimeout = ReadHeaderTimeout
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve http on %s: %w", lis.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownGrace)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		// Cut the remaining connections so the serving goroutine ends.
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve http on %s: %w", lis.Addr(), err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("shut down http server on %s: %w", lis.Addr(), shutdownErr)
	}
	return nil
}

// ListenAndServe listens on addr ("host:port"; port 0 picks a free one),
// calls listening (when not nil) with the bound address, and serves srv
// there as Serve does.
func ListenAndServe(ctx context.Context, addr string, srv *http.Server, listening func(net.Addr)) error {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %q: %w", addr, err)
	}
	if listening != nil {
		listening(lis.Addr())
	}
	return Serve(ctx, lis, srv)
}
