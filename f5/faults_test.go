package f5

import (
	"context"
	"encoding/pem"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
	"github.com/netauto-dev/netauto/flow/retry"
)

const declarePath = as3Path + "/declare"

func TestBusy503ThenSuccess(t *testing.T) {
	for _, sync := range []bool{true, false} {
		srv, c := newPair(t, f5test.Options{})
		srv.FailNext(http.MethodPost, declarePath, 2, http.StatusServiceUnavailable, f5test.BusyBody)
		opts := *fastOpts
		opts.Sync = sync
		res, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
		if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
			t.Fatalf("sync=%v: %v %+v", sync, err, res)
		}
		if n := len(srv.Applied()); n != 1 {
			t.Fatalf("sync=%v: applied %d times", sync, n)
		}
	}
}

func TestBurstQueueFullIsRetried(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	srv.FailNext(http.MethodPost, declarePath, 1, http.StatusServiceUnavailable, f5test.BurstFullBody)
	if _, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &DeclareOptions{Sync: true}); err != nil {
		t.Fatal(err)
	}
}

func TestLockHeldLongerThanContextGivesClearTimeout(t *testing.T) {
	for _, sync := range []bool{true, false} {
		srv, c := newPair(t, f5test.Options{})
		if _, err := c.Info(context.Background()); err != nil { // log in first
			t.Fatal(err)
		}
		release := srv.HoldLock()
		ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		opts := *fastOpts
		opts.Sync = sync
		_, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
		cancel()
		release()
		var te *TimeoutError
		var apiErr *Error
		if !errors.As(err, &te) || !errors.Is(err, context.DeadlineExceeded) || !errors.As(err, &apiErr) || !apiErr.Busy() {
			t.Fatalf("sync=%v: err = %v, want a TimeoutError wrapping the deadline and the 503", sync, err)
		}
		if !strings.Contains(err.Error(), "Configuration operation in progress") {
			t.Fatalf("error does not say why: %v", err)
		}
		if srv.Tenant("T") != nil {
			t.Fatal("declaration applied despite the lock")
		}
	}
}

func TestValidationErrorsAreNotRetried(t *testing.T) {
	var posts atomic.Int32
	srv, err := f5test.New(f5test.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, declarePath) {
			posts.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, Username: "admin", Password: "admin", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	srv.FailNext(http.MethodPost, declarePath, 5, http.StatusBadRequest, `{"code":400,"message":"bad request"}`)
	_, err = c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10"), fastOpts)
	var apiErr *Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusBadRequest || apiErr.Message != "bad request" {
		t.Fatalf("err = %v", err)
	}
	if n := posts.Load(); n != 1 {
		t.Fatalf("posted %d times, want 1 (4xx must not be retried)", n)
	}
}

// TestTokenExpiryMidFlow expires every token when the client starts
// polling the task: the poll answers 401, the client logs in again and the
// declaration completes.
func TestTokenExpiryMidFlow(t *testing.T) {
	srv, err := f5test.New(f5test.Options{TaskDuration: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var logins atomic.Int32
	var expireOnce sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == loginPath:
			logins.Add(1)
		case strings.HasPrefix(r.URL.Path, as3Path+"/task/"):
			expireOnce.Do(srv.ExpireTokens)
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, Username: "admin", Password: "admin", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), fastOpts)
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("%v %+v", err, res)
	}
	if n := logins.Load(); n != 2 {
		t.Fatalf("logged in %d times, want 2", n)
	}
}

func TestTokenRenewedBeforeExpiry(t *testing.T) {
	srv, err := f5test.New(f5test.Options{TokenLifetime: 100 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	var logins atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == loginPath {
			logins.Add(1)
		}
		srv.ServeHTTP(w, r)
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL, Username: "admin", Password: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	c.now = func() time.Time { return now }
	ctx := context.Background()
	steps := []struct {
		advance time.Duration
		logins  int32
	}{{0, 1}, {80 * time.Second, 1}, {11 * time.Second, 2}, {1 * time.Second, 2}}
	for i, s := range steps {
		now = now.Add(s.advance)
		if _, err := c.Info(ctx); err != nil {
			t.Fatal(err)
		}
		if got := logins.Load(); got != s.logins {
			t.Fatalf("step %d: %d logins, want %d (renewal 10 s before a 100 s token expires)", i, got, s.logins)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	_, ts := f5test.NewServer(t, f5test.Options{Username: "ops", Password: "s3cret"})
	for _, tc := range []struct {
		password string
		ok       bool
	}{{"s3cret", true}, {"wrong", false}} {
		c, err := New(Config{BaseURL: ts.URL, Username: "ops", Password: tc.password, BasicAuth: true, HTTPClient: ts.Client()})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Info(context.Background())
		var apiErr *Error
		if tc.ok != (err == nil) || (!tc.ok && (!errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized)) {
			t.Fatalf("password %q: err = %v", tc.password, err)
		}
	}
}

func TestAS3SwitchesToAsyncOnItsOwn(t *testing.T) {
	_, c := newPair(t, f5test.Options{TaskDuration: 30 * time.Millisecond, AsyncSwitchAfter: 5 * time.Millisecond})
	opts := *fastOpts
	opts.Sync = true
	res, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
	if err != nil || res.TaskID == "" || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("err %v, result %+v: want success via a task", err, res)
	}
}

func TestTaskTimeoutWhileInProgress(t *testing.T) {
	_, c := newPair(t, f5test.Options{TaskDuration: time.Minute})
	if _, err := c.Info(context.Background()); err != nil { // log in first
		t.Fatal(err)
	}
	opts := *fastOpts
	opts.Timeout = 400 * time.Millisecond
	_, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "still in progress") {
		t.Fatalf("err = %v", err)
	}
}

func TestMalformedAnswersAreErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		body               string
		call               func(*Client) error
	}{
		{"info not JSON", http.MethodGet, as3Path + "/info", 200, "{not json", func(c *Client) error { _, err := c.Info(context.Background()); return err }},
		{"declare HTML", http.MethodPost, declarePath, 200, "<html>proxy error</html>", func(c *Client) error {
			_, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10"), &DeclareOptions{Sync: true})
			return err
		}},
		{"task truncated", http.MethodGet, as3Path + "/task/", 200, `{"id":"x","results":[{"code":`, func(c *Client) error {
			_, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10"), fastOpts)
			return err
		}},
		{"read garbage", http.MethodGet, declarePath, 200, `[1,2,3]`, func(c *Client) error { _, err := c.Read(context.Background(), ""); return err }},
		{"error not JSON", http.MethodGet, as3Path + "/info", 500, "Internal Server Error", func(c *Client) error {
			_, err := c.Info(context.Background())
			var apiErr *Error
			if errors.As(err, &apiErr) && apiErr.Body != "Internal Server Error" {
				return errors.New("raw body lost")
			}
			return err
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, c := newPair(t, f5test.Options{})
			srv.FailNext(tc.method, tc.path, 1, tc.status, tc.body)
			if err := tc.call(c); err == nil {
				t.Fatal("malformed answer accepted")
			} else if err.Error() == "raw body lost" {
				t.Fatal(err)
			}
		})
	}
}

func TestConnectionErrorsAreRetriedUntilContextEnds(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, err := New(Config{BaseURL: "http://" + addr, Username: "admin", Password: "x", BasicAuth: true, Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err = c.Info(ctx)
	var te *TimeoutError
	var ce *ConnError
	if !errors.As(err, &te) || te.Attempts < 2 || !errors.As(err, &ce) {
		t.Fatalf("err = %v, want retried connection errors ending in a TimeoutError", err)
	}
}

func TestConfigValidationAndSecrecy(t *testing.T) {
	bad := []Config{
		{},
		{BaseURL: "ftp://x", Username: "a"},
		{BaseURL: "https://x"},
		{BaseURL: "https://x", Username: "a", CAFile: "/nonexistent/ca.pem"},
		{BaseURL: "https://x", Username: "a", Retry: &retry.Policy{Backoff: retry.Exponential(time.Second, 0.5, 0)}},
	}
	for i, cfg := range bad {
		if _, err := New(cfg); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
	cfg := Config{BaseURL: "https://x", Username: "a", Password: "hunter2"}
	for _, s := range []string{cfg.String(), cfg.GoString()} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password leaked: %s", s)
		}
	}
}

func TestTLSTrust(t *testing.T) {
	_, ts := f5test.NewServer(t, f5test.Options{})
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"CA file", Config{CAFile: caFile}, true},
		{"explicit insecure", Config{InsecureSkipVerify: true}, true},
		{"untrusted", Config{}, false},
	}
	for _, tc := range tests {
		cfg := tc.cfg
		cfg.BaseURL, cfg.Username, cfg.Password, cfg.Retry = ts.URL, "admin", "admin", fastRetry
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		_, err = c.Info(ctx)
		if tc.ok != (err == nil) {
			t.Fatalf("%s: err = %v", tc.name, err)
		}
		var te *TimeoutError
		if !tc.ok && (errors.As(err, &te) || ctx.Err() != nil) {
			t.Fatalf("%s: a refused certificate was retried: %v (%v)", tc.name, err, time.Since(start))
		}
	}
}
