package executor

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// HTTP server limits for the metrics and health endpoints.
const (
	httpReadHeaderTimeout = 5 * time.Second
	httpWriteTimeout      = 30 * time.Second
	httpIdleTimeout       = 2 * time.Minute
	httpShutdownTimeout   = 5 * time.Second
)

// Handler serves the executor's operational endpoints:
//
//	GET /metrics  the metrics gathered from g, in Prometheus text format
//	GET /healthz  always 200: the process is alive
//	GET /readyz   200 when ready reports true (connected to the
//	              orchestrator), 503 otherwise; nil ready means always
//
// Pass Executor.Connected as ready.
func Handler(g prometheus.Gatherer, ready func() bool) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if ready != nil && !ready() {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "not connected to the orchestrator\n")
			return
		}
		_, _ = io.WriteString(w, "ok\n")
	})
	return mux
}

// ListenAndServe serves h on addr ("host:port"; port 0 picks a free one)
// until ctx ends, then shuts the server down, giving open requests a few
// seconds, and returns nil. listening, when not nil, is called with the
// bound address once the listener is open. Server errors are logged to
// logger (nil means slog.Default()).
func ListenAndServe(ctx context.Context, addr string, h http.Handler, logger *slog.Logger, listening func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics server: listen on %q: %w", addr, err)
	}
	if logger == nil {
		logger = slog.Default()
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: httpReadHeaderTimeout,
		WriteTimeout:      httpWriteTimeout,
		IdleTimeout:       httpIdleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	if listening != nil {
		listening(ln.Addr())
	}

	select {
	case err := <-served:
		return fmt.Errorf("metrics server: serve on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), httpShutdownTimeout)
	defer cancel()
	shutdownErr := srv.Shutdown(shutdownCtx)
	if shutdownErr != nil {
		_ = srv.Close()
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("metrics server: serve on %s: %w", ln.Addr(), err)
	}
	if shutdownErr != nil {
		return fmt.Errorf("metrics server: shutdown: %w", shutdownErr)
	}
	return nil
}
