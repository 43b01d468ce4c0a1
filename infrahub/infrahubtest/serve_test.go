package infrahubtest

import (
	"context"
	"net/http"
	"runtime"
	"testing"
	"time"
)

func TestServeStandalone(t *testing.T) {
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancel(t.Context())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, "127.0.0.1:0", Options{Seed: DemoSeed()}, ready) }()
	addr := <-ready
	req, _ := http.NewRequest(http.MethodGet, "http://"+addr+"/schema.graphql", nil)
	req.Header.Set("X-INFRAHUB-KEY", DefaultAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d", resp.StatusCode)
	}
	http.DefaultClient.CloseIdleConnections()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Bounded poll: the server's goroutines end shortly after Shutdown.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > before {
		t.Fatalf("%d goroutines after Serve returned, %d before", n, before)
	}
	if err := Serve(t.Context(), "256.0.0.1:0", Options{}, nil); err == nil {
		t.Fatal("Serve on a bad address succeeded")
	}
}
