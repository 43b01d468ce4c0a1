package f5

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Token login facts: POST /mgmt/shared/authn/login with username, password
// and loginProviderName answers {"token": {"token": "...", "timeout": s}};
// the token goes into the X-F5-Auth-Token header. Tokens last 1200 s by
// default.
const (
	loginPath        = "/mgmt/shared/authn/login"
	tokenHeader      = "X-F5-Auth-Token"
	defaultTokenLife = 1200 * time.Second
	// renewal happens this long (or a tenth of the lifetime, if shorter)
	// before the token expires.
	renewMargin = 60 * time.Second
)

type loginRequest struct {
	Username          string `json:"username"`
	Password          string `json:"password"`
	LoginProviderName string `json:"loginProviderName"`
}

type loginResponse struct {
	Token struct {
		Token            string `json:"token"`
		Timeout          int64  `json:"timeout"`
		ExpirationMicros int64  `json:"expirationMicros"`
	} `json:"token"`
}

// authorize adds credentials to hr, logging in first when the token is
// missing or about to expire.
func (c *Client) authorize(ctx context.Context, hr *http.Request) error {
	if c.cfg.BasicAuth {
		hr.SetBasicAuth(c.cfg.Username, c.cfg.Password)
		return nil
	}
	tok, err := c.currentToken(ctx)
	if err != nil {
		return err
	}
	hr.Header.Set(tokenHeader, tok)
	return nil
}

// currentToken returns a token valid for at least the renewal margin.
func (c *Client) currentToken(ctx context.Context) (string, error) {
	a := c.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.token != "" && c.now().Before(a.expiry) {
		return a.token, nil
	}
	tok, life, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	margin := min(renewMargin, life/10)
	a.token, a.expiry = tok, c.now().Add(life-margin)
	return tok, nil
}

// dropToken forgets the token so that the next request logs in again.
func (c *Client) dropToken() {
	c.auth.mu.Lock()
	c.auth.token = ""
	c.auth.mu.Unlock()
}

// login exchanges the credentials for a token. It is not retried here: the
// surrounding request's retry loop covers connection errors.
func (c *Client) login(ctx context.Context) (string, time.Duration, error) {
	body, err := json.Marshal(loginRequest{Username: c.cfg.Username, Password: c.cfg.Password, LoginProviderName: c.cfg.LoginProvider})
	if err != nil {
		return "", 0, fmt.Errorf("encode login: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(rctx, http.MethodPost, c.base.String()+loginPath, bytes.NewReader(body))
	if err != nil {
		return "", 0, fmt.Errorf("build login: %w", err)
	}
	hr.Header.Set("Content-Type", "application/json")
	r, err := c.http.Do(hr)
	if err != nil {
		return "", 0, &ConnError{Method: http.MethodPost, Path: loginPath, Err: err}
	}
	defer r.Body.Close()
	b, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		return "", 0, &ConnError{Method: http.MethodPost, Path: loginPath, Err: err}
	}
	if r.StatusCode != http.StatusOK {
		return "", 0, fmt.Errorf("login as %q: %w", c.cfg.Username, decodeError(http.MethodPost, loginPath, r.StatusCode, b))
	}
	var lr loginResponse
	if err := json.Unmarshal(b, &lr); err != nil {
		return "", 0, fmt.Errorf("login as %q: decode answer: %w", c.cfg.Username, err)
	}
	if lr.Token.Token == "" {
		return "", 0, fmt.Errorf("login as %q: answer carries no token", c.cfg.Username)
	}
	life := defaultTokenLife
	if lr.Token.Timeout > 0 {
		life = time.Duration(lr.Token.Timeout) * time.Second
	}
	return lr.Token.Token, life, nil
}
