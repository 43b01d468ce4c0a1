package infrahub

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

// busyServer answers every request with status (and Retry-After when
// set), counting the requests.
func busyServer(t *testing.T, status int, retryAfter string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		http.Error(w, `{"errors":[{"message":"busy"}]}`, status)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

// recordSleeps makes c record its waits instead of sleeping; after
// cancelAfter waits (0: never) it cancels the call's context instead.
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

// Config.Retry is the policy the client follows: nil is DefaultRetry,
// the zero Policy one attempt, Forever until the context ends; the waits
// are the policy's.
func TestConfiguredRetryPolicyIsUsed(t *testing.T) {
	ms := time.Millisecond
	tests := []struct {
		name     string
		retry    *retry.Policy
		requests int32
		waits    []time.Duration // exact, or the unjittered waits when jitter > 0
		jitter   float64
	}{
		{"nil is DefaultRetry", nil, 4, []time.Duration{200 * ms, 400 * ms, 800 * ms}, 0.5},
		{"zero policy: one attempt", &retry.Policy{}, 1, nil, 0},
		{"listed waits", &retry.Policy{Retries: 2, Backoff: retry.Delays(time.Second, 7*time.Second)}, 3, []time.Duration{time.Second, 7 * time.Second}, 0},
		{"exponential with cap", &retry.Policy{Retries: 4, Backoff: retry.Exponential(time.Second, 3, 5*time.Second)}, 5, []time.Duration{time.Second, 3 * time.Second, 5 * time.Second, 5 * time.Second}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, n := busyServer(t, http.StatusServiceUnavailable, "")
			c, err := New(Config{Address: srv.URL, APIToken: "t", Retry: tt.retry})
			if err != nil {
				t.Fatal(err)
			}
			waits := recordSleeps(c, 0, nil)
			_, err = c.GraphQLSchema(t.Context(), "")
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusServiceUnavailable {
				t.Fatalf("err = %v, want the last 503", err)
			}
			if got := n.Load(); got != tt.requests {
				t.Fatalf("%d requests, want %d", got, tt.requests)
			}
			got := waits()
			if len(got) != len(tt.waits) {
				t.Fatalf("waited %v, want %d waits like %v", got, len(tt.waits), tt.waits)
			}
			for i, d := range got {
				lo := time.Duration(float64(tt.waits[i]) * (1 - tt.jitter))
				hi := time.Duration(float64(tt.waits[i]) * (1 + tt.jitter))
				if d < lo || d > hi {
					t.Fatalf("wait %d = %s, want %s..%s (all: %v)", i+1, d, lo, hi, got)
				}
			}
		})
	}
}

func TestRetryForeverEndsWithTheContext(t *testing.T) {
	srv, n := busyServer(t, http.StatusBadGateway, "")
	c, err := New(Config{Address: srv.URL, APIToken: "t", Retry: &retry.Policy{Retries: retry.Forever, Backoff: retry.Fixed(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	waits := recordSleeps(c, 20, cancel)
	if _, err := c.GraphQLSchema(ctx, ""); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want the context's", err)
	}
	if got, w := n.Load(), waits(); got != 20 || len(w) != 20 || w[19] != time.Hour {
		t.Fatalf("%d requests and waits %v; want 20 requests, 20 waits of 1h", got, w)
	}
}

// A Retry-After is the client's own decision: up to a minute it replaces
// the policy's wait; longer, the answer comes back at once.
func TestRetryAfterReplacesThePolicysWait(t *testing.T) {
	policy := &retry.Policy{Retries: 1, Backoff: retry.Fixed(time.Millisecond)}
	for _, tc := range []struct {
		retryAfter string
		requests   int32
		waits      []time.Duration
	}{
		{"7", 2, []time.Duration{7 * time.Second}},
		{"60", 2, []time.Duration{time.Minute}},
		{"61", 1, nil},
		{"soon", 2, []time.Duration{time.Millisecond}}, // unreadable: the policy's wait
	} {
		srv, n := busyServer(t, http.StatusTooManyRequests, tc.retryAfter)
		c, err := New(Config{Address: srv.URL, APIToken: "t", Retry: policy})
		if err != nil {
			t.Fatal(err)
		}
		waits := recordSleeps(c, 0, nil)
		_, err = c.GraphQLSchema(t.Context(), "")
		var apiErr *APIError
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusTooManyRequests {
			t.Errorf("Retry-After %s: err = %v, want the 429", tc.retryAfter, err)
		}
		if got, w := n.Load(), waits(); got != tc.requests || len(w) != len(tc.waits) || len(w) > 0 && w[0] != tc.waits[0] {
			t.Errorf("Retry-After %s: %d requests, waits %v; want %d, %v", tc.retryAfter, got, w, tc.requests, tc.waits)
		}
	}
}

func TestNewRefusesAnInvalidRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		p    retry.Policy
		want string
	}{
		{retry.Policy{Retries: -1}, "infrahub config: Retry.Retries: -1 is negative"},
		{retry.Policy{Backoff: retry.Exponential(time.Second, 0.5, 0)}, "infrahub config: Retry.Backoff: exponential coefficient 0.5 is below 1"},
		{retry.Policy{Jitter: 2}, "infrahub config: Retry.Jitter: 2 is outside 0..1"},
	} {
		_, err := New(Config{Address: "http://127.0.0.1:1", APIToken: "t", Retry: &tc.p})
		var pe *retry.PolicyError
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) || !errors.As(err, &pe) {
			t.Errorf("%+v: err = %v, want %q (a *retry.PolicyError)", tc.p, err, tc.want)
		}
	}
}

// New copies the policy: changing the caller's value or DefaultRetry
// afterwards changes nothing.
func TestNewCopiesThePolicy(t *testing.T) {
	p := &retry.Policy{Retries: 1}
	c, err := New(Config{Address: "http://127.0.0.1:1", APIToken: "t", Retry: p})
	if err != nil {
		t.Fatal(err)
	}
	p.Retries = 9
	if c.policy.Retries != 1 {
		t.Fatalf("client follows the caller's later change: %+v", c.policy)
	}
}
