package f5

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/f5/f5test"
)

// adcDeclarations extracts every ADC declaration in a fixture: the document
// itself, an AS3 wrapper's declaration, the items of an array, or the
// declaration of a response body.
func adcDeclarations(v any) []map[string]any {
	var out []map[string]any
	switch x := v.(type) {
	case []any:
		for _, e := range x {
			out = append(out, adcDeclarations(e)...)
		}
	case map[string]any:
		switch {
		case x["class"] == ClassADC:
			out = append(out, x)
		case x["class"] == "AS3" || x["results"] != nil:
			out = append(out, adcDeclarations(x["declaration"])...)
		}
	}
	return out
}

func TestFixtureDeclarationsRoundTrip(t *testing.T) {
	var files []string
	for _, dir := range []string{"declarations", "userguide", "per-app", "responses", "results"} {
		files = append(files, fixtureFiles(t, dir)...)
	}
	total := 0
	for _, f := range files {
		raw := readFixture(t, strings.TrimPrefix(f, "testdata/"))
		for i, adc := range adcDeclarations(generic(t, raw)) {
			total++
			in := mustJSON(t, adc)
			var d Declaration
			if err := json.Unmarshal(in, &d); err != nil {
				t.Fatalf("%s[%d]: unmarshal: %v", f, i, err)
			}
			out := mustJSON(t, &d)
			if !jsonEqual(in, out) {
				t.Errorf("%s[%d]: round trip differs:\n in: %s\nout: %s", f, i, in, out)
			}
		}
		if strings.Contains(f, "per-app") {
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				continue
			}
			for name, app := range m {
				if classOf(app) != ClassApplication {
					continue
				}
				total++
				var a Application
				if err := json.Unmarshal(app, &a); err != nil {
					t.Fatalf("%s %s: %v", f, name, err)
				}
				if out := mustJSON(t, &a); !jsonEqual(app, out) {
					t.Errorf("%s %s: round trip differs:\n in: %s\nout: %s", f, name, app, out)
				}
			}
		}
	}
	if total < 30 {
		t.Fatalf("only %d declarations found in fixtures", total)
	}
}

// TestTypedHelpersCoverCommonClasses makes sure the common classes of the
// simple fixtures decode into Go types, not Raw.
func TestTypedHelpersCoverCommonClasses(t *testing.T) {
	raw := readFixture(t, "userguide/example-https-application.json")
	var wrapper struct {
		Declaration Declaration `json:"declaration"`
	}
	if err := json.Unmarshal(raw, &wrapper); err != nil {
		t.Fatal(err)
	}
	app := wrapper.Declaration.Tenants["Sample_02"].Applications["A1"]
	wantTypes := map[string]any{"service": &Service{}, "web_pool": &Pool{}, "webtls": &TLSServer{}, "webcert": &Certificate{}}
	for name, want := range wantTypes {
		if got := app.Items[name]; reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("%s decoded as %T, want %T", name, got, want)
		}
	}
	cert := app.Items["webcert"].(*Certificate)
	for _, s := range []string{cert.String(), fmt.Sprintf("%v", cert), fmt.Sprintf("%#v", cert), fmt.Sprintf("%+v", cert.Passphrase)} {
		if strings.Contains(s, "ENCRYPTED") || strings.Contains(s, "PRIVATE") || strings.Contains(s, "ZjVmNQ") {
			t.Fatalf("certificate formatting leaks the key: %s", s)
		}
	}
}

// TestFixturesThroughTheFake posts every fixture through the door AS3
// offers for it and reads the result back.
func TestFixturesThroughTheFake(t *testing.T) {
	ctx := context.Background()
	files := append(fixtureFiles(t, "declarations"), fixtureFiles(t, "per-app")...)
	files = append(files, "testdata/userguide/example-simple-http-application.json", "testdata/userguide/example-https-application.json",
		"testdata/userguide/example-delete-tenant-big-iq.json", "testdata/userguide/example-add-new-server-to-pool-via-patch.json")
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		t.Run(name, func(t *testing.T) {
			srv, c := newPair(t, f5test.Options{})
			raw := readFixture(t, strings.TrimPrefix(f, "testdata/"))
			v := generic(t, raw)
			switch {
			case strings.Contains(name, "settings") || strings.Contains(name, "burst-handling"):
				postSettings(t, c, raw)
			case strings.Contains(name, "via-patch"):
				patchFixture(t, c, srv, name, raw)
			case strings.Contains(name, "per-app"):
				perAppFixture(t, c, raw)
			case strings.Contains(name, "multiple-declarations-container"):
				containerFixture(t, c, raw)
			default:
				res, err := c.Declare(ctx, json.RawMessage(raw), fastOpts)
				if err != nil {
					t.Fatalf("declare: %v", err)
				}
				readBack(t, c, srv, adcDeclarations(v)[0], res)
			}
		})
	}
}

// readBack checks that every posted tenant is stored as posted (deleted
// when empty, absent after a dry run), and that show=full only adds to it.
func readBack(t *testing.T, c *Client, srv *f5test.Server, posted map[string]any, res *Result) {
	t.Helper()
	dry := false
	if ctl, ok := posted["controls"].(map[string]any); ok && ctl["dryRun"] == true {
		dry = true
	}
	for name, tv := range posted {
		tenant, ok := tv.(map[string]any)
		if !ok || tenant["class"] != ClassTenant {
			continue
		}
		stored := srv.Tenant(name)
		hasApps := false
		for _, a := range tenant {
			if m, ok := a.(map[string]any); ok && m["class"] == ClassApplication {
				hasApps = true
			}
		}
		switch {
		case dry || !hasApps:
			if stored != nil {
				t.Fatalf("tenant %s stored after dry run or delete", name)
			}
			continue
		case !jsonEqual(mustJSON(t, stored), mustJSON(t, tenant)):
			t.Fatalf("tenant %s stored differently:\n%s\nposted:\n%s", name, mustJSON(t, stored), mustJSON(t, tenant))
		}
		got, err := c.Read(context.Background(), "", name)
		if err != nil {
			t.Fatal(err)
		}
		if !jsonEqual(mustJSON(t, got.Tenants[name]), mustJSON(t, tenant)) {
			t.Fatalf("GET /declare/%s differs from what was posted", name)
		}
		full, err := c.Read(context.Background(), "full", name)
		if err != nil {
			t.Fatal(err)
		}
		if !contains(generic(t, mustJSON(t, full.Tenants[name])), tenant) {
			t.Fatalf("show=full lost posted properties of %s", name)
		}
	}
	if len(res.Tenants) == 0 {
		t.Fatal("no results")
	}
}

// contains reports whether every property of want is in have (which may
// have more: AS3's defaults).
func contains(have, want any) bool {
	switch w := want.(type) {
	case map[string]any:
		h, ok := have.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			if !contains(h[k], wv) {
				return false
			}
		}
		return true
	case []any:
		h, ok := have.([]any)
		if !ok || len(h) != len(w) {
			return false
		}
		for i := range w {
			if !contains(h[i], w[i]) {
				return false
			}
		}
		return true
	default:
		return jsonEqual(mustJSONQuiet(have), mustJSONQuiet(want))
	}
}

func mustJSONQuiet(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func postSettings(t *testing.T, c *Client, raw []byte) {
	t.Helper()
	ctx := context.Background()
	if _, err := c.do(ctx, request{method: http.MethodPost, path: as3Path + "/settings", raw: raw}); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := c.getJSON(ctx, as3Path+"/settings", &got); err != nil {
		t.Fatal(err)
	}
	if !contains(got, generic(t, raw)) {
		t.Fatalf("settings read back %v, want %s", got, raw)
	}
}

// patchFixture seeds the tenant the patch addresses from the fixture's
// "-full" result (minus the patched change), then sends the patch.
func patchFixture(t *testing.T, c *Client, srv *f5test.Server, name string, raw []byte) {
	t.Helper()
	ctx := context.Background()
	var ops []PatchOp
	if err := json.Unmarshal(raw, &ops); err != nil {
		t.Fatal(err)
	}
	var seedFile string
	switch name {
	case "example-add-application-to-tenant-via-patch":
		seedFile = "results/example-add-application-to-tenant-via-patch-full.json"
	default:
		seedFile = "userguide/example-add-new-server-to-pool-via-patch-full.json"
	}
	after := generic(t, readFixture(t, seedFile)).(map[string]any)["declaration"].(map[string]any)
	before := generic(t, mustJSON(t, after)).(map[string]any)
	delete(before, "controls")
	before["class"], before["schemaVersion"] = ClassADC, "3.0.0"
	for _, op := range ops {
		if err := removeAt(before, op.Path); err != nil {
			t.Fatalf("derive seed: %v", err)
		}
	}
	if _, err := c.Declare(ctx, before, fastOpts); err != nil {
		t.Fatalf("seed: %v", err)
	}
	res, err := c.Patch(ctx, ops, fastOpts)
	if err != nil {
		t.Fatalf("patch: %v", err)
	}
	tenant := strings.Split(ops[0].Path, "/")[1]
	if !jsonEqual(mustJSON(t, srv.Tenant(tenant)), mustJSON(t, after[tenant])) {
		t.Fatalf("after patch:\n%s\nwant:\n%s", mustJSON(t, srv.Tenant(tenant)), mustJSON(t, after[tenant]))
	}
	if res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("patch result %+v", res.Tenants)
	}
}

// removeAt undoes an "add" at a JSON pointer ("-" means the last element).
func removeAt(doc map[string]any, ptr string) error {
	parts := strings.Split(strings.TrimPrefix(ptr, "/"), "/")
	var cur any = doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch x := cur.(type) {
		case map[string]any:
			if last {
				delete(x, p)
				return nil
			}
			cur = x[p]
		case []any:
			if last && p == "-" {
				return setLast(doc, parts[:i], x[:len(x)-1])
			}
			idx := 0
			for _, ch := range p {
				idx = idx*10 + int(ch-'0')
			}
			cur = x[idx]
		}
	}
	return nil
}

func setLast(doc map[string]any, parts []string, arr []any) error {
	var cur any = doc
	for i, p := range parts {
		if i == len(parts)-1 {
			cur.(map[string]any)[p] = arr
			return nil
		}
		switch x := cur.(type) {
		case map[string]any:
			cur = x[p]
		case []any:
			idx := 0
			for _, ch := range p {
				idx = idx*10 + int(ch-'0')
			}
			cur = x[idx]
		}
	}
	return nil
}

func perAppFixture(t *testing.T, c *Client, raw []byte) {
	t.Helper()
	ctx := context.Background()
	res, err := c.DeclareApplications(ctx, "PerAppTenant", json.RawMessage(raw), fastOpts)
	if err != nil || len(res.Tenants) != 1 || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("per-app post: %v %+v", err, res)
	}
	var apps map[string]any
	if err := c.getJSON(ctx, as3Path+"/declare/PerAppTenant/applications", &apps); err != nil {
		t.Fatal(err)
	}
	posted := generic(t, raw).(map[string]any)
	for _, k := range []string{"id", "schemaVersion", "controls"} {
		delete(posted, k)
	}
	if !jsonEqual(mustJSON(t, apps), mustJSON(t, posted)) {
		t.Fatalf("per-app read back:\n%s\nwant:\n%s", mustJSON(t, apps), mustJSON(t, posted))
	}
	// The typed form marshals to the same document.
	var typed PerApp
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	typed.Applications = map[string]*Application{}
	for k, v := range m {
		switch k {
		case "schemaVersion", "id":
			_ = json.Unmarshal(v, map[string]*string{"schemaVersion": &typed.SchemaVersion, "id": &typed.ID}[k])
		case "controls":
			typed.Controls = &Controls{}
			_ = json.Unmarshal(v, typed.Controls)
		default:
			a := &Application{}
			if err := json.Unmarshal(v, a); err != nil {
				t.Fatal(err)
			}
			typed.Applications[k] = a
		}
	}
	if !jsonEqual(mustJSON(t, &typed), raw) {
		t.Fatalf("PerApp marshals differently:\n%s", mustJSON(t, &typed))
	}
}

// containerFixture posts the array of AS3 requests; its first item
// redeploys the declaration of age 2, so three declarations go first.
func containerFixture(t *testing.T, c *Client, raw []byte) {
	t.Helper()
	ctx := context.Background()
	for i, vip := range []string{"192.0.2.1", "192.0.2.2", "192.0.2.3"} {
		if _, err := c.Declare(ctx, simpleDecl("History", string(rune('a'+i)), vip, "192.0.2.100"), fastOpts); err != nil {
			t.Fatal(err)
		}
	}
	r, err := c.do(ctx, request{method: http.MethodPost, path: as3Path + "/declare", raw: raw})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		Items []struct {
			Code    int            `json:"code"`
			Results []TenantResult `json:"results"`
		} `json:"items"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil || len(body.Items) != 2 {
		t.Fatalf("container answer %s: %v", r.body, err)
	}
	for i, it := range body.Items {
		if it.Code != http.StatusOK {
			t.Fatalf("item %d: code %d", i, it.Code)
		}
	}
	got, err := c.Read(ctx, "", "AS3Request_Tenant1")
	if err != nil || got.Tenants["AS3Request_Tenant1"] == nil {
		t.Fatalf("container tenant not stored: %v", err)
	}
	want := adcDeclarations(generic(t, raw))[0]["AS3Request_Tenant1"]
	if !jsonEqual(mustJSON(t, got.Tenants["AS3Request_Tenant1"]), mustJSON(t, want)) {
		t.Fatal("container tenant read back differs")
	}
}

func TestEveryFixtureResponseDecodes(t *testing.T) {
	files := append(fixtureFiles(t, "responses"), fixtureFiles(t, "results")...)
	files = append(files, "testdata/userguide/example-https-application-full.json", "testdata/userguide/example-simple-http-application-full.json",
		"testdata/userguide/example-add-new-server-to-pool-via-patch-full.json")
	for _, f := range files {
		raw := readFixture(t, strings.TrimPrefix(f, "testdata/"))
		base := filepath.Base(f)
		r := &response{status: http.StatusOK, body: raw}
		switch {
		case strings.Contains(base, "info"):
			var info Info
			if err := json.Unmarshal(raw, &info); err != nil || info.Version == "" {
				t.Errorf("%s: %v", base, err)
			}
		case strings.Contains(base, "get-declare"):
			var d Declaration
			if err := json.Unmarshal(raw, &d); err != nil || len(d.Tenants) != 1 {
				t.Errorf("%s: %v", base, err)
			}
		case strings.Contains(base, "settings"):
			continue
		case strings.Contains(base, "error") || base == "as3-task-404.json" || strings.Contains(base, "burst-queue-full"):
			e := decodeError(http.MethodGet, "/x", http.StatusServiceUnavailable, raw)
			if e.Message == "" {
				t.Errorf("%s: no message in %+v", base, e)
			}
			if strings.Contains(base, "422") && len(e.Errors) != 1 {
				t.Errorf("%s: errors not decoded: %+v", base, e)
			}
		default:
			res, err := decodeResult(r)
			if err != nil || len(res.Tenants) == 0 {
				t.Errorf("%s: %v %+v", base, err, res)
				continue
			}
			if strings.Contains(base, "in-progress") || strings.Contains(base, "async-202") {
				if res.Tenants[0].Outcome() != OutcomeInProgress || res.TaskID == "" {
					t.Errorf("%s: want in progress with task id, got %+v", base, res)
				}
			}
			if strings.Contains(base, "invalid-422") && (res.Tenants[0].Outcome() != OutcomeFailed || len(res.Tenants[0].Errors) != 1) {
				t.Errorf("%s: want failed with errors, got %+v", base, res)
			}
			if strings.Contains(base, "503-busy") && taskBusy(res) == nil {
				t.Errorf("%s: busy task not recognised", base)
			}
			if len(res.Declaration) > 2 && classOf(res.Declaration) == ClassADC {
				var d Declaration
				if err := json.Unmarshal(res.Declaration, &d); err != nil {
					t.Errorf("%s: declaration: %v", base, err)
				}
			}
		}
	}
}
