package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// driverEnvs returns a server without auth on each store driver: SQLite,
// and PostgreSQL (skipped without NETAUTO_TEST_POSTGRES_DSN, required in
// CI), whose refusals of text and integers differ from SQLite's and used
// to surface as 500s.
func driverEnvs(t testing.TB) map[string]*env {
	t.Helper()
	opts := api.Options{Keys: &api.KeySet{}, Sources: map[string]api.Verifier{"open": acceptAll{}, "hdr": headerID{}}}
	out := map[string]*env{"sqlite": newEnv(t, opts)}
	if os.Getenv(storetest.EnvPostgresDSN) == "" && os.Getenv("NETAUTO_CI") == "" {
		t.Logf("%s is not set: SQLite only", storetest.EnvPostgresDSN)
		return out
	}
	dsn := storetest.TempSchema(t, storetest.PostgresDSN(t))
	k, err := store.NewKey([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := postgres.Open(context.Background(), dsn, store.Options{Key: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	out["postgres"] = newEnvOn(t, st, opts)
	return out
}

// TestMalformedInputIsTheCallersFault: a NUL byte or invalid UTF-8 in a
// path element, a query parameter, a header or a body field, and an
// integer over a column's range, are answered 400 naming the field, on
// both drivers (PostgreSQL answered 500: it refuses such text, and int4
// overflows).
func TestMalformedInputIsTheCallersFault(t *testing.T) {
	cursor := base64.RawURLEncoding.EncodeToString([]byte(`{"t":1,"k":["\u0000"]}`))
	cases := []struct {
		method, target, body string
		hdr                  []string
		field                string
	}{
		{"GET", "/api/v1/runs/%00", "", nil, "id"},
		{"GET", "/api/v1/runs/%FF", "", nil, "id"},
		{"GET", "/api/v1/runs/%00/state", "", nil, "id"},
		{"GET", "/api/v1/runs/a%00b/logs", "", nil, "id"},
		{"GET", "/api/v1/runs/x/logs?run=%00", "", nil, "run"},
		{"GET", "/api/v1/runs/%00/result", "", nil, "id"},
		{"GET", "/api/v1/runs/%00/results", "", nil, "id"},
		{"GET", "/api/v1/runs?parent=%00", "", nil, "parent"},
		{"GET", "/api/v1/runs?deployment=%FF", "", nil, "deployment"},
		{"GET", "/api/v1/runs?flow=%00&limit=5", "", nil, "flow"},
		{"GET", "/api/v1/runs?cursor=" + cursor, "", nil, "cursor"},
		{"GET", "/api/v1/runs?parent=%zz", "", nil, "query"},
		{"GET", "/api/v1/runs?parent=" + strings.Repeat("a", 3000), "", nil, "parent"},
		{"GET", "/api/v1/flows/%00", "", nil, "name"},
		{"PUT", "/api/v1/flows/%FF", `{}`, nil, "name"},
		{"GET", "/api/v1/deployments/%00", "", nil, "name"},
		{"PUT", "/api/v1/deployments/d", `{"flow":"vlan","description":"x","pool":"default","retries":9999999999999}`, nil, "retries"},
		{"POST", "/api/v1/deployments/%00/runs", `{}`, nil, "name"},
		{"POST", "/api/v1/deployments/vlan-prod/runs", `{"name":"a\u0000b","parameters":{"device":"sw1","vlan":1}}`, nil, "name"},
		{"POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"sw1","vlan":1}}`, []string{"Idempotency-Key", "k\xff"}, "Idempotency-Key"},
		{"POST", "/api/v1/deployments/vlan-prod/runs", `{"parameters":{"device":"sw1","vlan":1},"tags":["t\u0000"]}`, nil, "tags[0]"},
		{"GET", "/api/v1/blocks/%00", "", nil, "name"},
		{"PUT", "/api/v1/blocks/%FF", `{"type":"t","data":{}}`, nil, "name"},
		{"GET", "/api/v1/variables/%00", "", nil, "name"},
		{"PUT", "/api/v1/variables/%00", `{"value":1}`, nil, "name"},
		{"PUT", "/api/v1/variables/v", "{\"value\":\"\xff\"}", nil, "value"},
		{"DELETE", "/api/v1/variables/%FF", "", nil, "name"},
		{"GET", "/api/v1/cache/%00", "", nil, "key"},
		{"GET", "/api/v1/events?source=%00", "", nil, "source"},
		{"GET", "/api/v1/events?type=%FF", "", nil, "type"},
		{"PUT", "/api/v1/tag-limits/x", `{"limit": 9999999999999}`, nil, "limit"},
		{"PUT", "/api/v1/tag-limits/%00", `{"limit": 1}`, nil, "tag"},
		{"PUT", "/api/v1/pools/p", `{"type":"process","concurrency_limit":9999999999999}`, nil, "concurrency_limit"},
		{"PUT", "/api/v1/pools/default/queues/q", `{"priority":-9999999999999}`, nil, "priority"},
		{"POST", "/api/v1/pools/default/claim", `{"worker":"w\u0000","lease":1000000000}`, nil, "worker"},
		{"POST", "/api/v1/pools/default/claim", `{"worker":"w","queues":["\u0000"],"lease":1000000000}`, nil, "queues[0]"},
		{"PUT", "/api/v1/workers/%00", `{"pool":"default"}`, nil, "name"},
		{"POST", "/api/v1/events/open", "{\"id\":\"e\",\"data\":\"\xff\"}", nil, "payload"},
		{"POST", "/api/v1/events/hdr", `{"id":"e"}`, []string{"X-Event-Id", strings.Repeat("x", 2000)}, "id"},
		{"POST", "/api/v1/events/hdr", `{"id":"e"}`, []string{"X-Event-Id", "e\xff"}, "id"},
	}
	for name, e := range driverEnvs(t) {
		t.Run(name, func(t *testing.T) {
			for _, c := range cases {
				status, body := e.do(c.method, c.target, nilIfEmpty(c.body), c.hdr...)
				if status != http.StatusBadRequest {
					t.Errorf("%s %s: %d %s, want 400 naming %s", c.method, c.target, status, body, c.field)
					continue
				}
				wantError(t, status, body, http.StatusBadRequest, c.field)
			}
		})
	}
}

// headerID is an event source verifier taking the event ID from the
// X-Event-Id header, as an authenticated sender may give it.
type headerID struct{}

func (headerID) Verify(r *http.Request, _ []byte) (string, error) {
	return r.Header.Get("X-Event-Id"), nil
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

var wildcardRE = regexp.MustCompile(`\{[^}]+\}`)

// FuzzRoutes drives every route of the API, on both drivers, with a
// fuzzed path element (in place of every wildcard), query string and
// body, and fails on any 5xx: malformed input is the caller's fault,
// whatever route it reaches.
func FuzzRoutes(f *testing.F) {
	envs := driverEnvs(f)
	patterns := envs["sqlite"].api.Patterns()
	if len(patterns) < 40 {
		f.Fatalf("only %d routes registered", len(patterns))
	}
	for i := range patterns {
		f.Add(uint16(i), "\x00", "parent=%00&limit=x&after=-1", []byte(`{"name":"\u0000","worker":"w","lease":1}`))
		f.Add(uint16(i), "\xff", "%zz=%ff&cursor=%00", []byte("{\"value\":\"\xff\"}"))
		f.Add(uint16(i), strings.Repeat("k", 3000), "now=x&state=NOPE", []byte(`{"limit":9999999999999,"tags":["a"],"holder":"h","lease":9999999999999999}`))
		f.Add(uint16(i), "vlan-prod", "", []byte(`{"parameters":{"vlan":"x"},"retries":-1,"priority":99999999999}`))
	}
	f.Fuzz(func(t *testing.T, route uint16, seg, query string, body []byte) {
		pattern := patterns[int(route)%len(patterns)]
		method, path, _ := strings.Cut(pattern, " ")
		path = wildcardRE.ReplaceAllLiteralString(path, url.PathEscape(seg))
		target := "http://api.test" + path
		if query != "" {
			target += "?" + query
		}
		for name, e := range envs {
			req, err := http.NewRequest(method, target, bytes.NewReader(body))
			if err != nil {
				return // not a request line an HTTP server would accept
			}
			// A log follow of a live run would stream on: the context
			// ends it (the fuzzer cannot guess a run's ID, so none does).
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			w := httptest.NewRecorder()
			e.api.ServeHTTP(w, req.WithContext(ctx))
			expired := ctx.Err() != nil
			cancel()
			if w.Code >= 500 && !expired {
				t.Fatalf("%s: %s %s body %q: %d %s", name, method, target, body, w.Code, w.Body)
			}
		}
	})
}
