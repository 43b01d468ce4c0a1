package infrahubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"
)

func gql(t *testing.T, url, query string) map[string]any {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-INFRAHUB-KEY", DefaultAPIToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	out["_status"] = resp.StatusCode
	return out
}

func TestDemoSeedAndQuery(t *testing.T) {
	_, ts := NewTestServer(t, Options{Seed: DemoSeed()})
	out := gql(t, ts.URL+"/graphql", `query { DcimDevice(name__value: "atl1-edge1") { count edges { node { id hfid display_label name { value } platform { node { display_label } } interfaces { count edges { node { name { value } } } } } } } }`)
	js, _ := json.Marshal(out)
	if !strings.Contains(string(js), `"count":1`) || !strings.Contains(string(js), `"display_label":"eos"`) || !strings.Contains(string(js), `"Ethernet1"`) {
		t.Fatalf("answer: %s", js)
	}
	bad := gql(t, ts.URL+"/graphql", `query { DcimDevice(nmae__value: "x") { count } }`)
	if bad["errors"] == nil || bad["_status"] != 200 {
		t.Fatalf("misspelt filter: %v", bad)
	}
}

func TestMultiMutationRollsBack(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	out := gql(t, ts.URL+"/graphql", `mutation { a: BuiltinTagCreate(data: {name: {value: "one"}}) { ok } b: BuiltinTagCreate(data: {name: {value: "one"}}) { ok } }`)
	if out["errors"] == nil {
		t.Fatalf("duplicate in one request accepted: %v", out)
	}
	count := gql(t, ts.URL+"/graphql", `query { BuiltinTag { count } }`)
	if n := count["data"].(map[string]any)["BuiltinTag"].(map[string]any)["count"]; n != float64(0) {
		t.Fatalf("first mutation of a failed request kept: count %v", n)
	}
}

func TestPutObjectAndAuth(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	id := s.PutObject([]byte("hello"))
	get := func(path, key string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, ts.URL+path, nil)
		if key != "" {
			req.Header.Set("X-INFRAHUB-KEY", key)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, _ = b.ReadFrom(resp.Body)
		return resp.StatusCode, b.String()
	}
	tests := []struct {
		path, key string
		status    int
		body      string
	}{
		{"/api/storage/object/" + id, DefaultAPIToken, 200, "hello"},
		{"/api/storage/object/" + id, "", 401, "Authentication is required"},
		// validate_api_key (opsmill/infrahub backend/infrahub/auth.py).
		{"/api/storage/object/" + id, "wrong", 401, `"message":"Invalid token"`},
		// Shapes of opsmill/infrahub: NodeNotFoundError (404), FastAPI's
		// unknown route, BranchNotFoundError (400 on REST endpoints).
		{"/api/storage/object/other", DefaultAPIToken, 404, `"message":"Unable to find the node other / StorageObject in the database."`},
		{"/api/nothing", DefaultAPIToken, 404, `{"detail":"Not Found"}`},
		{"/api/schema?branch=nope", DefaultAPIToken, 400, `"errors":[{"extensions":{"code":400},"message":"Branch: nope not found."}]`},
		{"/schema.graphql?branch=nope", DefaultAPIToken, 400, `"message":"Branch: nope not found."`},
	}
	for _, tc := range tests {
		status, body := get(tc.path, tc.key)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}
}

// TestUnknownBranchOnGraphQL: the GraphQL app answers an unknown branch
// itself, 404 with a list of strings (opsmill/infrahub
// backend/infrahub/graphql/app.py).
func TestUnknownBranchOnGraphQL(t *testing.T) {
	_, ts := NewTestServer(t, Options{})
	out := gql(t, ts.URL+"/graphql/nope", `query { Branch { name } }`)
	errs, _ := out["errors"].([]any)
	if out["_status"] != 404 || len(errs) != 1 || errs[0] != "Branch: nope not found." || out["data"] != nil {
		t.Fatalf("answer: %v", out)
	}
}

// TestEventLogLikeInfrahub: the InfrahubEvent query sorts by occurrence,
// not by storage order, returns 10 events unless asked, and refuses a
// limit above 50 (opsmill/infrahub backend/infrahub/graphql/queries/event.py).
func TestEventLogLikeInfrahub(t *testing.T) {
	s, ts := NewTestServer(t, Options{})
	base := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 12 {
		s.LogEvent(LoggedEvent{ID: fmt.Sprintf("ev-%02d", i), Type: "infrahub.node.created", OccurredAt: base.Add(time.Duration(i) * time.Second)})
	}
	// Stored last, occurred before all the others.
	s.LogEvent(LoggedEvent{ID: "ev-late", Type: "infrahub.node.created", Branch: "main", OccurredAt: base.Add(-time.Second)})
	ids := func(out map[string]any) []string {
		var got []string
		for _, e := range out["data"].(map[string]any)["InfrahubEvent"].(map[string]any)["edges"].([]any) {
			got = append(got, e.(map[string]any)["node"].(map[string]any)["id"].(string))
		}
		return got
	}
	asc := ids(gql(t, ts.URL+"/graphql", `query { InfrahubEvent(order: ASC) { edges { node { id } } } }`))
	if len(asc) != 10 || asc[0] != "ev-late" || asc[1] != "ev-00" || asc[9] != "ev-08" {
		t.Fatalf("ascending default page: %v", asc)
	}
	desc := ids(gql(t, ts.URL+"/graphql", `query { InfrahubEvent(limit: 2) { edges { node { id } } } }`))
	if strings.Join(desc, ",") != "ev-11,ev-10" {
		t.Fatalf("descending by default: %v", desc)
	}
	since := ids(gql(t, ts.URL+"/graphql", `query { InfrahubEvent(order: ASC, since: "2026-01-02T03:04:15Z", limit: 50) { edges { node { id } } } }`))
	if strings.Join(since, ",") != "ev-10,ev-11" {
		t.Fatalf("since is inclusive: %v", since)
	}
	out := gql(t, ts.URL+"/graphql", `query { InfrahubEvent(limit: 51) { count } }`)
	if errs, _ := out["errors"].([]any); len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "The parameter 'limit' can't be above 50") || out["_status"] != 200 {
		t.Fatalf("limit 51: %v", out)
	}
}
