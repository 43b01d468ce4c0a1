package api_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
)

// TestStoreOutageAnswers503: while PostgreSQL is down (restarting, failing
// over) the API answers 503 with Retry-After, which the client counts as
// temporary and retries, instead of 500; once it is back, 200.
func TestStoreOutageAnswers503(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := proctest.StartPostgres(t)
	st, err := postgres.Open(context.Background(), pg.DSN, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := newEnvOn(t, st, api.Options{Keys: &api.KeySet{}})
	pg.Stop(t, "fast")
	for _, target := range []string{"/api/v1/runs", "/api/v1/deployments/vlan-prod", "/api/v1/runs/x"} {
		req, err := http.NewRequest("GET", e.srv.URL+target, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("GET %s during the outage: %d, Retry-After %q; want 503 with Retry-After", target, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	c, err := client.New(e.srv.URL, client.Options{Retry: &retry.Policy{}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Deployments(context.Background())
	var ce *client.Error
	if !errors.As(err, &ce) || ce.RetryAfter <= 0 || !client.IsTemporary(err) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("client error during the outage: %v; want a temporary 503 with Retry-After matching store.ErrUnavailable", err)
	}
	pg.Start(t)
	if status, body := e.do("GET", "/api/v1/runs", nil); status != http.StatusOK {
		t.Fatalf("after the outage: %d %s", status, body)
	}
}
