package executor

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func TestHandler(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: "imager_test_total", Help: "test"})
	reg.MustRegister(c)
	c.Add(7)
	var ready atomic.Bool
	h := Handler(reg, ready.Load)

	tests := []struct {
		name       string
		method     string
		path       string
		ready      bool
		wantStatus int
		wantBody   string
	}{
		{"healthz while not ready", http.MethodGet, "/healthz", false, http.StatusOK, "ok"},
		{"readyz while not ready", http.MethodGet, "/readyz", false, http.StatusServiceUnavailable, "not connected"},
		{"readyz when connected", http.MethodGet, "/readyz", true, http.StatusOK, "ok"},
		{"metrics", http.MethodGet, "/metrics", false, http.StatusOK, "imager_test_total 7"},
		{"post is not allowed", http.MethodPost, "/healthz", true, http.StatusMethodNotAllowed, ""},
		{"unknown path", http.MethodGet, "/nope", true, http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready.Store(tt.ready)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.wantStatus {
				t.Errorf("%s %s status = %d, want %d", tt.method, tt.path, rec.Code, tt.wantStatus)
			}
			if body := rec.Body.String(); !strings.Contains(body, tt.wantBody) {
				t.Errorf("%s %s body = %q, want it to contain %q", tt.method, tt.path, body, tt.wantBody)
			}
		})
	}
}

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	go func() {
		done <- ListenAndServe(ctx, "127.0.0.1:0", Handler(prometheus.NewRegistry(), nil), nil, func(a net.Addr) { addrs <- a })
	}()
	var addr net.Addr
	select {
	case addr = <-addrs:
	case err := <-done:
		t.Fatalf("ListenAndServe() = %v before listening", err)
	case <-time.After(waitLimit):
		t.Fatalf("not listening within %v", waitLimit)
	}

	client := &http.Client{Timeout: waitLimit}
	resp, err := client.Get("http://" + addr.String() + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK || strings.TrimSpace(string(body)) != "ok" {
		t.Errorf("GET /healthz = %d %q, want 200 \"ok\"", resp.StatusCode, body)
	}
	client.CloseIdleConnections()

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("ListenAndServe() = %v after cancel, want nil", err)
		}
	case <-time.After(waitLimit):
		t.Fatalf("ListenAndServe did not return within %v of cancel", waitLimit)
	}
}

func TestListenAndServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer func() { _ = ln.Close() }()
	err = ListenAndServe(context.Background(), ln.Addr().String(), http.NotFoundHandler(), nil, nil)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("ListenAndServe() on a taken port = %v, want a listen error", err)
	}
}
