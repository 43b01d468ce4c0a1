package api

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// GenerateKey returns a new random API key (256 bits, base64url, with a
// "na_" prefix that secret scanners can spot).
func GenerateKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate api key: %w", err)
	}
	return "na_" + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashKey returns the form of key a [KeySet] is configured with.
func HashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(h[:])
}

// CheckListenAddr refuses to serve an API without keys on anything but a
// loopback address: without keys anyone who reaches the port runs flows.
// An address without a host (":8080") listens on every interface and is
// refused too.
func CheckListenAddr(addr string, authEnabled bool) error {
	if authEnabled {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("listen address %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("listen address %q: no API key is configured, so the API serves on a loopback address only (127.0.0.1 or ::1); configure an API key to listen on %q", addr, host)
}

// runTokenPrefix starts every run token, versioning its format.
const runTokenPrefix = wire.RunTokenPrefix

// tokenSigner mints and checks run tokens: "nrt1." + base64url(claims) +
// "." + base64url(HMAC-SHA256(secret, "nrt1." + base64url(claims))).
type tokenSigner struct{ secret []byte }

type tokenClaims struct {
	Run string `json:"run"`
	Exp int64  `json:"exp"` // Unix seconds
	// Att and Wkr bind the token to one execution of the run: the
	// attempt and the worker that claimed it (see store.Fence).
	Att int    `json:"att"`
	Wkr string `json:"wkr,omitempty"`
}

func newTokenSigner(secret []byte) (*tokenSigner, error) {
	if secret == nil {
		secret = make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			return nil, fmt.Errorf("api: make token secret: %w", err)
		}
	}
	if len(secret) < 32 {
		return nil, errors.New("api: token secret shorter than 32 bytes")
	}
	return &tokenSigner{secret: append([]byte(nil), secret...)}, nil
}

func (t *tokenSigner) sign(msg string) string {
	m := hmac.New(sha256.New, t.secret)
	m.Write([]byte(msg))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (t *tokenSigner) mint(f store.Fence, exp time.Time) string {
	c, _ := json.Marshal(tokenClaims{Run: f.RunID, Exp: exp.Unix(), Att: f.Attempt, Wkr: f.Worker})
	body := runTokenPrefix + base64.RawURLEncoding.EncodeToString(c)
	return body + "." + t.sign(body)
}

// verify returns the execution a token is scoped to, or an error saying
// why the token is refused (never echoing it).
func (t *tokenSigner) verify(tok string, now time.Time) (store.Fence, error) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 || parts[0]+"." != runTokenPrefix {
		return store.Fence{}, errors.New("malformed run token")
	}
	body, sig := parts[0]+"."+parts[1], parts[2]
	if !hmac.Equal([]byte(sig), []byte(t.sign(body))) {
		return store.Fence{}, errors.New("run token signature does not verify")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(body, runTokenPrefix))
	if err != nil {
		return store.Fence{}, errors.New("malformed run token")
	}
	var c tokenClaims
	if err := json.Unmarshal(raw, &c); err != nil || c.Run == "" || c.Att < 1 {
		return store.Fence{}, errors.New("malformed run token")
	}
	if now.Unix() >= c.Exp {
		return store.Fence{}, errors.New("run token expired")
	}
	return store.Fence{RunID: c.Run, Worker: c.Wkr, Attempt: c.Att}, nil
}

// MintRunToken returns a token that may report on run f.RunID only (its
// state, record batches, results and logs), valid for ttl (capped at
// Options.MaxTokenTTL; 0 means Options.TokenTTL). A worker hands it to the
// `execute` process it launches.
//
// The token is bound to one execution: f's attempt and worker (when f
// leaves them zero, the run's current ones). Minting for an execution that
// is no longer current fails with a *[store.FencedError]; once the run is
// reaped or claimed again, what the token reports is refused (409).
func (s *Server) MintRunToken(ctx context.Context, f store.Fence, ttl time.Duration) (token string, expires time.Time, err error) {
	run, err := s.st.GetRun(ctx, f.RunID)
	if err != nil {
		return "", time.Time{}, err
	}
	if f.Attempt == 0 {
		f.Attempt = run.Attempt
		if f.Worker == "" {
			f.Worker = run.Worker
		}
	}
	if f.Attempt != run.Attempt || (f.Worker != "" && f.Worker != run.Worker) {
		return "", time.Time{}, &store.FencedError{Fence: f, Worker: run.Worker, Attempt: run.Attempt}
	}
	if ttl <= 0 {
		ttl = s.opts.TokenTTL
	}
	ttl = min(ttl, s.opts.MaxTokenTTL)
	expires = s.opts.Now().Add(ttl).Truncate(time.Second)
	return s.tokens.mint(f, expires), expires, nil
}

type principalKey struct{}

// Principal is who made a request: the holder of an API key, the holder
// of a run token, or anyone reaching a server without keys.
type Principal struct {
	// Name is the key's name, "run:" and the run ID for a run token,
	// or "anonymous" on a server without keys.
	Name string `json:"name"`
	// Role is the key's role; admin on a server without keys, empty for
	// a run token.
	Role Role `json:"role,omitempty"`
	// Pools restricts a worker key to these pools (empty: every pool).
	Pools []string `json:"pools,omitempty"`
	// Run is the run a run token is scoped to; empty for a key.
	Run string `json:"run,omitempty"`

	fence store.Fence
}

// anonymous is the principal of a server without keys.
var anonymous = Principal{Name: "anonymous", Role: RoleAdmin}

// PrincipalFrom returns who made the request whose context ctx is, as
// authenticated by the server; the zero Principal outside a request.
func PrincipalFrom(ctx context.Context) Principal {
	p, _ := ctx.Value(principalKey{}).(Principal)
	return p
}

// Identity returns the name and role of who made the request whose
// context ctx is: what to record on what the request does (the run it
// created, the run it cancelled). See [Principal] for the names.
func Identity(ctx context.Context) (name string, role Role) {
	p := PrincipalFrom(ctx)
	return p.Name, p.Role
}

func withPrincipal(r *http.Request, p Principal) {
	*r = *r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" {
		return "", false
	}
	return strings.TrimSpace(tok), true
}

// authorize checks the request's credentials for a route's access and
// records who made it in the request's context.
func (s *Server) authorize(r *http.Request, a access) error {
	if a.open || a.source {
		return nil
	}
	tok, ok := bearer(r)
	if ok && strings.HasPrefix(tok, runTokenPrefix) {
		f, err := s.tokens.verify(tok, s.opts.Now())
		if err != nil {
			return &Error{Status: http.StatusUnauthorized, Msg: err.Error(), Field: "Authorization"}
		}
		run := f.RunID
		switch {
		case a.token == tokenEngine:
		case a.token == tokenRun && r.PathValue("id") == run:
		default:
			return &Error{Status: http.StatusForbidden, Msg: "a run token may report on its own run only", Field: "Authorization"}
		}
		// Every store write of the request is fenced by the token's
		// execution: a child of a reaped attempt reports nothing.
		withPrincipal(r, Principal{Name: "run:" + run, Run: run, fence: f})
		*r = *r.WithContext(store.WithFence(r.Context(), f))
		return nil
	}
	if !s.AuthEnabled() {
		withPrincipal(r, anonymous) // no keys: loopback only, everyone is admin
		return nil
	}
	if !ok {
		return &Error{Status: http.StatusUnauthorized, Msg: "missing bearer token (Authorization: Bearer <API key>)", Field: "Authorization"}
	}
	info, found := s.opts.Keys.Lookup(tok)
	if !found {
		return &Error{Status: http.StatusUnauthorized, Msg: "unknown API key", Field: "Authorization"}
	}
	if !info.Role.Can(a.perm) {
		return &Error{Status: http.StatusForbidden, Field: "Authorization",
			Msg: fmt.Sprintf("API key %q has role %s, which does not grant %s", info.Name, info.Role, a.perm)}
	}
	withPrincipal(r, Principal{Name: info.Name, Role: info.Role, Pools: info.Pools})
	return nil
}

// requirePermission refuses a key whose role does not grant p (run
// tokens and keyless requests pass: their routes checked them).
func requirePermission(ctx context.Context, p Permission, what string) error {
	pr := PrincipalFrom(ctx)
	if pr.Run != "" || pr.Role.Can(p) {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Field: what,
		Msg: fmt.Sprintf("API key %q has role %s, which does not grant %s", pr.Name, pr.Role, p)}
}

// requirePool refuses a worker key restricted to other pools than pool.
func requirePool(ctx context.Context, pool string) error {
	pr := PrincipalFrom(ctx)
	if pr.Role != RoleWorker || slices.Contains(pr.Pools, pool) || len(pr.Pools) == 0 {
		return nil
	}
	return &Error{Status: http.StatusForbidden, Field: "pool",
		Msg: fmt.Sprintf("worker key %q may work on pools %v only, not %q", pr.Name, pr.Pools, pool)}
}

// HTTPServer returns an http.Server serving s on addr with timeouts
// suited to the API (log streams clear their own write deadline). It
// refuses a non-loopback addr when no API key is configured (see
// [CheckListenAddr]) and, on loopback without keys, logs that every
// request is accepted.
func (s *Server) HTTPServer(addr string) (*http.Server, error) {
	if err := CheckListenAddr(addr, s.AuthEnabled()); err != nil {
		return nil, err
	}
	s.hosts.add(addr)
	if !s.AuthEnabled() {
		s.log.Warn("no API key configured: the API accepts every request and listens on loopback only", "addr", addr)
	}
	return &http.Server{
		Addr:              addr,
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       time.Minute,
		WriteTimeout:      time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}, nil
}
