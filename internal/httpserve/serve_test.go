package httpserve

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

const waitLimit = 10 * time.Second

func TestListenAndServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrs := make(chan net.Addr, 1)
	done := make(chan error, 1)
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hi") })
	go func() {
		done <- ListenAndServe(ctx, "127.0.0.1:0", &http.Server{Handler: h}, func(a net.Addr) { addrs <- a })
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
	resp, err := client.Get("http://" + addr.String() + "/")
	if err != nil {
		t.Fatalf("GET: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if got, want := string(body), "hi"; got != want {
		t.Errorf("body = %q, want %q", got, want)
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

func TestServeWaitsForRequestsInFlight(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started, release := make(chan struct{}), make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		<-release
		_, _ = io.WriteString(w, "done")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, lis, &http.Server{Handler: h}) }()
	got := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + lis.Addr().String() + "/")
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		got <- string(b)
	}()
	<-started
	cancel()
	select {
	case err := <-done:
		t.Fatalf("Serve returned %v while a request was in flight", err)
	default:
	}
	close(release)
	if body := <-got; body != "done" {
		t.Errorf("in-flight request got %q, want it to finish with \"done\"", body)
	}
	if err := <-done; err != nil {
		t.Errorf("Serve() = %v, want nil", err)
	}
}

func TestListenAndServeListenError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer func() { _ = ln.Close() }()
	err = ListenAndServe(context.Background(), ln.Addr().String(), &http.Server{}, nil)
	if err == nil || !strings.Contains(err.Error(), "listen") {
		t.Errorf("ListenAndServe() on a taken port = %v, want a listen error", err)
	}
}
