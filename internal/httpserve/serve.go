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

// Timeouts set on servers that leave them zero (see Harden), so that no
// client can hold a connection forever.
const (
	// ReadHeaderTimeout bounds reading a request's headers: a client
	// trickling them is cut off.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading a whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds writing a response (from the end of the
	// request's headers); generous for a results file served at /results.
	WriteTimeout = 2 * time.Minute
	// IdleTimeout closes a keep-alive connection that carries no request
	// for this long.
	IdleTimeout = 90 * time.Second
)

// Harden sets the timeouts srv leaves zero to ReadHeaderTimeout,
// ReadTimeout, WriteTimeout and IdleTimeout. Serve calls it.
func Harden(srv *http.Server) {
	for _, f := range []struct {
		p *time.Duration
		v time.Duration
	}{
		{&srv.ReadHeaderTimeout, ReadHeaderTimeout}, {&srv.ReadTimeout, ReadTimeout},
		{&srv.WriteTimeout, WriteTimeout}, {&srv.IdleTimeout, IdleTimeout},
	} {
		if *f.p == 0 {
			*f.p = f.v
		}
	}
}

// Serve serves srv on lis until ctx ends, then shuts it down gracefully
// (ShutdownGrace at most) and returns nil. It returns an error when serving
// fails or the shutdown does not complete in time. Serve owns lis. Timeouts
// srv leaves zero are set first (see Harden).
func Serve(ctx context.Context, lis net.Listener, srv *http.Server) error {
	Harden(srv)
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
