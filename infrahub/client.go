package infrahub

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	graphql "github.com/hasura/go-graphql-client"

	"github.com/netauto-dev/netauto/flow/retry"
)

// Config configures a Client. Address is required, and either APIToken or
// Username and Password.
type Config struct {
	// Address is the Infrahub base URL, for example "https://infrahub:8000".
	Address string
	// APIToken is sent as X-INFRAHUB-KEY. It wins over Username/Password.
	APIToken string
	// Username and Password log in at /api/auth/login; the access token is
	// refreshed at /api/auth/refresh and the client logs in again when
	// both have expired.
	Username, Password string
	// DefaultBranch is used when a call names no branch; empty means the
	// server's default branch (endpoint /graphql).
	DefaultBranch string
	// Timeout bounds each HTTP attempt (default 30s). The caller's context
	// bounds the whole call including retries.
	Timeout time.Duration
	// CAFile is a PEM file of CAs to trust in addition to the system pool.
	CAFile string
	// InsecureSkipVerify disables TLS certificate verification. Only for
	// labs; it is never implied.
	InsecureSkipVerify bool
	// Retry says how many times and when a call is retried: nil means
	// DefaultRetry, &retry.Policy{} no retries (see package retry). Which
	// calls and answers are retried is the client's decision: idempotent
	// calls (queries, GETs) on connection errors, 429 and 5xx answers
	// other than 501; mutations only when the connection could not be
	// made, so nothing reached the server. A Retry-After of up to a minute
	// replaces the policy's wait; a longer one ends the retries with the
	// server's answer. The caller's context bounds the whole call.
	Retry *retry.Policy
	// HTTPClient replaces the HTTP client: its Transport is wrapped for
	// auth and retries (its Timeout is not used; see Timeout). It cannot be
	// combined with CAFile or InsecureSkipVerify.
	HTTPClient *http.Client
}

// String describes the configuration with secrets masked.
func (c Config) String() string {
	mask := func(s string) string {
		if s == "" {
			return ""
		}
		return "<masked>"
	}
	return fmt.Sprintf("infrahub.Config{Address: %s, APIToken: %s, Username: %s, Password: %s, DefaultBranch: %s}",
		c.Address, mask(c.APIToken), c.Username, mask(c.Password), c.DefaultBranch)
}

// GoString masks secrets for %#v too.
func (c Config) GoString() string { return c.String() }

// DefaultRetry is the policy of a Client whose Config.Retry is nil: three
// retries after 200ms, 400ms and 800ms (each ±50%), growing to at most
// 10s for a policy with more retries. New copies it; to change it for one
// client, copy it into Config.Retry.
var DefaultRetry = retry.Policy{Retries: 3, Backoff: retry.Exponential(200*time.Millisecond, 2, 10*time.Second), Jitter: 0.5}

// maxRetryAfter is the longest Retry-After the client waits out; a server
// asking for longer gets its answer returned instead.
const maxRetryAfter = time.Minute

// Client talks to one Infrahub instance. It is safe for concurrent use and
// reuses connections; create one per instance and share it.
type Client struct {
	base   *url.URL
	cfg    Config
	http   *http.Client
	auth   *authenticator
	mu     sync.Mutex
	gql    map[string]*graphql.Client
	policy retry.Policy
	// sleep waits between retries; tests replace it to see the waits.
	sleep func(context.Context, time.Duration) error
	// legacyBranch is set once the server refused Branch.status.
	legacyBranch atomic.Bool
}

// New returns a Client for cfg. It validates the configuration but makes no
// request; the first call logs in when Username/Password are used.
func New(cfg Config) (*Client, error) {
	if cfg.Address == "" {
		return nil, errors.New("infrahub config: Address is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.Address, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("infrahub config: Address %q is not an http(s) URL", cfg.Address)
	}
	if cfg.APIToken == "" && (cfg.Username == "" || cfg.Password == "") {
		return nil, errors.New("infrahub config: APIToken or Username and Password are required")
	}
	if cfg.HTTPClient != nil && (cfg.CAFile != "" || cfg.InsecureSkipVerify) {
		return nil, errors.New("infrahub config: CAFile and InsecureSkipVerify cannot be combined with HTTPClient; configure its transport instead")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	policy := DefaultRetry
	if cfg.Retry != nil {
		if err := cfg.Retry.Validate(); err != nil {
			return nil, fmt.Errorf("infrahub config: Retry.%w", err)
		}
		policy = *cfg.Retry
	}
	base := http.DefaultTransport
	if cfg.HTTPClient != nil && cfg.HTTPClient.Transport != nil {
		base = cfg.HTTPClient.Transport
	} else {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = http.ProxyFromEnvironment
		tr.MaxIdleConnsPerHost = 16
		if cfg.CAFile != "" || cfg.InsecureSkipVerify {
			tc := &tls.Config{InsecureSkipVerify: cfg.InsecureSkipVerify, MinVersion: tls.VersionTLS12} //nolint:gosec // explicit opt-in
			if cfg.CAFile != "" {
				pem, err := os.ReadFile(cfg.CAFile)
				if err != nil {
					return nil, fmt.Errorf("infrahub config: CAFile: %w", err)
				}
				pool, err := x509.SystemCertPool()
				if err != nil {
					pool = x509.NewCertPool()
				}
				if !pool.AppendCertsFromPEM(pem) {
					return nil, fmt.Errorf("infrahub config: CAFile %s holds no PEM certificate", cfg.CAFile)
				}
				tc.RootCAs = pool
			}
			tr.TLSClientConfig = tc
		}
		base = tr
	}
	c := &Client{base: u, cfg: cfg, gql: map[string]*graphql.Client{}, policy: policy, sleep: sleepCtx}
	c.auth = &authenticator{c: c, base: base}
	c.http = &http.Client{Transport: &transport{c: c, base: base}, CheckRedirect: c.checkRedirect}
	return c, nil
}

// maxRedirects is how many same-origin redirects one request follows, as
// net/http's default policy.
const maxRedirects = 10

// checkRedirect follows redirects within the configured origin only. The
// API token, the bearer token and a login's password go to Address and
// nowhere else: a redirect to another scheme, host or port is refused
// with an error rather than followed with the credentials stripped, so a
// misconfigured Address or a hostile proxy shows up at once instead of as
// a puzzling 401 (issue #19).
func (c *Client) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= maxRedirects {
		return fmt.Errorf("infrahub: stopped after %d redirects", maxRedirects)
	}
	if !c.sameOrigin(req.URL) {
		return fmt.Errorf("infrahub: refusing a redirect from %s to %s://%s: credentials are only sent to the configured Address",
			c.base.Scheme+"://"+c.base.Host, req.URL.Scheme, req.URL.Host)
	}
	return nil
}

// sameOrigin reports whether u has the scheme, host and port of Address.
func (c *Client) sameOrigin(u *url.URL) bool {
	return strings.EqualFold(u.Scheme, c.base.Scheme) && originHost(u) == originHost(c.base)
}

// originHost is the lower-case host:port of u, with the scheme's default
// port when u names none.
func originHost(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if strings.EqualFold(u.Scheme, "https") {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// CloseIdleConnections closes the client's idle keep-alive connections.
func (c *Client) CloseIdleConnections() { c.http.CloseIdleConnections() }

// String describes the client without secrets.
func (c *Client) String() string { return "infrahub.Client{" + c.base.String() + "}" }

// callKind tells the transport whether a request may be retried. The zero
// value (a request that did not say) is not retried.
type callKind int

const (
	nonIdempotent callKind = iota
	idempotent
)

type callKindKey struct{}

func withCallKind(ctx context.Context, k callKind) context.Context {
	return context.WithValue(ctx, callKindKey{}, k)
}

// transport adds authentication, a per-attempt timeout, re-login on 401
// and retries.
type transport struct {
	c    *Client
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	kind, _ := req.Context().Value(callKindKey{}).(callKind)
	p := t.c.policy
	// A body that cannot be produced again cannot be resent.
	replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
	if !replayable {
		p.Retries = 0
	}
	reauthed := !replayable
	for attempt := 1; ; attempt++ {
		r := req.Clone(req.Context())
		if req.GetBody != nil && req.Body != nil {
			body, err := req.GetBody()
			if err != nil {
				return nil, err
			}
			r.Body = body
		}
		// Credentials only ever go to the configured origin; checkRedirect
		// refuses to leave it, and this holds for any other way a request
		// reaches the transport.
		var token string
		if t.c.sameOrigin(r.URL) {
			var err error
			if token, err = t.c.auth.apply(r); err != nil {
				return nil, err
			}
		} else {
			r.Header.Del("X-INFRAHUB-KEY")
			r.Header.Del("Authorization")
		}
		ctx, cancel := context.WithTimeout(req.Context(), t.c.cfg.Timeout)
		resp, err := t.base.RoundTrip(r.WithContext(ctx))
		if err != nil {
			cancel()
			if req.Context().Err() != nil {
				return nil, req.Context().Err()
			}
			if p.Allows(attempt) && (kind == idempotent || isDialError(err)) {
				if werr := t.c.sleep(req.Context(), p.Delay(attempt)); werr != nil {
					return nil, werr
				}
				continue
			}
			return nil, err
		}
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
		if resp.StatusCode == http.StatusUnauthorized && t.c.auth.canRenew() && !reauthed {
			// The server refused the request before running it, so even a
			// mutation is safe to send again once.
			drain(resp)
			if err := t.c.auth.renew(req.Context(), token); err != nil {
				return nil, err
			}
			reauthed = true
			attempt--
			continue
		}
		if kind != idempotent || !p.Allows(attempt) || !retryableStatus(resp.StatusCode) {
			return resp, nil
		}
		wait := p.Delay(attempt)
		if ra, ok := retryAfter(resp.Header.Get("Retry-After")); ok {
			if ra > maxRetryAfter {
				return resp, nil // the server asks for longer than we wait
			}
			wait = ra
		}
		drain(resp)
		if err := t.c.sleep(req.Context(), wait); err != nil {
			return nil, err
		}
	}
}

// CloseIdleConnections closes the base transport's idle connections.
func (t *transport) CloseIdleConnections() {
	if ci, ok := t.base.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

func retryableStatus(s int) bool {
	return s == http.StatusTooManyRequests || s >= 500 && s != http.StatusNotImplemented
}

// retryAfter parses a Retry-After header (seconds or HTTP date).
func retryAfter(v string) (time.Duration, bool) {
	if v == "" {
		return 0, false
	}
	if s, err := strconv.Atoi(v); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0), true
	}
	return 0, false
}

func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func drain(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
}

// cancelBody releases the per-attempt context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

// Close closes the body and releases the attempt's context.
func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// authenticator holds the API token or the login session.
type authenticator struct {
	c    *Client
	base http.RoundTripper

	mu      sync.Mutex
	access  string
	refresh string
}

func (a *authenticator) canRenew() bool { return a.c.cfg.APIToken == "" }

// apply sets the auth header and returns the access token used ("" for API
// tokens), logging in first if there is no session.
func (a *authenticator) apply(r *http.Request) (string, error) {
	if a.c.cfg.APIToken != "" {
		r.Header.Set("X-INFRAHUB-KEY", a.c.cfg.APIToken)
		return "", nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.access == "" {
		if err := a.login(r.Context()); err != nil {
			return "", err
		}
	}
	r.Header.Set("Authorization", "Bearer "+a.access)
	return a.access, nil
}

// renew replaces the access token stale (refresh first, then a new
// login). Concurrent callers that saw the same stale token renew once.
func (a *authenticator) renew(ctx context.Context, stale string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.access != stale {
		return nil // someone else renewed meanwhile
	}
	if a.refresh != "" {
		var out struct {
			AccessToken string `json:"access_token"`
		}
		err := a.post(ctx, "/api/auth/refresh", a.refresh, nil, &out)
		if err == nil && out.AccessToken != "" {
			a.access = out.AccessToken
			return nil
		}
		if err != nil && !errors.Is(err, ErrUnauthorized) {
			return err
		}
	}
	return a.login(ctx)
}

func (a *authenticator) login(ctx context.Context) error {
	var out struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	in := map[string]string{"username": a.c.cfg.Username, "password": a.c.cfg.Password}
	if err := a.post(ctx, "/api/auth/login", "", in, &out); err != nil {
		// Infrahub answers an unknown user with NodeNotFoundError (404,
		// "That login user doesn't exist in the system") and a wrong
		// password or a disabled account with 401 (authenticate_with_password
		// in opsmill/infrahub backend/infrahub/auth.py): all are refused
		// credentials, never "not found" for the caller's request.
		var api *APIError
		if errors.As(err, &api) && (api.StatusCode == http.StatusNotFound || api.StatusCode == http.StatusUnauthorized || api.StatusCode == http.StatusForbidden) {
			return fmt.Errorf("infrahub login as %q refused: %w (%s)", a.c.cfg.Username, ErrUnauthorized, api.Error())
		}
		return fmt.Errorf("infrahub login as %q: %w", a.c.cfg.Username, err)
	}
	if out.AccessToken == "" {
		return fmt.Errorf("infrahub login as %q: answer has no access_token", a.c.cfg.Username)
	}
	a.access, a.refresh = out.AccessToken, out.RefreshToken
	return nil
}

// post sends an auth request directly on the base transport (no retry: a
// login is cheap to repeat by the caller, and a 401 here is final).
func (a *authenticator) post(ctx context.Context, path, bearer string, in, out any) error {
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, a.c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.c.base.String()+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := (&http.Client{Transport: a.base, CheckRedirect: a.c.checkRedirect}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return newAPIError(http.MethodPost, path, resp.StatusCode, raw)
	}
	return json.Unmarshal(raw, out)
}

// branchOr returns branch, or the configured default.
func (c *Client) branchOr(branch string) string {
	if branch == "" {
		return c.cfg.DefaultBranch
	}
	return branch
}

func (c *Client) graphqlClient(branch string) *graphql.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if g, ok := c.gql[branch]; ok {
		return g
	}
	endpoint := c.base.String() + "/graphql"
	if branch != "" {
		endpoint += "/" + url.PathEscape(branch)
	}
	g := graphql.NewClient(endpoint, c.http)
	c.gql[branch] = g
	return g
}

// Query runs a GraphQL query on branch ("" for the default) and decodes its
// "data" into out (a pointer, or nil). Queries are retried on connection
// errors, 429 and 5xx. GraphQL errors become *GraphQLError, HTTP errors
// *APIError.
func (c *Client) Query(ctx context.Context, branch, query string, vars map[string]any, out any) error {
	return c.exec(withCallKind(ctx, idempotent), branch, query, vars, out)
}

// Mutate runs a GraphQL mutation on branch and decodes its "data" into out.
// A mutation is never retried once it may have reached the server.
func (c *Client) Mutate(ctx context.Context, branch, mutation string, vars map[string]any, out any) error {
	return c.exec(withCallKind(ctx, nonIdempotent), branch, mutation, vars, out)
}

func (c *Client) exec(ctx context.Context, branch, query string, vars map[string]any, out any) error {
	branch = c.branchOr(branch)
	data, err := c.graphqlClient(branch).ExecRaw(ctx, query, vars)
	op := operationName(query)
	if err != nil {
		return c.convertError(ctx, branch, op, err)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("infrahub graphql %s: decode answer: %w", op, err)
	}
	return nil
}

func (c *Client) convertError(ctx context.Context, branch, op string, err error) error {
	var errs graphql.Errors
	if !errors.As(err, &errs) {
		return fmt.Errorf("infrahub graphql %s: %w", op, err)
	}
	gqlErr := &GraphQLError{Operation: op}
	for _, e := range errs {
		var ne graphql.NetworkError
		if errors.As(e, &ne) {
			path := "/graphql"
			if branch != "" {
				path += "/" + branch
			}
			return answerError(http.MethodPost, path, ne.StatusCode(), []byte(ne.Body()))
		}
		if code, _ := e.Extensions["code"].(string); code == graphql.ErrRequestError || code == graphql.ErrJsonDecode {
			if ctx.Err() != nil {
				return fmt.Errorf("infrahub graphql %s: %w", op, ctx.Err())
			}
			return fmt.Errorf("infrahub graphql %s: %w", op, errors.Join(errs.Unwrap()...))
		}
		item := GraphQLErrorItem{Message: e.Message, Path: e.Path, Extensions: e.Extensions}
		for _, l := range e.Locations {
			item.Locations = append(item.Locations, Location{Line: l.Line, Column: l.Column})
		}
		gqlErr.Errors = append(gqlErr.Errors, item)
	}
	return gqlErr
}

// operationName returns the first field of a GraphQL document, for error
// messages.
func operationName(q string) string {
	_, rest, ok := strings.Cut(q, "{")
	if !ok {
		return "request"
	}
	rest = strings.TrimSpace(rest)
	end := strings.IndexAny(rest, "( {\n")
	if end <= 0 {
		return "request"
	}
	return rest[:end]
}

// rest performs a REST call. in is JSON-encoded when not nil; out receives
// the JSON answer (or the raw bytes when out is *[]byte).
func (c *Client) rest(ctx context.Context, method, path string, query url.Values, in, out any) error {
	kind := nonIdempotent
	if method == http.MethodGet {
		kind = idempotent
	}
	ctx = withCallKind(ctx, kind)
	var body io.Reader = http.NoBody
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("infrahub %s %s: encode body: %w", method, path, err)
		}
		body = bytes.NewReader(b)
	}
	u := c.base.String() + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return fmt.Errorf("infrahub %s %s: %w", method, path, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("infrahub %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("infrahub %s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		return answerError(method, path, resp.StatusCode, raw)
	}
	switch o := out.(type) {
	case nil:
		return nil
	case *[]byte:
		*o = raw
		return nil
	default:
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("infrahub %s %s: decode answer: %w", method, path, err)
		}
		return nil
	}
}
