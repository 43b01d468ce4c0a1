package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

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
	// Retries is how many times an idempotent call is retried after a
	// network error or a 429, 502, 503 or 504 answer. Default 3; negative
	// means none.
	Retries int
	// Backoff is the first wait before a retry, doubled each time (with
	// jitter). Default 200ms.
	Backoff time.Duration
	// UserAgent is sent with every request. Default "netauto-client".
	UserAgent string
}

// Client calls the netauto API. It is safe for concurrent use.
type Client struct {
	base *url.URL
	opts Options
	hc   *http.Client
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
	if opts.Retries == 0 {
		opts.Retries = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 200 * time.Millisecond
	}
	if opts.UserAgent == "" {
		opts.UserAgent = "netauto-client"
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	return &Client{base: u, opts: opts, hc: hc}, nil
}

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
	retries := max(c.opts.Retries, 0)
	if !idempotent {
		retries = 0
	}
	wait := c.opts.Backoff
	for attempt := 0; ; attempt++ {
		status, err := c.once(ctx, method, path, q, body, out)
		if err == nil || attempt >= retries || !retryable(status, err) || ctx.Err() != nil {
			return status, err
		}
		d := wait/2 + rand.N(wait/2+1)
		wait *= 2
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
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.opts.UserAgent)
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
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
