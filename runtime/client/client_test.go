package client_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

func TestRetriesOnlyIdempotent(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprint(w, `{"error":"store unreachable"}`)
	}))
	defer ts.Close()
	c, err := client.New(ts.URL, client.Options{Retry: &retry.Policy{Retries: 2, Backoff: retry.Fixed(time.Millisecond)}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tests := []struct {
		name string
		call func() error
		want int64
	}{
		{"GET retried", func() error { _, err := c.Deployments(ctx); return err }, 3},
		{"record batch retried", func() error { _, err := c.Record(ctx, "r", wire.Record{BatchID: "b"}); return err }, 3},
		{"create with key retried", func() error {
			_, _, err := c.CreateRun(ctx, "d", wire.CreateRun{IdempotencyKey: "k"})
			return err
		}, 3},
		{"create without key not retried", func() error { _, _, err := c.CreateRun(ctx, "d", wire.CreateRun{}); return err }, 1},
		{"set state not retried", func() error { _, err := c.SetRunState(ctx, "r", flow.Pending()); return err }, 1},
		{"claim not retried", func() error { _, err := c.Claim(ctx, "p", wire.Claim{Worker: "w"}); return err }, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n.Store(0)
			err := tt.call()
			var ae *client.Error
			if !errors.As(err, &ae) || ae.Status != 503 || ae.Message != "store unreachable" {
				t.Fatalf("error %v, want a 503 *client.Error with the server's message", err)
			}
			if got := n.Load(); got != tt.want {
				t.Fatalf("%d requests, want %d", got, tt.want)
			}
		})
	}
}

func TestTypedErrors(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer the-key-0123456789abc" {
			w.WriteHeader(401)
			fmt.Fprint(w, `{"error":"missing bearer token","field":"Authorization"}`)
			return
		}
		w.WriteHeader(409)
		fmt.Fprint(w, `{"error":"illegal state transition from Completed to Running: ...","field":"state"}`)
	}))
	defer ts.Close()
	c, _ := client.New(ts.URL, client.Options{Token: "the-key-0123456789abc"})
	_, err := c.SetRunState(context.Background(), "r1", flow.Running())
	if !client.IsConflict(err) || client.IsNotFound(err) {
		t.Fatalf("%v: want a conflict", err)
	}
	var ae *client.Error
	if !errors.As(err, &ae) || ae.Field != "state" || ae.Method != "POST" || ae.Path != "/api/v1/runs/r1/state" {
		t.Fatalf("error %+v", ae)
	}
	anon, _ := client.New(ts.URL, client.Options{})
	_, err = anon.Deployments(context.Background())
	if !errors.As(err, &ae) || ae.Status != 401 || ae.Field != "Authorization" {
		t.Fatalf("error %v, want 401 naming Authorization", err)
	}
	if strings.Contains(c.String(), "the-key") || strings.Contains(err.Error(), "the-key") {
		t.Fatal("the token leaked into String or an error")
	}
	if _, err := client.New("ftp://x", client.Options{}); err == nil {
		t.Fatal("New took a non-HTTP URL")
	}
}

func TestTimeout(t *testing.T) {
	release := make(chan struct{})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer ts.Close()
	defer close(release)
	c, _ := client.New(ts.URL, client.Options{Timeout: 50 * time.Millisecond, Retry: &retry.Policy{}})
	_, err := c.Pools(context.Background())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v, want the per-call timeout", err)
	}
}

// TestFollowLogsReconnects breaks the stream after each record: the
// client resumes from the last record's ID and sees each once.
func TestFollowLogsReconnects(t *testing.T) {
	var lastIDs []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last := r.Header.Get("Last-Event-ID")
		lastIDs = append(lastIDs, last)
		w.Header().Set("Content-Type", "text/event-stream")
		switch last {
		case "":
			fmt.Fprint(w, "id: 1\nevent: log\ndata: {\"id\":1,\"message\":\"a\"}\n\n")
		case "1":
			fmt.Fprint(w, ": keep-alive\n\nid: 2\nevent: log\ndata: {\"id\":2,\"message\":\"b\"}\n\n")
		default:
			fmt.Fprint(w, "event: end\ndata: {\"state\":{\"type\":\"COMPLETED\",\"name\":\"Completed\"}}\n\n")
		}
	}))
	defer ts.Close()
	c, _ := client.New(ts.URL, client.Options{Retry: &retry.Policy{Retries: 3, Backoff: retry.Fixed(time.Millisecond)}})
	var got []string
	st, err := c.FollowLogs(context.Background(), "r1", 0, func(e store.LogEntry) error {
		got = append(got, e.Message)
		return nil
	})
	if err != nil || st.Name != flow.NameCompleted {
		t.Fatalf("FollowLogs: %v %v", st, err)
	}
	if strings.Join(got, "") != "ab" || strings.Join(lastIDs, ",") != ",1,2" {
		t.Fatalf("records %v after Last-Event-IDs %q", got, lastIDs)
	}
}

// Options.Retry is the one retry policy: the zero Policy makes one
// attempt, an invalid one is refused naming its field.
func TestRetryPolicyOption(t *testing.T) {
	var n atomic.Int64
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	}))
	defer ts.Close()
	once, err := client.New(ts.URL, client.Options{Retry: &retry.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := once.Deployments(context.Background()); err == nil || n.Load() != 1 {
		t.Fatalf("zero policy: err %v after %d requests, want an error after 1", err, n.Load())
	}
	_, err = client.New(ts.URL, client.Options{Retry: &retry.Policy{Retries: 1, Jitter: 3}})
	var pe *retry.PolicyError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "Retry.Jitter: 3 is outside 0..1") {
		t.Fatalf("invalid policy: %v, want an error naming Retry.Jitter", err)
	}
}
