package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

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
		{"readyz while not ready", http.MethodGet, "/readyz", false, http.StatusServiceUnavailable, "not ready"},
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
