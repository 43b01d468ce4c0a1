package f5

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Token login facts: POST /mgmt/shared/authn/login with username, password
// and loginProviderName answers {"token": {"token": "...", "timeout": s}};
// the token goes into the X-F5-Auth-Token header. Tokens last 1200 s by
// default.
const (
	loginPath = "/mgmt/shared/authn/login"
	// tokensPath is where a user's own tokens are read, patched and
	// deleted: DELETE tokensPath/<token> revokes one.
	tokensPath       = "/mgmt/shared/authz/tokens/"
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

// Close revokes the client's login token (DELETE
// /mgmt/shared/authz/tokens/<token>), so that it stops counting against
// the user's tokens: BIG-IP lets each user but "admin" hold at most 100
// live tokens and refuses the 101st login with HTTP 400 "user <name> has
// reached maximum active login tokens" until older tokens expire (after
// 20 minutes by default) or are deleted. A flow that makes a client per
// task and never closes it locks its account out of the API in a busy
// hour. Close is safe to call more than once and with basic
// authentication (nothing to revoke); a token the device no longer knows
// (expired, 401 or 404) counts as revoked. A client used after Close logs
// in again.
func (c *Client) Close(ctx context.Context) error {
	a := c.auth
	a.mu.Lock()
	tok := a.token
	a.token, a.expiry = "", time.Time{}
	a.mu.Unlock()
	if tok == "" || c.cfg.BasicAuth {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.cfg.RequestTimeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(rctx, http.MethodDelete, c.base.String()+tokensPath+url.PathEscape(tok), nil)
	if err != nil {
		return fmt.Errorf("f5: revoke token: %w", err)
	}
	hr.Header.Set(tokenHeader, tok)
	hr.Header.Set("Accept", "application/json")
	r, err := c.http.Do(hr)
	if err != nil {
		// The token's value is never in an error: it is a credential.
		return fmt.Errorf("f5: revoke token: %w", &ConnError{Method: http.MethodDelete, Path: tokensPath + "…", Err: err})
	}
	defer r.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	switch {
	case r.StatusCode >= 200 && r.StatusCode < 300, r.StatusCode == http.StatusUnauthorized, r.StatusCode == http.StatusNotFound:
		return nil
	default:
		return fmt.Errorf("f5: revoke token: %w", decodeError(http.MethodDelete, tokensPath+"…", r.StatusCode, b))
	}
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
