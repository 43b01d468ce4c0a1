package infrahub_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// recorder is a second host: it records what reaches it.
type recorder struct {
	mu   sync.Mutex
	seen []string // "header=value" and body of every request
}

func (r *recorder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.seen = append(r.seen, req.Method+" "+req.URL.Path+" key="+req.Header.Get("X-INFRAHUB-KEY")+
		" auth="+req.Header.Get("Authorization")+" body="+string(body))
	r.mu.Unlock()
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"data":{"Branch":[]}}`)
}

func (r *recorder) requests() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestCredentialsNeverFollowCrossHostRedirect (issue #19): an Infrahub
// address that redirects to another host (a misconfigured proxy, or a
// hostile one) must not receive the API key, a bearer token or the login
// password. The client refuses the redirect and says why; a redirect
// within the configured origin is still followed.
func TestCredentialsNeverFollowCrossHostRedirect(t *testing.T) {
	other := &recorder{}
	otherSrv := httptest.NewServer(other)
	defer otherSrv.Close()
	for _, code := range []int{http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, otherSrv.URL+r.URL.Path, code)
		}))
		for _, cfg := range []infrahub.Config{
			{Address: redirector.URL, APIToken: "secret-api-token"},
			{Address: redirector.URL, Username: "admin", Password: "secret-password"},
		} {
			c, err := infrahub.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Branches(t.Context())
			if err == nil || !strings.Contains(err.Error(), "refusing a redirect") || strings.Contains(err.Error(), "secret") {
				t.Errorf("%d redirect to another host: err = %v, want a refusal naming no secret", code, err)
			}
			if _, err := c.Schema(t.Context(), ""); err == nil || !strings.Contains(err.Error(), "refusing a redirect") {
				t.Errorf("%d redirect of a REST call: err = %v", code, err)
			}
		}
		redirector.Close()
	}
	if got := other.requests(); len(got) != 0 {
		t.Fatalf("the other host received %d requests: %q", len(got), got)
	}

	// The same origin may redirect (here /graphql to /graphql/main): the
	// credentials go along and the call succeeds.
	fake, err := infrahubtest.New(infrahubtest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sameHost := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/graphql" {
			http.Redirect(w, r, "/graphql/main", http.StatusTemporaryRedirect)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	defer sameHost.Close()
	c, err := infrahub.New(infrahub.Config{Address: sameHost.URL, APIToken: infrahubtest.DefaultAPIToken})
	if err != nil {
		t.Fatal(err)
	}
	if bs, err := c.Branches(t.Context()); err != nil || len(bs) != 1 || bs[0].Name != "main" {
		t.Fatalf("same-origin redirect: %+v %v", bs, err)
	}
	if fake.Requests("/graphql/main") != 1 {
		t.Fatalf("the redirect was not followed: %d requests to /graphql/main", fake.Requests("/graphql/main"))
	}
}
