package f5

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
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

// Defaults used when the corresponding Config field is zero.
const (
	DefaultRequestTimeout = 60 * time.Second
	DefaultLoginProvider  = "tmos"
	maxResponseBytes      = 64 << 20
)

// Config describes how to reach and authenticate to one BIG-IP.
type Config struct {
	// BaseURL is the management address, e.g. "https://192.0.2.10" or
	// "https://bigip.example.net:8443". Paths such as /mgmt/... are appended.
	BaseURL string
	// Username and Password authenticate the client. Password never appears
	// in logs, errors or String output.
	Username string
	Password string
	// BasicAuth sends HTTP basic credentials on every request instead of
	// logging in for an X-F5-Auth-Token.
	BasicAuth bool
	// LoginProvider is the loginProviderName for token login ("tmos" when
	// empty; e.g. the name of a RADIUS or LDAP provider).
	LoginProvider string
	// CAFile is a PEM bundle trusted for the device certificate. Empty means
	// the system roots.
	CAFile string
	// InsecureSkipVerify disables certificate verification. Only for labs;
	// it must be set explicitly.
	InsecureSkipVerify bool
	// RequestTimeout bounds each HTTP exchange (DefaultRequestTimeout when
	// zero). The caller's context bounds the whole operation, retries
	// included. Keep it above 45 s: a synchronous AS3 declaration may take
	// that long before AS3 turns it into a task.
	RequestTimeout time.Duration
	// Retry says how many times and when a request is retried: nil means
	// DefaultRetry (until the context ends), &retry.Policy{} no retries
	// (see package retry). Which failures are retried is the client's
	// decision: connection errors and device-busy 503 answers (AS3's
	// device-wide lock, also when an AS3 task reports it), never 4xx. The
	// caller's context bounds the whole call; the client gives up at once
	// when the next wait would outlast its deadline.
	Retry *retry.Policy
	// HTTPClient, when set, is used (its Transport decides TLS); CAFile
	// and InsecureSkipVerify are then ignored. The client works on a copy
	// whose redirect policy also refuses to leave the device (see New).
	HTTPClient *http.Client
}

// String describes the configuration with the password masked.
func (c Config) String() string {
	pw := ""
	if c.Password != "" {
		pw = "****"
	}
	return fmt.Sprintf("f5.Config{BaseURL: %q, Username: %q, Password: %q, BasicAuth: %t, InsecureSkipVerify: %t}",
		c.BaseURL, c.Username, pw, c.BasicAuth, c.InsecureSkipVerify)
}

// GoString is String, so %#v does not reveal the password either.
func (c Config) GoString() string { return c.String() }

// Client talks to one BIG-IP: AS3, LTM and certificate APIs. It is safe for
// concurrent use; create one per device and reuse it (it keeps connections
// alive and serializes AS3 declarations per tenant).
type Client struct {
	base    *url.URL
	cfg     Config
	http    *http.Client
	retry   retry.Policy
	tenants *tenantQueue
	// sleep waits between retries; tests replace it to see the waits.
	sleep func(context.Context, time.Duration) error

	auth *session
	// header is added to every request (a transaction's coordination id).
	header http.Header
	now    func() time.Time
}

// session is the login state shared by a Client and its transaction views.
type session struct {
	mu     sync.Mutex
	token  string
	expiry time.Time
}

// New validates cfg and returns a Client. It does not contact the device;
// the first call logs in.
//
// Credentials never follow a redirect to another host: a redirect whose
// target differs from BaseURL in scheme, host or port is refused with a
// *RedirectError (net/http would send the X-F5-Auth-Token header, and the
// login's password in a 307/308 body, to any host, and basic credentials
// to any port of the same host). Redirects within the device are followed.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("f5: Config.BaseURL is required")
	}
	u, err := url.Parse(strings.TrimRight(cfg.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("f5: Config.BaseURL %q must be an http(s) URL with a host", cfg.BaseURL)
	}
	if cfg.Username == "" {
		return nil, errors.New("f5: Config.Username is required")
	}
	if cfg.LoginProvider == "" {
		cfg.LoginProvider = DefaultLoginProvider
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	policy := DefaultRetry
	if cfg.Retry != nil {
		if err := cfg.Retry.Validate(); err != nil {
			return nil, fmt.Errorf("f5: Config.Retry.%w", err)
		}
		policy = *cfg.Retry
	}
	hc := cfg.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = 16
		tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // explicit opt-in
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return nil, fmt.Errorf("f5: Config.CAFile: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("f5: Config.CAFile %q holds no PEM certificate", cfg.CAFile)
			}
			tlsCfg.RootCAs = pool
		}
		tr.TLSClientConfig = tlsCfg
		hc = &http.Client{Transport: tr}
	}
	hc = sameHostRedirectsOnly(hc, u)
	return &Client{base: u, cfg: cfg, http: hc, retry: policy, tenants: newTenantQueue(), sleep: sleep, auth: &session{}, now: time.Now}, nil
}

// request is one logical API call; do() may send it several times.
type request struct {
	method string
	path   string // absolute path, may contain a query
	body   any    // marshalled as JSON unless rawBody is set
	raw    []byte
	header http.Header
	// noRetry503 disables waiting out 503 answers (used where a 503 is a
	// result the caller interprets itself).
	noRetry503 bool
}

// response is a fully read answer.
type response struct {
	status int
	header http.Header
	body   []byte
}

// do sends req, logging in as needed, renewing the token once on 401 and
// retrying connection errors and device-busy 503 answers under the retry
// policy, bounded by ctx. Any answer outside 2xx becomes an *Error.
func (c *Client) do(ctx context.Context, req request) (*response, error) {
	var payload []byte
	switch {
	case req.raw != nil:
		payload = req.raw
	case req.body != nil:
		b, err := json.Marshal(req.body)
		if err != nil {
			return nil, fmt.Errorf("encode %s %s body: %w", req.method, req.path, err)
		}
		payload = b
	}
	var resp *response
	err := c.withRetries(ctx, func(attempt int) (bool, error) {
		r, err := c.send(ctx, req, payload)
		if err != nil {
			return isConnError(ctx, err), err
		}
		if r.status == http.StatusUnauthorized && !c.cfg.BasicAuth {
			c.dropToken()
			if r, err = c.send(ctx, req, payload); err != nil {
				return isConnError(ctx, err), err
			}
		}
		if r.status >= 200 && r.status < 300 {
			resp = r
			return false, nil
		}
		apiErr := decodeError(req.method, req.path, r.status, r.body)
		if r.status == http.StatusServiceUnavailable && !req.noRetry503 {
			return true, apiErr
		}
		resp = r
		return false, apiErr
	})
	return resp, err
}

// send performs one HTTP exchange.
func (c *Client) send(ctx context.Context, req request, payload []byte) (*response, error) {
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	var body io.Reader
	if payload != nil {
		body = bytes.NewReader(payload)
	}
	hr, err := http.NewRequestWithContext(rctx, req.method, c.base.String()+req.path, body)
	if err != nil {
		return nil, fmt.Errorf("build %s %s: %w", req.method, req.path, err)
	}
	for k, v := range c.header {
		hr.Header[k] = v
	}
	for k, v := range req.header {
		hr.Header[k] = v
	}
	if payload != nil && hr.Header.Get("Content-Type") == "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	hr.Header.Set("Accept", "application/json")
	if err := c.authorize(ctx, hr); err != nil {
		return nil, err
	}
	r, err := c.http.Do(hr)
	if err != nil {
		return nil, &ConnError{Method: req.method, Path: req.path, Err: err}
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, maxResponseBytes))
	if err != nil {
		return nil, &ConnError{Method: req.method, Path: req.path, Err: fmt.Errorf("read body: %w", err)}
	}
	return &response{status: r.StatusCode, header: r.Header, body: b}, nil
}

// getJSON GETs path and decodes the JSON answer into out.
func (c *Client) getJSON(ctx context.Context, path string, out any) error {
	r, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return err
	}
	return decodeBody(r, path, out)
}

// decodeBody decodes a JSON answer, naming the path on failure.
func decodeBody(r *response, path string, out any) error {
	if out == nil || len(bytes.TrimSpace(r.body)) == 0 {
		return nil
	}
	if err := json.Unmarshal(r.body, out); err != nil {
		return fmt.Errorf("decode answer of %s (HTTP %d): %w", path, r.status, err)
	}
	return nil
}

// ConnError is a transport failure: the device could not be reached or the
// exchange broke before a complete answer arrived. It is retried.
type ConnError struct {
	Method, Path string
	Err          error
}

// Error names the request and the transport failure.
func (e *ConnError) Error() string {
	return fmt.Sprintf("%s %s: connection: %v", e.Method, e.Path, e.Err)
}

// Unwrap returns the transport error.
func (e *ConnError) Unwrap() error { return e.Err }

// isConnError reports whether err is a transport failure worth retrying:
// a ConnError not caused by the caller's own context ending, not a
// certificate the client refuses and not a refused redirect (which no
// retry will change).
func isConnError(ctx context.Context, err error) bool {
	var ce *ConnError
	var verify *tls.CertificateVerificationError
	var redirect *RedirectError
	return errors.As(err, &ce) && ctx.Err() == nil && !errors.As(err, &verify) && !errors.As(err, &redirect)
}

// RedirectError is a redirect the client refused to follow because it
// leads away from the device (another scheme, host or port): following it
// would hand the device's credentials to that host.
type RedirectError struct {
	// Device is the configured BaseURL's origin; Target is where the
	// redirect pointed (scheme, host and path; no query).
	Device, Target string
}

// Error names both ends.
func (e *RedirectError) Error() string {
	return fmt.Sprintf("refused a redirect from the device %s to another host, %s: credentials are never sent to another host", e.Device, e.Target)
}

// sameHostRedirectsOnly returns a copy of hc whose redirect policy refuses
// any target outside base's origin, then applies hc's own policy (or
// net/http's default limit of 10 redirects).
func sameHostRedirectsOnly(hc *http.Client, base *url.URL) *http.Client {
	c := *hc
	next := hc.CheckRedirect
	origin := originOf(base)
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if originOf(req.URL) != origin {
			target := *req.URL
			target.RawQuery, target.Fragment, target.User = "", "", nil
			return &RedirectError{Device: origin, Target: target.String()}
		}
		if next != nil {
			return next(req, via)
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

// originOf is scheme://host:port, lower case, with the default port made
// explicit.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[scheme]
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
