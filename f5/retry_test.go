package f5

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
	"github.com/netauto-dev/netauto/flow/retry"
)

// lockedDevice is a fake BIG-IP whose AS3 lock is held for the whole
// test, counting declaration POSTs.
func lockedDevice(t *testing.T) (string, *atomic.Int32) {
	t.Helper()
	srv, err := f5test.New(f5test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	var posts atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, declarePath) {
			posts.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	t.Cleanup(srv.HoldLock())
	return ts.URL, &posts
}

// recordSleeps makes c record its waits instead of sleeping; after
// cancelAfter waits (0: never) it cancels instead.
func recordSleeps(c *Client, cancelAfter int, cancel context.CancelFunc) func() []time.Duration {
	var mu sync.Mutex
	var waits []time.Duration
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		waits = append(waits, d)
		if cancelAfter > 0 && len(waits) == cancelAfter {
			cancel()
			return ctx.Err()
		}
		return nil
	}
	return func() []time.Duration {
		mu.Lock()
		defer mu.Unlock()
		return append([]time.Duration(nil), waits...)
	}
}

// Config.Retry is the policy the client follows, for a 503 answered to
// the request (sync) and for the lock reported inside an AS3 task (async,
// the declaration is submitted again).
func TestConfiguredRetryPolicyIsUsed(t *testing.T) {
	for _, sync := range []bool{true, false} {
		t.Run(fmt.Sprint("sync=", sync), func(t *testing.T) {
			url, posts := lockedDevice(t)
			c, err := New(Config{BaseURL: url, Username: "admin", Password: "admin",
				Retry: &retry.Policy{Retries: 2, Backoff: retry.Delays(time.Second, 7*time.Second)}})
			if err != nil {
				t.Fatal(err)
			}
			waits := recordSleeps(c, 0, nil)
			opts := *fastOpts
			opts.Sync = sync
			_, err = c.Declare(t.Context(), simpleDecl("T", "1", "192.0.2.10"), &opts)
			var apiErr *Error
			if !errors.As(err, &apiErr) || !apiErr.Busy() || !strings.Contains(err.Error(), "after 3 attempts") {
				t.Fatalf("err = %v, want the device's busy answer after 3 attempts", err)
			}
			if n, w := posts.Load(), waits(); n != 3 || fmt.Sprint(w) != "[1s 7s]" {
				t.Fatalf("%d declarations, waits %v; want 3 and [1s 7s]", n, w)
			}
		})
	}
}

// With no Config.Retry, DefaultRetry waits the AS3 lock out until the
// context ends, each wait growing as the policy computes.
func TestDefaultRetryWaitsUntilTheContextEnds(t *testing.T) {
	url, posts := lockedDevice(t)
	c, err := New(Config{BaseURL: url, Username: "admin", Password: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	waits := recordSleeps(c, 8, cancel)
	_, err = c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10"), &DeclareOptions{Sync: true})
	var te *TimeoutError
	var apiErr *Error
	if !errors.As(err, &te) || !errors.Is(err, context.Canceled) || !errors.As(err, &apiErr) || !apiErr.Busy() {
		t.Fatalf("err = %v, want a TimeoutError wrapping the cancellation and the busy answer", err)
	}
	w := waits()
	if n := posts.Load(); n != 8 || len(w) != 8 {
		t.Fatalf("%d declarations, waits %v; want 8 of each", n, w)
	}
	for i, d := range w { // 500ms, 1s, 2s, ... up to 30s, each ±50%
		full := min(500*time.Millisecond<<i, 30*time.Second)
		if d < full/2 || d > full*3/2 {
			t.Fatalf("wait %d = %s, want %s ±50%% (all: %v)", i+1, d, full, w)
		}
	}
}

// The zero Policy makes one attempt, and the error is the device's own.
func TestZeroRetryPolicyMakesOneAttempt(t *testing.T) {
	url, posts := lockedDevice(t)
	c, err := New(Config{BaseURL: url, Username: "admin", Password: "admin", Retry: &retry.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	waits := recordSleeps(c, 0, nil)
	_, err = c.Declare(t.Context(), simpleDecl("T", "1", "192.0.2.10"), &DeclareOptions{Sync: true})
	var apiErr *Error
	if !errors.As(err, &apiErr) || !apiErr.Busy() || strings.Contains(err.Error(), "attempts") {
		t.Fatalf("err = %v, want the busy answer of the one attempt", err)
	}
	if n, w := posts.Load(), waits(); n != 1 || len(w) != 0 {
		t.Fatalf("%d declarations, waits %v; want 1 and none", n, w)
	}
}

// A wait that would outlast the context's deadline is not started: the
// client gives up at once (its own rule, beside the policy).
func TestWaitBeyondTheDeadlineIsNotStarted(t *testing.T) {
	url, posts := lockedDevice(t)
	c, err := New(Config{BaseURL: url, Username: "admin", Password: "admin",
		Retry: &retry.Policy{Retries: retry.Forever, Backoff: retry.Fixed(2 * time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	waits := recordSleeps(c, 0, nil)
	ctx, cancel := context.WithTimeout(t.Context(), time.Hour)
	defer cancel()
	_, err = c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10"), &DeclareOptions{Sync: true, Timeout: 2 * time.Hour})
	var te *TimeoutError
	if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || te.Attempts != 1 {
		t.Fatalf("err = %v, want a TimeoutError after 1 attempt", err)
	}
	if n, w := posts.Load(), waits(); n != 1 || len(w) != 0 {
		t.Fatalf("%d declarations, waits %v; want 1 and none", n, w)
	}
}

func TestNewRefusesAnInvalidRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		p    retry.Policy
		want string
	}{
		{retry.Policy{Retries: -1}, "f5: Config.Retry.Retries: -1 is negative"},
		{retry.Policy{Backoff: retry.Exponential(time.Second, 0.5, 0)}, "f5: Config.Retry.Backoff: exponential coefficient 0.5 is below 1"},
		{retry.Policy{Backoff: retry.Fixed(-time.Second)}, "f5: Config.Retry.Backoff: fixed wait -1s is negative"},
		{retry.Policy{Jitter: -1}, "f5: Config.Retry.Jitter: -1 is outside 0..1"},
	} {
		_, err := New(Config{BaseURL: "https://192.0.2.10", Username: "a", Retry: &tc.p})
		var pe *retry.PolicyError
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.As(err, &pe) {
			t.Errorf("%+v: err = %v, want %q (a *retry.PolicyError)", tc.p, err, tc.want)
		}
	}
}
