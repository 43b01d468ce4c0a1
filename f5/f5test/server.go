package f5test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Options configure a fake BIG-IP. The zero value is usable.
type Options struct {
	// Username and Password accepted by login and basic auth
	// (default "admin" / "admin").
	Username, Password string
	// TokenLifetime of issued tokens (default 1200 s, as on BIG-IP).
	TokenLifetime time.Duration
	// MaxTokens is how many live tokens a user other than "admin" may
	// hold (default 100, as on BIG-IP 12.1 and later: the 101st login
	// answers 400 "user <name> has reached maximum active login tokens";
	// "iControl REST Authentication Token Management", F5 DevCentral).
	MaxTokens int
	// TaskDuration is how long every declaration takes to process while
	// holding the device lock: async tasks stay "in progress" this long and
	// synchronous requests answer after it (default 0).
	TaskDuration time.Duration
	// AsyncSwitchAfter mimics AS3 switching a synchronous request to a task
	// when processing outlasts it (AS3: 45 s; default 45 s). The request
	// then answers 202 with a task id.
	AsyncSwitchAfter time.Duration
	// BurstQueueSize is how many requests may wait for the device lock when
	// burst handling is enabled in /settings (default 10).
	BurstQueueSize int
	// Host is reported in results (default "localhost").
	Host string
}

func (o Options) withDefaults() Options {
	if o.Username == "" {
		o.Username = "admin"
	}
	if o.Password == "" {
		o.Password = "admin"
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = 1200 * time.Second
	}
	if o.MaxTokens <= 0 {
		o.MaxTokens = 100
	}
	if o.AsyncSwitchAfter <= 0 {
		o.AsyncSwitchAfter = 45 * time.Second
	}
	if o.BurstQueueSize <= 0 {
		o.BurstQueueSize = 10
	}
	if o.Host == "" {
		o.Host = "localhost"
	}
	return o
}

// Server is an in-memory BIG-IP: token auth, AS3 (declare, tasks,
// settings, per-app, info) and LTM/certificate REST objects. It is an
// http.Handler; use NewServer for an httptest server or Serve to listen on
// an address.
type Server struct {
	opts Options
	mux  *http.ServeMux

	mu     sync.Mutex
	tokens map[string]time.Time
	faults []fault
	as3    as3State
	ltm    ltmState

	// lock is the device-wide configuration lock; waiting holds the burst
	// queue's tickets in arrival order.
	lock    chan struct{}
	waiting int

	bg     sync.WaitGroup
	closed chan struct{}
	once   sync.Once
	// ctx ends when the server closes: processing then stops.
	ctx    context.Context
	cancel context.CancelFunc
}

// fault is an injected answer for the next matching requests.
type fault struct {
	method, prefix string
	remaining      int
	status         int
	body           string
}

// New returns a fake BIG-IP. Call Close when done to stop background tasks.
func New(opts Options) (*Server, error) {
	if _, err := loadSchemas(); err != nil {
		return nil, fmt.Errorf("f5test: AS3 schema: %w", err)
	}
	s := &Server{
		opts:   opts.withDefaults(),
		mux:    http.NewServeMux(),
		tokens: make(map[string]time.Time),
		lock:   make(chan struct{}, 1),
		closed: make(chan struct{}),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.as3.init()
	s.ltm.init()
	s.routes()
	return s, nil
}

// NewServer starts a fake BIG-IP on a loopback TLS listener (like the
// real management port) and returns it with its httptest server; the
// client must trust ts.Certificate() or use ts.Client(). Both are closed
// by tb.Cleanup.
func NewServer(tb testing.TB, opts Options) (*Server, *httptest.Server) {
	tb.Helper()
	s, err := New(opts)
	if err != nil {
		tb.Fatalf("f5test: %v", err)
	}
	ts := httptest.NewTLSServer(s)
	tb.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts
}

// Serve listens on addr (e.g. "127.0.0.1:8443") with plain HTTP until ctx
// ends, then shuts down gracefully. It is what a standalone simulator runs.
func (s *Server) Serve(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("f5test: listen %s: %w", addr, err)
	}
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err = hs.Shutdown(shutCtx)
	<-errc
	s.Close()
	return err
}

// Close stops background tasks and waits for them.
func (s *Server) Close() {
	s.once.Do(func() {
		close(s.closed)
		s.cancel()
	})
	s.bg.Wait()
}

// ServeHTTP authenticates and dispatches.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/mgmt/shared/authn/login" && !s.authorized(r) {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Authorization failed: no valid user authentication header or token detected.", "errorStack": []string{}})
		return
	}
	if f, ok := s.takeFault(r); ok {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(f.status)
		_, _ = io.WriteString(w, f.body)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// FailNext makes the next n requests whose method matches (empty: any)
// and whose path starts with pathPrefix answer status with body verbatim
// (which need not be valid JSON). Login is never affected.
func (s *Server) FailNext(method, pathPrefix string, n, status int, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, fault{method: method, prefix: pathPrefix, remaining: n, status: status, body: body})
}

// BusyBody is AS3's synchronous answer while another configuration
// operation holds the device lock (src/lib/mutex.js), for FailNext.
const BusyBody = `{"code":503,"message":"Error: Configuration operation in progress on device localhost, please try again in 2 minutes"}`

// BurstFullBody is AS3's answer when the burst queue is full
// (src/lib/queue.js), for FailNext.
const BurstFullBody = `{"code":503,"message":"Error: Too many configuration operations are in progress on the device. Please try again later"}`

func (s *Server) takeFault(r *http.Request) (fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.faults {
		f := &s.faults[i]
		if f.remaining > 0 && (f.method == "" || f.method == r.Method) && strings.HasPrefix(r.URL.Path, f.prefix) {
			f.remaining--
			return *f, true
		}
	}
	return fault{}, false
}

// HoldLock takes the device-wide configuration lock, as another AS3
// operation would: until release is called, declarations answer code 503
// (HTTP 503, or inside the task when async), or queue with burst handling.
// It blocks while a declaration is processing.
func (s *Server) HoldLock() (release func()) {
	s.lock <- struct{}{}
	var once sync.Once
	return func() { once.Do(func() { <-s.lock }) }
}

// acquire takes the device lock as an AS3 write does. Without burst
// handling a held lock fails at once (ok false: AS3's mutex answers
// "Configuration operation in progress", src/lib/mutex.js); with burst
// handling enabled in /settings the request waits in a queue of
// BurstQueueSize, and a full queue fails with full true (src/lib/queue.js;
// docs/userguide/burst-handling.rst: "The burst handling queue has a limit
// of 10").
func (s *Server) acquire(ctx context.Context) (full, ok bool) {
	select {
	case s.lock <- struct{}{}:
		return false, true
	default:
	}
	s.mu.Lock()
	burst := s.as3.settings["burstHandlingEnabled"] == true
	if !burst {
		s.mu.Unlock()
		return false, false
	}
	if s.waiting >= s.opts.BurstQueueSize {
		s.mu.Unlock()
		return true, false
	}
	s.waiting++
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.waiting--
		s.mu.Unlock()
	}()
	select {
	case s.lock <- struct{}{}:
		return false, true
	case <-ctx.Done():
		return false, false
	case <-s.closed:
		return false, false
	}
}

func (s *Server) unlock() { <-s.lock }

// LiveTokens is how many issued tokens are neither expired nor deleted.
func (s *Server) LiveTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, e := range s.tokens {
		if time.Now().Before(e) {
			n++
		}
	}
	return n
}

// handleTokenDelete revokes a token: DELETE
// /mgmt/shared/authz/tokens/<token>, authenticated like any request
// ("iControl REST Authentication Token Management", F5 DevCentral: a user
// deletes their own tokens; another user's answers 400 — the fake has
// one user). An unknown token answers 404 as this fake's PATCH does: an
// assumption, not taken from F5's documentation; the client treats 401
// and 404 alike (already gone), so it does not depend on which.
func (s *Server) handleTokenDelete(w http.ResponseWriter, r *http.Request) {
	tok := r.PathValue("token")
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	delete(s.tokens, tok)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Object not found: "+tok)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"token": tok, "name": tok, "userName": s.opts.Username,
		"expirationMicros": exp.UnixMicro(), "kind": "shared:authz:tokens:authtokenitemstate",
	})
}

// ExpireTokens invalidates every issued token, as their timeout would.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tokens)
}

func (s *Server) authorized(r *http.Request) bool {
	if u, p, ok := r.BasicAuth(); ok {
		return u == s.opts.Username && p == s.opts.Password
	}
	tok := r.Header.Get("X-F5-Auth-Token")
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.tokens[tok]
	return ok && time.Now().Before(exp)
}

func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Username          string `json:"username"`
		Password          string `json:"password"`
		LoginProviderName string `json:"loginProviderName"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid login request: "+err.Error())
		return
	}
	if req.Username != s.opts.Username || req.Password != s.opts.Password {
		writeError(w, http.StatusUnauthorized, "Authentication failed.")
		return
	}
	if req.LoginProviderName == "" {
		req.LoginProviderName = "tmos"
	}
	tok := newID()
	now := time.Now()
	exp := now.Add(s.opts.TokenLifetime)
	s.mu.Lock()
	for t, e := range s.tokens {
		if !now.Before(e) {
			delete(s.tokens, t)
		}
	}
	// BIG-IP exempts the built-in "admin" from the token limit only.
	if req.Username != "admin" && len(s.tokens) >= s.opts.MaxTokens {
		s.mu.Unlock()
		writeError(w, http.StatusBadRequest, "user "+req.Username+" has reached maximum active login tokens")
		return
	}
	s.tokens[tok] = exp
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"username":          req.Username,
		"loginProviderName": req.LoginProviderName,
		"token": map[string]any{
			"token":            tok,
			"name":             tok,
			"userName":         req.Username,
			"timeout":          int(s.opts.TokenLifetime / time.Second),
			"expirationMicros": exp.UnixMicro(),
			"kind":             "shared:authz:tokens:authtokenitemstate",
		},
	})
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeError answers in iControl REST's error shape.
func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]any{"code": status, "message": msg, "errorStack": []string{}, "apiError": 3})
}

// readJSON decodes a request body into generic JSON (numbers as
// json.Number so that integers survive), answering 400 on failure.
func readJSON(w http.ResponseWriter, r *http.Request) (any, bool) {
	dec := json.NewDecoder(io.LimitReader(r.Body, 32<<20))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Invalid JSON: " + err.Error()})
		return nil, false
	}
	if dec.More() {
		writeJSON(w, http.StatusBadRequest, map[string]any{"code": 400, "message": "Invalid JSON: trailing data"})
		return nil, false
	}
	return v, true
}
