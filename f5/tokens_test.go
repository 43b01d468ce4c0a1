package f5

import (
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
)

// BIG-IP refuses a user's login once it holds its maximum of live tokens
// (100; 3 here to keep the test small): clients that Close revoke theirs,
// so any number of them can come and go; clients that do not lock the
// account out until the tokens expire, and the refusal says so.
func TestCloseRevokesTheToken(t *testing.T) {
	srv, ts := f5test.NewServer(t, f5test.Options{Username: "netauto", Password: "pw", MaxTokens: 3})
	client := func() *Client {
		c, err := New(Config{BaseURL: ts.URL, Username: "netauto", Password: "pw", HTTPClient: ts.Client(), Retry: fastRetry, RequestTimeout: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for i := range 10 {
		c := client()
		if _, err := c.Info(t.Context()); err != nil {
			t.Fatalf("client %d: %v", i, err)
		}
		if err := c.Close(t.Context()); err != nil {
			t.Fatalf("close client %d: %v", i, err)
		}
		if err := c.Close(t.Context()); err != nil {
			t.Fatalf("second close of client %d: %v", i, err)
		}
		if n := srv.LiveTokens(); n != 0 {
			t.Fatalf("after closing client %d the device holds %d live tokens, want 0", i, n)
		}
	}
	for i := range 3 {
		if _, err := client().Info(t.Context()); err != nil {
			t.Fatalf("unclosed client %d: %v", i, err)
		}
	}
	_, err := client().Info(t.Context())
	var fe *Error
	if !errors.As(err, &fe) || !fe.TooManyTokens() {
		t.Fatalf("fourth unclosed client: %v, want an *Error with TooManyTokens", err)
	}
	// A closed client logs in again when used after Close.
	c := client()
	srv.ExpireTokens()
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("after the tokens expired: %v", err)
	}
	_ = c.Close(t.Context())
	if _, err := c.Info(t.Context()); err != nil {
		t.Fatalf("client used after Close: %v", err)
	}
}
