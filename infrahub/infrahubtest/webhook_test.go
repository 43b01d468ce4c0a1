package infrahubtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/infrahub"
)

// request is what a receiver saw of one delivery attempt.
type request struct {
	header http.Header
	body   []byte
}

// receiver answers attempt n (from 1) with answer(n, w, r) and records it.
type receiver struct {
	mu     sync.Mutex
	seen   []request
	arrive chan struct{}
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.seen = append(rc.seen, request{r.Header.Clone(), body})
	n := len(rc.seen)
	rc.mu.Unlock()
	if rc.arrive != nil {
		rc.arrive <- struct{}{}
	}
	rc.answer(n, w, r)
}

func (rc *receiver) requests() []request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]request(nil), rc.seen...)
}

// TestWebhookRetriesLikeInfrahub: a failed attempt (error status, redirect,
// timeout) is repeated up to three times; every attempt has a new
// webhook-id, timestamp and signature over the same body, whose "id" is the
// event's (opsmill/infrahub backend/infrahub/webhook/tasks/process.py,
// webhook/models.py; see webhook.go).
func TestWebhookRetriesLikeInfrahub(t *testing.T) {
	key := []byte("whsec")
	verifier, err := infrahub.NewVerifier(key)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		answer   func(n int, w http.ResponseWriter, r *http.Request)
		attempts int
		ok       bool
	}{
		{"accepted at once", func(int, http.ResponseWriter, *http.Request) {}, 1, true},
		{"two server errors", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n <= 2 {
				http.Error(w, "busy", http.StatusServiceUnavailable)
			}
		}, 3, true},
		{"a 4xx is retried too", func(n int, w http.ResponseWriter, _ *http.Request) {
			if n == 1 {
				http.Error(w, "who are you", http.StatusUnauthorized)
			}
		}, 2, true},
		{"a redirect is not followed", func(n int, w http.ResponseWriter, r *http.Request) {
			if n == 1 {
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}
		}, 2, true},
		{"slower than the timeout", func(n int, _ http.ResponseWriter, r *http.Request) {
			if n == 1 {
				<-r.Context().Done() // the fake gave up and closed the connection
			}
		}, 2, true},
		{"always failing", func(_ int, w http.ResponseWriter, _ *http.Request) {
			http.Error(w, "down", http.StatusBadGateway)
		}, 4, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc := &receiver{answer: tc.answer}
			srv := httptest.NewServer(rc)
			defer srv.Close()
			s, _ := NewTestServer(t, Options{WebhookTimeout: 200 * time.Millisecond})
			err := s.SendEvent(t.Context(), Webhook{URL: srv.URL, SharedKey: key}, infrahub.EventNodeUpdated, "main", map[string]any{"kind": "InfraDevice", "node_id": "n1"})
			if (err == nil) != tc.ok {
				t.Fatalf("SendEvent: %v, want ok=%v", err, tc.ok)
			}
			ds := s.Deliveries()
			seen := rc.requests()
			if len(ds) != tc.attempts || len(seen) != tc.attempts {
				t.Fatalf("%d attempts recorded, %d received, want %d", len(ds), len(seen), tc.attempts)
			}
			ids := map[string]bool{}
			for i, d := range ds {
				r := seen[i]
				if d.Attempt != i+1 || ids[d.WebhookID] || d.WebhookID != r.header.Get(infrahub.HeaderWebhookID) || (d.Err == nil) != (i == len(ds)-1 && tc.ok) {
					t.Fatalf("attempt %d: %+v", i+1, d)
				}
				ids[d.WebhookID] = true
				if string(r.body) != string(seen[0].body) {
					t.Fatalf("attempt %d sent another body:\n%s\n%s", i+1, r.body, seen[0].body)
				}
				if err := verifier.Verify(r.header, r.body); err != nil {
					t.Fatalf("attempt %d: signature: %v", i+1, err)
				}
				ev, err := infrahub.DecodeEvent(r.body)
				if err != nil || ev.ID != d.EventID || ev.DedupKey() != ds[0].EventID {
					t.Fatalf("attempt %d: event %+v %v", i+1, ev, err)
				}
			}
			if tc.name == "slower than the timeout" && !strings.Contains(ds[0].Err.Error(), "timed out after 200ms") {
				t.Fatalf("timeout error: %v", ds[0].Err)
			}
		})
	}
}

// TestWebhookRetryDelayAndClose: Infrahub 1.11 waits between attempts
// (WEBHOOK_SEND_RETRY_DELAY_SECONDS); a closed fake makes no further
// attempt and starts no delivery.
func TestWebhookRetryDelayAndClose(t *testing.T) {
	var (
		mu       sync.Mutex
		arrivals []time.Time
	)
	rc := &receiver{answer: func(_ int, w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
		http.Error(w, "down", http.StatusInternalServerError)
	}}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	wh := Webhook{URL: srv.URL, SharedKey: []byte("k")}

	const delay = 100 * time.Millisecond
	s, _ := NewTestServer(t, Options{WebhookRetryDelay: delay, WebhookRetries: 2})
	if err := s.SendEvent(t.Context(), wh, "infrahub.node.updated", "", nil); err == nil {
		t.Fatal("delivery to a failing receiver succeeded")
	}
	mu.Lock()
	got := slices.Clone(arrivals)
	mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("%d attempts, want 1 + 2 retries", len(got))
	}
	for i := 1; i < len(got); i++ {
		if gap := got[i].Sub(got[i-1]); gap < delay {
			t.Fatalf("retry %d came %s after the previous attempt, want at least %s", i, gap, delay)
		}
	}

	attempts := make(chan Delivery, 10)
	s2, err := New(Options{WebhookRetryDelay: time.Hour, Webhooks: []Webhook{wh}, OnDelivery: func(d Delivery) { attempts <- d }})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s2)
	defer ts.Close()
	if out := gql(t, ts.URL+"/graphql", `mutation { BuiltinTagCreate(data: {name: {value: "t1"}}) { ok } }`); out["errors"] != nil {
		t.Fatal(out)
	}
	if d := <-attempts; d.Attempt != 1 || d.Status != http.StatusInternalServerError {
		t.Fatalf("first attempt: %+v", d)
	}
	s2.Close() // during the hour before the retry: returns at once
	if ds := s2.Deliveries(); len(ds) != 1 {
		t.Fatalf("deliveries after Close: %+v", ds)
	}
	// Nothing starts after Close.
	if out := gql(t, ts.URL+"/graphql", `mutation { BuiltinTagCreate(data: {name: {value: "t2"}}) { ok } }`); out["errors"] != nil {
		t.Fatal(out)
	}
	s2.Wait()
	if len(attempts) != 0 || len(s2.Deliveries()) != 1 {
		t.Fatalf("attempts after Close: %d", len(attempts))
	}
	if err := s2.SendEvent(context.Background(), wh, "x.y", "", nil); err == nil {
		t.Fatal("SendEvent on a closed fake succeeded")
	}
}
