package f5

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
	"github.com/netauto-dev/netauto/flow/retry"
)

// fastRetry keeps tests quick while still exercising backoff.
var fastRetry = &retry.Policy{Retries: retry.Forever, Backoff: retry.Exponential(time.Millisecond, 2, 10*time.Millisecond), Jitter: 0.5}

// newPair starts a fake BIG-IP and a client logged in with token auth.
func newPair(t testing.TB, opts f5test.Options) (*f5test.Server, *Client) {
	t.Helper()
	srv, ts := f5test.NewServer(t, opts)
	c, err := New(Config{BaseURL: ts.URL, Username: "admin", Password: "admin", HTTPClient: ts.Client(), Retry: fastRetry, RequestTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// fastOpts polls quickly.
var fastOpts = &DeclareOptions{PollInterval: time.Millisecond, Timeout: 30 * time.Second}

func readFixture(t testing.TB, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func fixtureFiles(t testing.TB, dir string) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", dir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	return files
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func generic(t testing.TB, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("%v in %s", err, b)
	}
	return v
}

// simpleDecl builds a one-application declaration for tenant with the
// given declaration id and virtual address.
func simpleDecl(tenant, id, vip string, members ...string) *Declaration {
	port := 80
	return &Declaration{
		SchemaVersion: "3.50.0",
		ID:            id,
		Tenants: map[string]*Tenant{tenant: {Applications: map[string]*Application{"app": {
			Template: "generic",
			Items: map[string]Object{
				"service":  &Service{Class: ClassServiceHTTP, VirtualAddresses: []string{vip}, VirtualPort: &port, Pool: &Ref{Name: "web_pool"}},
				"web_pool": &Pool{Monitors: []Ref{{Name: "http"}}, Members: []PoolMember{{ServicePort: 80, ServerAddresses: members}}},
			},
		}}}},
	}
}
