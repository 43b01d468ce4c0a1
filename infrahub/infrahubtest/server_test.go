package infrahubtest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
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
		{"/api/storage/object/" + id, "wrong", 401, "Authentication is required"},
		{"/api/storage/object/other", DefaultAPIToken, 404, "Unable to find"},
		{"/api/nothing", DefaultAPIToken, 404, "Not Found"},
		{"/api/schema?branch=nope", DefaultAPIToken, 404, "nope not found"},
	}
	for _, tc := range tests {
		status, body := get(tc.path, tc.key)
		if status != tc.status || !strings.Contains(body, tc.body) {
			t.Errorf("GET %s: %d %q, want %d %q", tc.path, status, body, tc.status, tc.body)
		}
	}
}
