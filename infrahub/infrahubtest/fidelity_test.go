package infrahubtest

// Tests of behaviours the fake takes from Infrahub's own source; each names
// the place it follows. They were written against shapes the fake got wrong
// before (it accepted what Infrahub refuses, or answered otherwise).

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
)

// testSchema is a small schema with one attribute of each kind the fake
// checks, and a component kind whose human-friendly id spans its parent.
const testSchema = `
version: "1.0"
nodes:
  - name: Router
    namespace: Test
    attributes:
      - {name: name, kind: Text, unique: true}
      - {name: serial, kind: Text}
      - {name: mtu, kind: Number, optional: true}
      - {name: port, kind: Number, optional: true, default_value: 22}
      - {name: enabled, kind: Boolean, optional: true}
      - {name: seen, kind: DateTime, optional: true}
      - {name: loopback, kind: IPHost, optional: true}
      - {name: subnet, kind: IPNetwork, optional: true}
      - {name: mac, kind: MacAddress, optional: true}
      - {name: link, kind: URL, optional: true}
      - {name: members, kind: List, optional: true}
      - {name: notes, kind: TextArea, optional: true}
      - {name: asn, kind: Text, optional: true, regex: "^[0-9]+$"}
      - name: role
        kind: Dropdown
        optional: true
        choices: [{name: edge, label: Edge router, color: "#ff0000"}, {name: core}]
    relationships:
      - {name: ports, peer: TestPort, cardinality: many, kind: Component, identifier: router__port}
  - name: Port
    namespace: Test
    human_friendly_id: [router__name__value, name__value]
    attributes:
      - {name: name, kind: Text}
      - {name: enabled, kind: Boolean, optional: true}
    relationships:
      - {name: router, peer: TestRouter, cardinality: one, optional: false, kind: Parent, identifier: router__port}
  - name: Config
    namespace: Test
    attributes:
      - {name: name, kind: Text}
    relationships:
      - {name: router, peer: TestRouter, cardinality: one, optional: false, kind: Attribute, identifier: config__router}
`

func testFake(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	if opts.Schemas == nil {
		opts.Schemas = fstest.MapFS{"test.yml": {Data: []byte(testSchema)}}
	}
	s, ts := NewTestServer(t, opts)
	return s, ts.URL
}

// post sends a GraphQL request with variables and returns the status and
// the decoded body.
func post(t *testing.T, url, token, query string, vars map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	req.Header.Set("X-INFRAHUB-KEY", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, out
}

// errorsOf returns the messages of an answer's "errors".
func errorsOf(out map[string]any) []string {
	var msgs []string
	list, _ := out["errors"].([]any)
	for _, e := range list {
		if m, ok := e.(map[string]any); ok {
			msgs = append(msgs, fmt.Sprint(m["message"]))
		}
	}
	return msgs
}

func dig(v any, path ...string) any {
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

const createRouter = `mutation ($d: TestRouterCreateInput!) { TestRouterCreate(data: $d) { ok object { id
  port { value } loopback { value ip prefixlen netmask with_hostmask } subnet { value broadcast_address num_addresses }
  mac { value } members { value } role { value label color description } } } }`

// TestAttributeValuesAsInfrahubChecksThem: a value of the wrong type or
// format is refused with Infrahub's message, "<reason> at <attribute>"
// (validate_format and validate_content of the attribute classes in
// opsmill/infrahub backend/infrahub/core/attribute.py).
func TestAttributeValuesAsInfrahubChecksThem(t *testing.T) {
	_, url := testFake(t, Options{})
	long := strings.Repeat("x", 4093)
	tests := []struct {
		field string
		value any
		want  string
	}{
		{"mtu", 1.5, "1.5 is not a valid Number at mtu"},
		{"mtu", "1500", "1500 is not a valid Number at mtu"},
		{"seen", "yesterday", "yesterday is not a valid DateTime at seen"},
		{"loopback", "10.0.0.300", "10.0.0.300 is not a valid IPHost at loopback"},
		{"loopback", "10.0.0.1/33", "10.0.0.1/33 is not a valid IPHost at loopback"},
		{"subnet", "10.0.0.1/24", "10.0.0.1/24 is not a valid IPNetwork at subnet"},
		{"mac", "00:11:22:33:44", "00:11:22:33:44 is not a valid MacAddress at mac"},
		{"link", "example.com/x", "example.com/x is not a valid URL at link"},
		{"members", "not json", "not json is not a valid JSON list at members"},
		{"members", map[string]any{"a": 1}, "{'a': 1} is not a valid List at members"},
		{"role", "spine", "spine must be one of 'core, edge' at role"},
		{"asn", "AS65000", "AS65000 must conform with the regex: '^[0-9]+$' at asn"},
		// MAX_STRING_LENGTH: 3 + len(utf-8) must stay below 4096.
		{"serial", long, "Text attribute length should be less than 4096 characters."},
	}
	for _, tc := range tests {
		d := map[string]any{"name": map[string]any{"value": "r1"}, "serial": map[string]any{"value": "s"}}
		d[tc.field] = map[string]any{"value": tc.value}
		_, out := post(t, url+"/graphql", DefaultAPIToken, createRouter, map[string]any{"d": d})
		if msgs := errorsOf(out); len(msgs) != 1 || msgs[0] != tc.want {
			t.Errorf("%s = %v: errors %q, want %q", tc.field, tc.value, msgs, tc.want)
		}
	}
	// TextArea is a large type: no length limit.
	_, out := post(t, url+"/graphql", DefaultAPIToken, createRouter, map[string]any{"d": map[string]any{
		"name": map[string]any{"value": "r1"}, "serial": map[string]any{"value": long[:4092]}, "notes": map[string]any{"value": long + long}}})
	if msgs := errorsOf(out); len(msgs) != 0 {
		t.Fatalf("a 4092-byte Text and a long TextArea were refused: %q", msgs)
	}
}

// TestAttributeValuesNormalisedAndDefaulted: Infrahub stores IPHost and
// IPNetwork values with their prefix length, MAC addresses upper-case with
// colons, a List given as a JSON string as a list (_normalize_value,
// ListAttribute.validate_format), gives an optional attribute its default
// when left out (BaseAttribute.__init__), and answers the derived fields
// of Dropdown and IP attributes.
func TestAttributeValuesNormalisedAndDefaulted(t *testing.T) {
	_, url := testFake(t, Options{})
	_, out := post(t, url+"/graphql", DefaultAPIToken, createRouter, map[string]any{"d": map[string]any{
		"name": map[string]any{"value": "r1"}, "serial": map[string]any{"value": "s"},
		"loopback": map[string]any{"value": "10.0.0.1/255.255.255.0"}, "subnet": map[string]any{"value": "2001:db8::/126"},
		"mac": map[string]any{"value": "0011.22aa.bbcc"}, "members": map[string]any{"value": `["a:1"]`},
		"role": map[string]any{"value": "edge"},
	}})
	obj := dig(out, "data", "TestRouterCreate", "object")
	want := map[string]any{
		"port":     map[string]any{"value": float64(22)},
		"loopback": map[string]any{"value": "10.0.0.1/24", "ip": "10.0.0.1", "prefixlen": float64(24), "netmask": "255.255.255.0", "with_hostmask": "10.0.0.1/0.0.0.255"},
		"subnet":   map[string]any{"value": "2001:db8::/126", "broadcast_address": "2001:db8::3", "num_addresses": float64(4)},
		"mac":      map[string]any{"value": "00:11:22:AA:BB:CC"},
		"members":  map[string]any{"value": []any{"a:1"}},
		"role":     map[string]any{"value": "edge", "label": "Edge router", "color": "#ff0000", "description": ""},
	}
	for field, w := range want {
		got, _ := json.Marshal(dig(obj, field))
		exp, _ := json.Marshal(w)
		if string(got) != string(exp) {
			t.Errorf("%s = %s, want %s (answer %v)", field, got, exp, out)
		}
	}
	// A /0 IPv4 network has more addresses than a GraphQL Int holds.
	_, out = post(t, url+"/graphql", DefaultAPIToken, createRouter, map[string]any{"d": map[string]any{
		"name": map[string]any{"value": "r2"}, "serial": map[string]any{"value": "s"}, "subnet": map[string]any{"value": "0.0.0.0/0"}}})
	if msgs := errorsOf(out); len(msgs) != 1 || !strings.Contains(msgs[0], "Int cannot represent non 32-bit signed integer value: 4294967296") {
		t.Errorf("num_addresses of 0.0.0.0/0: %q", msgs)
	}
}

// TestMandatoryFields: a create leaving out mandatory fields names them all
// ("<name> is mandatory for <kind> at <name>", Node._process_fields in
// opsmill/infrahub backend/infrahub/core/node/__init__.py); a mandatory
// attribute set to null is "A value must be provided for <name> at <name>"
// (BaseAttribute.validate).
func TestMandatoryFields(t *testing.T) {
	_, url := testFake(t, Options{})
	_, out := post(t, url+"/graphql", DefaultAPIToken, `mutation { TestRouterCreate(data: {mtu: {value: 1500}}) { ok } }`, nil)
	if msgs := errorsOf(out); len(msgs) != 1 || msgs[0] != "name is mandatory for TestRouter at name, serial is mandatory for TestRouter at serial" {
		t.Errorf("create without mandatory attributes: %q", msgs)
	}
	_, out = post(t, url+"/graphql", DefaultAPIToken, `mutation { TestPortCreate(data: {name: {value: "e1"}}) { ok } }`, nil)
	if msgs := errorsOf(out); len(msgs) != 1 || msgs[0] != "router is mandatory for TestPort at router" {
		t.Errorf("create without mandatory relationship: %q", msgs)
	}
	_, out = post(t, url+"/graphql", DefaultAPIToken, `mutation { TestRouterCreate(data: {name: {value: "r1"}, serial: {value: "s"}}) { object { id } } }`, nil)
	id := dig(out, "data", "TestRouterCreate", "object", "id")
	_, out = post(t, url+"/graphql", DefaultAPIToken, `mutation ($id: String) { TestRouterUpdate(data: {id: $id, serial: {value: null}}) { ok } }`, map[string]any{"id": id})
	if msgs := errorsOf(out); len(msgs) != 1 || msgs[0] != "A value must be provided for serial at serial" {
		t.Errorf("update of a mandatory attribute to null: %q", msgs)
	}
}

// TestUniquenessConstraints: a unique attribute, and the constraint
// Infrahub derives from a human-friendly id spanning a relationship
// (SchemaBranch.process_human_friendly_id), refuse a second node with
// "Violates uniqueness constraint '<fields>'" (grouped_uniqueness.py).
func TestUniquenessConstraints(t *testing.T) {
	_, url := testFake(t, Options{})
	mk := func(q string) []string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, q, nil)
		return errorsOf(out)
	}
	if msgs := mk(`mutation { a: TestRouterCreate(data: {name: {value: "r1"}, serial: {value: "1"}}) { ok } b: TestRouterCreate(data: {name: {value: "r2"}, serial: {value: "2"}}) { ok } }`); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	if msgs := mk(`mutation { TestRouterCreate(data: {name: {value: "r1"}, serial: {value: "3"}}) { ok } }`); len(msgs) != 1 || msgs[0] != "Violates uniqueness constraint 'name'" {
		t.Errorf("duplicate unique attribute: %q", msgs)
	}
	port := func(router, name string) []string {
		return mk(fmt.Sprintf(`mutation { TestPortCreate(data: {name: {value: %q}, router: {hfid: [%q]}}) { ok } }`, name, router))
	}
	if msgs := port("r1", "e1"); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	if msgs := port("r2", "e1"); len(msgs) != 0 {
		t.Errorf("the same port name on another router: %q", msgs)
	}
	if msgs := port("r1", "e1"); len(msgs) != 1 || msgs[0] != "Violates uniqueness constraint 'router-name'" {
		t.Errorf("duplicate human-friendly id: %q", msgs)
	}
	// An update checks the constraints of the fields it sets.
	_, out := post(t, url+"/graphql", DefaultAPIToken, `mutation { TestRouterUpdate(data: {hfid: ["r2"], name: {value: "r1"}}) { ok } }`, nil)
	if msgs := errorsOf(out); len(msgs) != 1 || msgs[0] != "Violates uniqueness constraint 'name'" {
		t.Errorf("update onto another node's name: %q", msgs)
	}
}

// TestUpsertAsInfrahub: an Upsert with an id updates that node and fails
// when there is none; without id or hfid it creates, or updates the node
// holding the human-friendly id it would get (mutate_upsert in
// opsmill/infrahub backend/infrahub/graphql/mutations/main.py).
func TestUpsertAsInfrahub(t *testing.T) {
	s, url := testFake(t, Options{})
	upsert := func(data string) (string, []string) {
		_, out := post(t, url+"/graphql", DefaultAPIToken, `mutation { TestRouterUpsert(data: {`+data+`}) { ok object { id } } }`, nil)
		id, _ := dig(out, "data", "TestRouterUpsert", "object", "id").(string)
		return id, errorsOf(out)
	}
	const unknown = "0190a9b2-9b3c-7d4e-8f00-0123456789ab"
	if _, msgs := upsert(`id: "` + unknown + `", name: {value: "r1"}, serial: {value: "1"}`); len(msgs) != 1 ||
		msgs[0] != "Unable to find the node "+unknown+" / TestRouter in the database." {
		t.Errorf("upsert of an unknown id: %q", msgs)
	}
	if n, _ := s.nodeCount("TestRouter"); n != 0 {
		t.Fatalf("upsert of an unknown id created %d nodes", n)
	}
	first, msgs := upsert(`name: {value: "r1"}, serial: {value: "1"}`)
	if first == "" || len(msgs) != 0 {
		t.Fatal(msgs)
	}
	again, msgs := upsert(`name: {value: "r1"}, serial: {value: "2"}`)
	if again != first || len(msgs) != 0 {
		t.Errorf("upsert of the same human-friendly id: id %s (first %s), errors %q", again, first, msgs)
	}
	created, msgs := upsert(`hfid: ["r9"], name: {value: "r9"}, serial: {value: "9"}`)
	if created == "" || created == first || len(msgs) != 0 {
		t.Errorf("upsert by an unknown hfid: %s %q", created, msgs)
	}
	if n, _ := s.nodeCount("TestRouter"); n != 2 {
		t.Errorf("%d routers, want 2", n)
	}
}

// TestCreateWithID: a create may give the node's id, which must be a UUID
// not in use (Node.new in opsmill/infrahub backend/infrahub/core/node/__init__.py).
func TestCreateWithID(t *testing.T) {
	_, url := testFake(t, Options{})
	create := func(id, name string) []string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { TestRouterCreate(data: {id: %q, name: {value: %q}, serial: {value: "s"}}) { object { id } } }`, id, name), nil)
		if msgs := errorsOf(out); len(msgs) > 0 {
			return msgs
		}
		if got := dig(out, "data", "TestRouterCreate", "object", "id"); got != id {
			t.Errorf("created with id %v, asked %s", got, id)
		}
		return nil
	}
	const id = "0190a9b2-9b3c-7d4e-8f00-0123456789ab"
	if msgs := create("r1", "r1"); len(msgs) != 1 || msgs[0] != "r1 is not a valid UUID at id" {
		t.Errorf("id r1: %q", msgs)
	}
	if msgs := create(id, "r1"); msgs != nil {
		t.Fatal(msgs)
	}
	if msgs := create(id, "r2"); len(msgs) != 1 || msgs[0] != id+" is already in use at id" {
		t.Errorf("id in use: %q", msgs)
	}
}

// TestPagingAsInfrahub: limit 0 adds no LIMIT and returns every node, a
// negative limit or offset is refused by Neo4j (Query.get_query in
// opsmill/infrahub backend/infrahub/core/query/__init__.py), and with an
// hfid filter count is the number of nodes returned
// (default_paginated_list_resolver). Relationship filters of cardinality
// many apply when their value is truthy (many_relationship_resolver).
func TestPagingAsInfrahub(t *testing.T) {
	_, url := testFake(t, Options{})
	for i := range 3 {
		post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { TestRouterCreate(data: {name: {value: "r%d"}, serial: {value: "s"}}) { ok } }`, i), nil)
	}
	for _, p := range []string{"e1", "e2"} {
		post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { TestPortCreate(data: {name: {value: %q}, enabled: {value: %t}, router: {hfid: ["r0"]}}) { ok } }`, p, p == "e1"), nil)
	}
	_, out := post(t, url+"/graphql", DefaultAPIToken, `query { TestRouter(limit: 0) { count edges { node { id } } } }`, nil)
	if edges, _ := dig(out, "data", "TestRouter", "edges").([]any); len(edges) != 3 {
		t.Errorf("limit 0: %d edges, want all 3 (%v)", len(edges), out)
	}
	for _, q := range []string{`query { TestRouter(limit: -1) { count } }`, `query { TestRouter(offset: -1) { count } }`} {
		_, out = post(t, url+"/graphql", DefaultAPIToken, q, nil)
		if msgs := errorsOf(out); len(msgs) != 1 || !strings.Contains(msgs[0], "Must be a non-negative integer") {
			t.Errorf("%s: %q", q, msgs)
		}
	}
	_, out = post(t, url+"/graphql", DefaultAPIToken, `query { TestRouter(hfid: ["r1"], offset: 1) { count edges { node { id } } } }`, nil)
	if c := dig(out, "data", "TestRouter", "count"); c != float64(0) {
		t.Errorf("count with hfid past the only match: %v", c)
	}
	_, out = post(t, url+"/graphql", DefaultAPIToken, `query { TestRouter(name__value: "r0") { edges { node {
		on: ports(enabled__value: true) { count }  all: ports(enabled__value: false) { count } byname: ports(name__values: ["e2"]) { edges { node { name { value } } } } } } } }`, nil)
	node := dig(out, "data", "TestRouter", "edges")
	if edges, _ := node.([]any); len(edges) == 1 {
		n := edges[0]
		if dig(n, "node", "on", "count") != float64(1) || dig(n, "node", "all", "count") != float64(2) ||
			len(dig(n, "node", "byname", "edges").([]any)) != 1 {
			t.Errorf("nested filters: %v", n)
		}
	} else {
		t.Errorf("answer: %v", out)
	}
}

// TestBranchNamesAsInfrahub: the Branch model takes 3 to 250 characters
// and git's ref-name rules (opsmill/infrahub backend/infrahub/core/branch.py),
// and BranchCreate refuses an existing name first
// (backend/infrahub/graphql/mutations/branch.py).
func TestBranchNamesAsInfrahub(t *testing.T) {
	_, url := testFake(t, Options{})
	tests := []struct{ name, want string }{
		{"ab", "invalid field name: String should have at least 3 characters"},
		{"feat..x", "Branch name contains invalid patterns or characters: .."},
		{"feat x", "Branch name contains invalid patterns or characters: disallowed ASCII characters/patterns"},
		{"feat/x.lock", "Branch name contains invalid patterns or characters: ends with .lock"},
		{"main", "The branch main, already exist"},
		{"Feat#1-été", ""},
	}
	for _, tc := range tests {
		_, out := post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { BranchCreate(data: {name: %q}) { ok } }`, tc.name), nil)
		msgs := errorsOf(out)
		if tc.want == "" && len(msgs) != 0 || tc.want != "" && (len(msgs) != 1 || msgs[0] != tc.want) {
			t.Errorf("branch %q: %q, want %q", tc.name, msgs, tc.want)
		}
	}
}

// TestPermissionsAsInfrahub: an account without edit_default_branch may
// read, create branches and write on them, but a mutation on the default
// branch is refused before it runs, with 403 and the REST envelope
// (DefaultBranchPermissionChecker, PermissionDeniedError; see Account).
func TestPermissionsAsInfrahub(t *testing.T) {
	s, url := testFake(t, Options{Accounts: []Account{{APIToken: "ro"}, {APIToken: "editor", EditDefaultBranch: true}}})
	const create = `mutation { TestRouterCreate(data: {name: {value: "r1"}, serial: {value: "s"}}) { ok } }`
	status, out := post(t, url+"/graphql", "ro", create, nil)
	want := `{"data":null,"errors":[{"extensions":{"code":403},"message":"You are not allowed to change data in the default branch"}]}`
	if got, _ := json.Marshal(out); status != http.StatusForbidden || string(got) != want {
		t.Errorf("write on main without edit_default_branch: %d %s", status, got)
	}
	if n, _ := s.nodeCount("TestRouter"); n != 0 {
		t.Errorf("a refused mutation wrote %d nodes", n)
	}
	if status, out := post(t, url+"/graphql", "ro", `query { TestRouter { count } }`, nil); status != http.StatusOK || len(errorsOf(out)) != 0 {
		t.Errorf("read: %d %v", status, out)
	}
	if status, out := post(t, url+"/graphql", "ro", `mutation { BranchCreate(data: {name: "ro-work"}) { ok } }`, nil); status != http.StatusOK || len(errorsOf(out)) != 0 {
		t.Errorf("branch create (exempt): %d %v", status, out)
	}
	if status, out := post(t, url+"/graphql/ro-work", "ro", create, nil); status != http.StatusOK || len(errorsOf(out)) != 0 {
		t.Errorf("write on a branch: %d %v", status, out)
	}
	status, out = post(t, url+"/graphql", "editor", `mutation { BranchMerge(data: {name: "ro-work"}) { ok } }`, nil)
	if msgs := errorsOf(out); status != http.StatusForbidden || len(msgs) != 1 || msgs[0] != "You are not allowed to merge a branch" {
		t.Errorf("merge without merge_branch: %d %q", status, msgs)
	}
	if status, out := post(t, url+"/graphql", DefaultAPIToken, `mutation { BranchMerge(data: {name: "ro-work"}) { ok } }`, nil); status != http.StatusOK || len(errorsOf(out)) != 0 {
		t.Errorf("merge as the administrator: %d %v", status, out)
	}
}

// TestLoginAnswersAsInfrahub: /api/auth/login answers an unknown user with
// 404 and a wrong password with 401, and a token of the wrong type is
// named as such (authenticate_with_password, validate_jwt_access_token and
// validate_jwt_refresh_token in opsmill/infrahub backend/infrahub/auth.py).
func TestLoginAnswersAsInfrahub(t *testing.T) {
	_, url := testFake(t, Options{})
	login := func(user, password string) (int, map[string]any) {
		body, _ := json.Marshal(map[string]string{"username": user, "password": password})
		resp, err := http.Post(url+"/api/auth/login", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	if status, out := login("nobody", "x"); status != http.StatusNotFound || strings.Join(errorsOf(out), "") != "That login user doesn't exist in the system" {
		t.Errorf("unknown user: %d %v", status, out)
	}
	if status, out := login(DefaultUsername, "x"); status != http.StatusUnauthorized || strings.Join(errorsOf(out), "") != "Incorrect password" {
		t.Errorf("wrong password: %d %v", status, out)
	}
	_, tokens := login(DefaultUsername, DefaultPassword)
	use := func(path, bearer string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, url+path, strings.NewReader(`{"query":"query { Branch { name } }"}`))
		req.Header.Set("Authorization", "Bearer "+bearer)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, strings.Join(errorsOf(out), "")
	}
	if status, msg := use("/graphql", tokens["refresh_token"].(string)); status != http.StatusUnauthorized || msg != "Invalid token, current token is not an access token" {
		t.Errorf("refresh token as access token: %d %q", status, msg)
	}
	if status, msg := use("/api/auth/refresh", tokens["access_token"].(string)); status != http.StatusUnauthorized || msg != "Invalid token, current token is not a refresh token" {
		t.Errorf("access token as refresh token: %d %q", status, msg)
	}
}

// nodeCount counts the nodes of kind on the default branch.
func (s *Server) nodeCount(kind string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nodesOf(s.branches[s.opts.DefaultBranch], kind)), nil
}

// TestRelationshipAddAsInfrahub: RelationshipAdd refuses a peer already
// attached elsewhere through a relationship of cardinality one, a
// relationship of cardinality one and an unknown relationship
// (opsmill/infrahub 1.0 backend/infrahub/graphql/mutations/relationship.py).
func TestRelationshipAddAsInfrahub(t *testing.T) {
	_, url := testFake(t, Options{})
	id := func(q string, path ...string) string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, q, nil)
		v, _ := dig(out, path...).(string)
		if v == "" {
			t.Fatalf("%s: %v", q, out)
		}
		return v
	}
	r0 := id(`mutation { TestRouterCreate(data: {name: {value: "r0"}, serial: {value: "s"}}) { object { id } } }`, "data", "TestRouterCreate", "object", "id")
	r1 := id(`mutation { TestRouterCreate(data: {name: {value: "r1"}, serial: {value: "s"}}) { object { id } } }`, "data", "TestRouterCreate", "object", "id")
	p := id(`mutation { TestPortCreate(data: {name: {value: "e1"}, router: {hfid: ["r0"]}}) { object { id } } }`, "data", "TestPortCreate", "object", "id")
	add := func(node, rel, peer string) []string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { RelationshipAdd(data: {id: %q, name: %q, nodes: [{id: %q}]}) { ok } }`, node, rel, peer), nil)
		return errorsOf(out)
	}
	if msgs := add(r1, "ports", p); len(msgs) != 1 || msgs[0] != fmt.Sprintf("'%s' 'TestPort' is already related to another peer on 'router'", p) {
		t.Errorf("port of r0 added to r1: %q", msgs)
	}
	if msgs := add(r0, "ports", p); len(msgs) != 0 {
		t.Errorf("port added again to its router: %q", msgs)
	}
	if msgs := add(p, "router", r1); len(msgs) != 1 || msgs[0] != "'router' must be a relationship of cardinality Many at name" {
		t.Errorf("cardinality one: %q", msgs)
	}
	if msgs := add(r0, "nope", p); len(msgs) != 1 || msgs[0] != "'nope' is not a valid relationship for 'TestRouter' at name" {
		t.Errorf("unknown relationship: %q", msgs)
	}
	if msgs := add(r0, "ports", r1); len(msgs) != 1 || msgs[0] != fmt.Sprintf("'%s' 'TestRouter' is not a valid peer for 'TestPort'", r1) {
		t.Errorf("peer of another kind: %q", msgs)
	}
}

// TestSchemaNamesAsInfrahub: a schema Infrahub would refuse to load is
// refused by the fake too (naming rules of
// backend/infrahub/core/constants/__init__.py and SchemaBranch.validate_names).
func TestSchemaNamesAsInfrahub(t *testing.T) {
	tests := []struct{ schema, want string }{
		{`{name: Router, namespace: Test, attributes: [{name: as, kind: Number}]}`, `"as" must match`},
		{`{name: Router, namespace: Test, attributes: [{name: Name, kind: Text}]}`, `"Name" must match`},
		{`{name: Router, namespace: Test, attributes: [{name: hfid, kind: Text}]}`, `"hfid" is a reserved name`},
		{`{name: router, namespace: Test, attributes: [{name: name, kind: Text}]}`, `name "router" must match`},
		{`{name: Router, namespace: TestNet, attributes: [{name: name, kind: Text}]}`, `namespace "TestNet" must match`},
		{`{name: Router, namespace: Te, attributes: [{name: name, kind: Text}]}`, `namespace "Te" must match`},
	}
	for _, tc := range tests {
		_, err := New(Options{Schemas: fstest.MapFS{"s.yml": {Data: []byte("nodes:\n  - " + tc.schema + "\n")}}})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.schema, err, tc.want)
		}
	}
}

// TestDeleteAsInfrahub: deleting a node deletes its Component peers
// (on_delete cascade by default) and is refused while another node has a
// mandatory relationship to it (NodeDeleteValidator in opsmill/infrahub
// backend/infrahub/core/node/delete_validator.py,
// SchemaBranch.process_relationships).
func TestDeleteAsInfrahub(t *testing.T) {
	s, url := testFake(t, Options{})
	id := func(q string, path ...string) string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, q, nil)
		v, _ := dig(out, path...).(string)
		if v == "" {
			t.Fatalf("%s: %v", q, out)
		}
		return v
	}
	r0 := id(`mutation { TestRouterCreate(data: {name: {value: "r0"}, serial: {value: "s"}}) { object { id } } }`, "data", "TestRouterCreate", "object", "id")
	for _, p := range []string{"e1", "e2"} {
		id(fmt.Sprintf(`mutation { TestPortCreate(data: {name: {value: %q}, router: {id: %q}}) { object { id } } }`, p, r0), "data", "TestPortCreate", "object", "id")
	}
	cfg := id(fmt.Sprintf(`mutation { TestConfigCreate(data: {name: {value: "c"}, router: {id: %q}}) { object { id } } }`, r0), "data", "TestConfigCreate", "object", "id")
	del := func(kind, id string) []string {
		_, out := post(t, url+"/graphql", DefaultAPIToken, fmt.Sprintf(`mutation { %sDelete(data: {id: %q}) { ok } }`, kind, id), nil)
		return errorsOf(out)
	}
	want := fmt.Sprintf("Cannot delete TestRouter '%s'. It is linked to mandatory relationship router on node TestConfig '%s' at TestConfig.router", r0, cfg)
	if msgs := del("TestRouter", r0); len(msgs) != 1 || msgs[0] != want {
		t.Errorf("delete of a router a config needs: %q", msgs)
	}
	if n, _ := s.nodeCount("TestPort"); n != 2 {
		t.Errorf("a refused delete removed ports: %d left", n)
	}
	if msgs := del("TestConfig", cfg); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	if msgs := del("TestRouter", r0); len(msgs) != 0 {
		t.Fatal(msgs)
	}
	if n, _ := s.nodeCount("TestPort"); n != 0 {
		t.Errorf("the router's ports (components) survived it: %d", n)
	}
}
