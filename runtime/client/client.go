package client

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
	"sync/atomic"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Options configure a [Client]. Zero fields take the defaults.
type Options struct {
	// Token is the bearer credential: an API key, or a run token for a
	// client reporting one run. It is sent only in the Authorization
	// header and never appears in errors or String output.
	Token string
	// HTTPClient sends the requests; default a client with no overall
	// timeout (streams are long), since Timeout bounds each call.
	HTTPClient *http.Client
	// Timeout bounds each attempt of a call (not log streams). Default 30s.
	Timeout time.Duration
	// Retry says how many times and when an idempotent call is retried
	// after a network error or a 429, 502, 503 or 504 answer, and a
	// broken log stream reopened: nil means DefaultRetry, &retry.Policy{}
	// no retries (see package flow/retry).
	Retry *retry.Policy
	// UserAgent is sent with every request. Default "netauto-client".
	UserAgent string
	// CAFile is a PEM file of CA certificates to trust for the API's
	// HTTPS besides the system's (a server with its own CA). Ignored
	// when HTTPClient is set.
	CAFile string
}

// DefaultRetry is the policy of a Client whose Options.Retry is nil:
// three retries after 200ms, 400ms and 800ms, each ±50%.
var DefaultRetry = retry.Policy{Retries: 3, Backoff: retry.Exponential(200*time.Millisecond, 2, 10*time.Second), Jitter: 0.5}

// Client calls the netauto API. It is safe for concurrent use.
type Client struct {
	base  *url.URL
	opts  Options // Retry points to the client's own copy of its policy
	hc    *http.Client
	token atomic.Pointer[string]
}

// New returns a Client for the API at baseURL (http://127.0.0.1:4200, say).
func New(baseURL string, opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("api url %q: want http(s)://host[:port]", baseURL)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	policy := DefaultRetry
	if opts.Retry != nil {
		if err := opts.Retry.Validate(); err != nil {
			return nil, fmt.Errorf("client options: Retry.%w", err)
		}
		policy = *opts.Retry
	}
	opts.Retry = &policy
	if opts.UserAgent == "" {
		opts.UserAgent = "netauto-client"
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
		if opts.CAFile != "" {
			t, err := caTransport(opts.CAFile)
			if err != nil {
				return nil, err
			}
			hc.Transport = t
		}
	}
	c := &Client{base: u, opts: opts, hc: hc}
	c.token.Store(&opts.Token)
	return c, nil
}

// caTransport is a transport trusting the CA certificates of file
// besides the system's.
func caTransport(file string) (*http.Transport, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("api CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("api CA file %s: no PEM certificate in it", file)
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	return t, nil
}

// SetToken replaces the bearer credential of the calls that follow: a
// renewed run token ([Client.RenewRunToken]).
func (c *Client) SetToken(token string) { c.token.Store(&token) }

// String describes the client without its token.
func (c *Client) String() string { return "netauto API client for " + c.base.String() }

// Error is an error answer of the API: its status, the server's message
// and the field it names. Branch on it with errors.As.
type Error struct {
	Method, Path string
	Status       int
	Message      string
	Field        string
	// RetryAfter is the wait the server asked for (its Retry-After
	// header) with a 503 or 429, 0 when none.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := e.Message
	if e.Field != "" {
		msg = e.Field + ": " + msg
	}
	return fmt.Sprintf("%s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), msg)
}

// Is makes errors.Is(err, store.ErrFenced) true for the server's answer
// to a write from a stale execution (409 naming the fence): the run was
// reaped or claimed again, and this execution may report nothing more.
//
// It also makes errors.Is(err, store.ErrUnavailable) true for a 502, 503
// or 504 answer: the server or its store is restarting or unreachable,
// and the same request may pass later.
func (e *Error) Is(target error) bool {
	switch target {
	case store.ErrFenced:
		return e.Status == http.StatusConflict && e.Field == FenceField
	case store.ErrUnavailable:
		return e.Status == http.StatusBadGateway || e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout
	}
	return false
}

// FenceField is the field the API names in its 409 answer to a write
// from a stale execution (see [store.FencedError]).
const FenceField = "fence"

// IsNotFound reports whether err is a 404 answer.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict reports whether err is a 409 answer: an illegal state
// transition or a lost lease.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsTemporary reports whether err may pass if the same request is sent
// again: a network error, or a 429, 502, 503 or 504 answer.
func IsTemporary(err error) bool {
	if err == nil {
		return false
	}
	return retryable(statusOf(err), err)
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// call sends one request and decodes the answer into out (when not nil).
// Idempotent calls are retried on network errors and on 429, 502, 503 and
// 504 answers, with the same body.
func (c *Client) call(ctx context.Context, method, path string, q url.Values, in, out any, idempotent bool) (int, error) {
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return 0, fmt.Errorf("%s %s: encode request: %w", method, path, err)
		}
	}
	p := *c.opts.Retry
	if !idempotent {
		p.Retries = 0
	}
	for attempt := 1; ; attempt++ {
		status, err := c.once(ctx, method, path, q, body, out)
		if err == nil || !p.Allows(attempt) || !retryable(status, err) || ctx.Err() != nil {
			return status, err
		}
		d := p.Delay(attempt)
		var ae *Error
		if errors.As(err, &ae) && ae.RetryAfter > d {
			d = min(ae.RetryAfter, maxRetryAfter)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return status, fmt.Errorf("%w (gave up retrying: %w)", err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

func retryable(status int, err error) bool {
	switch status {
	case 0:
		var ne net.Error
		var oe *net.OpError
		return errors.As(err, &ne) || errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	case http.StatusTooManyRequests, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

func (c *Client) newRequest(ctx context.Context, method, path string, q url.Values, body []byte) (*http.Request, error) {
	target := c.base.String() + path
	if len(q) > 0 {
		target += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if body != nil || (method != http.MethodGet && method != http.MethodHead) {
		// Always for a state-changing request, body or not: a server
		// without keys refuses any other (see runtime/api, CSRF).
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if tok := *c.token.Load(); tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return req, nil
}

func (c *Client) once(ctx context.Context, method, path string, q url.Values, body []byte, out any) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	req, err := c.newRequest(ctx, method, path, q, body)
	if err != nil {
		return 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return 0, fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		err := answerError(method, path, resp.StatusCode, data)
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); perr == nil && secs > 0 {
			err.RetryAfter = time.Duration(secs) * time.Second
		}
		return resp.StatusCode, err
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(data, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// maxRetryAfter bounds the wait a server's Retry-After may impose on one
// retry.
const maxRetryAfter = 30 * time.Second

func answerError(method, path string, status int, data []byte) *Error {
	var we wire.Error
	if json.Unmarshal(data, &we) != nil || we.Error == "" {
		we.Error = strings.TrimSpace(string(data))
		if len(we.Error) > 200 {
			we.Error = we.Error[:200] + "…"
		}
	}
	return &Error{Method: method, Path: path, Status: status, Message: we.Error, Field: we.Field}
}

// esc escapes one path element.
func esc(s string) string { return url.PathEscape(s) }
