package f5

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/f5/f5test"
)

func TestDeclareAsyncThenNoChange(t *testing.T) {
	srv, c := newPair(t, f5test.Options{TaskDuration: 5 * time.Millisecond})
	ctx := context.Background()
	d := simpleDecl("T1", "d1", "192.0.2.10", "192.0.2.11", "192.0.2.12")

	res, err := c.Declare(ctx, d, fastOpts)
	if err != nil {
		t.Fatal(err)
	}
	if res.TaskID == "" || len(res.Tenants) != 1 || res.Tenants[0].Outcome() != OutcomeSuccess || !res.Changed() {
		t.Fatalf("first declare: %+v", res)
	}
	res, err = c.Declare(ctx, d, fastOpts)
	if err != nil {
		t.Fatal(err)
	}
	if got := res.Tenants[0].Outcome(); got != OutcomeNoChange || res.Changed() {
		t.Fatalf("second declare: outcome %v, want no change", got)
	}
	if n := len(srv.Applied()); n != 1 {
		t.Fatalf("device applied %d changes, want 1", n)
	}
}

func TestDeclareSyncAndReadBack(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	d := simpleDecl("T1", "d1", "192.0.2.10", "192.0.2.11")
	res, err := c.Declare(ctx, d, &DeclareOptions{Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	if res.HTTPStatus != http.StatusOK || res.TaskID != "" {
		t.Fatalf("sync declare: status %d task %q", res.HTTPStatus, res.TaskID)
	}
	got, err := c.Read(ctx, "", "T1")
	if err != nil {
		t.Fatal(err)
	}
	diff, err := Compare(d, got)
	if err != nil {
		t.Fatal(err)
	}
	if !diff.Empty() {
		t.Fatalf("read back differs:\n%s", diff)
	}
	if p, ok := got.Tenants["T1"].Applications["app"].Items["web_pool"].(*Pool); !ok || len(p.Members[0].ServerAddresses) != 1 {
		t.Fatalf("typed pool not decoded: %#v", got.Tenants["T1"].Applications["app"].Items["web_pool"])
	}
}

func TestDeclareValidationErrorIsTyped(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"unknown property on Pool", `{"class":"ADC","schemaVersion":"3.50.0","T":{"class":"Tenant","A":{"class":"Application","p":{"class":"Pool","colour":"blue"}}}}`,
			`/T/A/p: should NOT have additional properties`},
		{"bad IP address", `{"class":"ADC","schemaVersion":"3.50.0","T":{"class":"Tenant","A":{"class":"Application","s":{"class":"Service_HTTP","virtualAddresses":["192.0.2.300"]}}}}`,
			`/T/A/s/virtualAddresses/0: should match format "f5ip"`},
		{"missing class", `{"class":"ADC","schemaVersion":"3.50.0","T":{"class":"Tenant","A":{"class":"Application","p":{"members":[]}}}}`,
			`/T/A/p: should have required property 'class'`},
	}
	for _, tc := range tests {
		for _, sync := range []bool{true, false} {
			t.Run(tc.name, func(t *testing.T) {
				_, c := newPair(t, f5test.Options{})
				opts := *fastOpts
				opts.Sync = sync
				res, err := c.Declare(context.Background(), json.RawMessage(tc.body), &opts)
				var de *DeclareError
				if !errors.As(err, &de) {
					t.Fatalf("err = %v, want *DeclareError", err)
				}
				if res == nil || res.Tenants[0].Code != http.StatusUnprocessableEntity {
					t.Fatalf("result %+v, want code 422", res)
				}
				if errs := de.ValidationErrors(); len(errs) != 1 || !strings.HasPrefix(errs[0], tc.want) {
					t.Fatalf("errors %q, want prefix %q", errs, tc.want)
				}
			})
		}
	}
}

func TestDeclarePartialSuccess207(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	srv.FailTenant("Bad", "01020036:3: The requested monitor (/Common/nope) was not found.")
	d := simpleDecl("Good", "d1", "192.0.2.10", "192.0.2.11")
	d.Tenants["Bad"] = simpleDecl("Bad", "d1", "192.0.2.20", "192.0.2.21").Tenants["Bad"]
	res, err := c.Declare(context.Background(), d, &DeclareOptions{Sync: true})
	var de *DeclareError
	if !errors.As(err, &de) {
		t.Fatalf("err = %v, want *DeclareError", err)
	}
	if res.HTTPStatus != http.StatusMultiStatus {
		t.Fatalf("HTTP %d, want 207", res.HTTPStatus)
	}
	failed := res.Failed()
	if len(failed) != 1 || !slices.Equal(failed[0].Tenants, []string{"Bad"}) || failed[0].Message != "declaration failed" || !strings.Contains(failed[0].Response, "01020036") {
		t.Fatalf("failed = %+v", failed)
	}
	if srv.Tenant("Good") == nil || srv.Tenant("Bad") != nil {
		t.Fatal("good tenant must be applied, bad one not")
	}
}

func TestDeclareVirtualAddressConflictFailsThatTenant(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	if _, err := c.Declare(ctx, simpleDecl("A", "a", "192.0.2.10", "192.0.2.11"), fastOpts); err != nil {
		t.Fatal(err)
	}
	res, err := c.Declare(ctx, simpleDecl("B", "b", "192.0.2.10", "192.0.2.12"), fastOpts)
	var de *DeclareError
	if !errors.As(err, &de) || len(res.Failed()) != 1 || !strings.Contains(res.Failed()[0].Response, "illegally shares destination") {
		t.Fatalf("err = %v, result %+v", err, res)
	}
}

func TestTenantReplaceAndDelete(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	d := simpleDecl("T", "1", "192.0.2.10", "192.0.2.11")
	d.Tenants["T"].Applications["second"] = simpleDecl("T", "1", "192.0.2.20", "192.0.2.21").Tenants["T"].Applications["app"]
	if _, err := c.Declare(ctx, d, fastOpts); err != nil {
		t.Fatal(err)
	}
	delete(d.Tenants["T"].Applications, "second")
	if _, err := c.Declare(ctx, d, fastOpts); err != nil {
		t.Fatal(err)
	}
	if _, ok := srv.Tenant("T")["second"]; ok {
		t.Fatal("application missing from the posted tenant must be removed")
	}
	// A tenant with only its class deletes it.
	empty := &Declaration{SchemaVersion: "3.50.0", Tenants: map[string]*Tenant{"T": {}}}
	res, err := c.Declare(ctx, empty, fastOpts)
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("delete by empty tenant: %v %+v", err, res)
	}
	if srv.Tenant("T") != nil {
		t.Fatal("tenant still present")
	}
	got, err := c.Read(ctx, "")
	if err != nil || len(got.Tenants) != 0 {
		t.Fatalf("read after delete: %v %+v", err, got)
	}
}

func TestDeleteTenantsAndPatch(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	if _, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), fastOpts); err != nil {
		t.Fatal(err)
	}
	res, err := c.Patch(ctx, []PatchOp{{Op: "add", Path: "/T/app/web_pool/members/0/serverAddresses/-", Value: "192.0.2.12"}}, fastOpts)
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("patch: %v %+v", err, res)
	}
	got, err := c.Read(ctx, "", "T")
	if err != nil {
		t.Fatal(err)
	}
	if addrs := got.Tenants["T"].Applications["app"].Items["web_pool"].(*Pool).Members[0].ServerAddresses; len(addrs) != 2 || addrs[1] != "192.0.2.12" {
		t.Fatalf("patched addresses = %v", addrs)
	}
	if _, err := c.Patch(ctx, []PatchOp{{Op: "frobnicate", Path: "/T"}}, nil); err == nil {
		t.Fatal("bad op accepted")
	}
	res, err = c.DeleteTenants(ctx, fastOpts, "T")
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess || srv.Tenant("T") != nil {
		t.Fatalf("delete: %v %+v", err, res)
	}
	if _, err := c.DeleteTenants(ctx, nil); err == nil {
		t.Fatal("delete without tenants accepted")
	}
}

func TestDryRunChangesNothing(t *testing.T) {
	srv, c := newPair(t, f5test.Options{})
	opts := *fastOpts
	opts.DryRun = true
	res, err := c.Declare(context.Background(), simpleDecl("T", "1", "192.0.2.10", "192.0.2.11"), &opts)
	if err != nil || res.Tenants[0].Outcome() != OutcomeSuccess {
		t.Fatalf("dry run: %v %+v", err, res)
	}
	if srv.Tenant("T") != nil {
		t.Fatal("dry run changed the device")
	}
}

func TestInfo(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	info, err := c.Info(context.Background())
	if err != nil || info.Version == "" || info.SchemaCurrent == "" {
		t.Fatalf("info: %v %+v", err, info)
	}
}

func TestPlanReportsReadableDiff(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	d := simpleDecl("T", "1", "192.0.2.10", "192.0.2.11")
	diff, err := c.Plan(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if len(diff) != 1 || diff[0].Kind != "add" || diff[0].Path != "/T" {
		t.Fatalf("plan before deploy = %v", diff)
	}
	if _, err := c.Declare(ctx, d, fastOpts); err != nil {
		t.Fatal(err)
	}
	// AS3 rewrites metadata: a different id/label/schemaVersion is no change.
	d.ID, d.Label, d.SchemaVersion = "2", "relabelled", "3.56.0"
	if diff, err = c.Plan(ctx, d); err != nil || !diff.Empty() {
		t.Fatalf("plan after deploy: %v\n%s", err, diff)
	}
	d.Tenants["T"].Applications["app"].Items["web_pool"].(*Pool).Members[0].ServerAddresses = []string{"192.0.2.99"}
	diff, err = c.Plan(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	want := `~ /T/app/web_pool/members/0/serverAddresses/0: "192.0.2.11" -> "192.0.2.99"` + "\n"
	if diff.String() != want {
		t.Fatalf("diff:\n%s\nwant:\n%s", diff, want)
	}
}

func TestBadInputIsRefusedBeforeSending(t *testing.T) {
	c, err := New(Config{BaseURL: "http://127.0.0.1:1", Username: "a", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var nilDecl *Declaration
	calls := []struct {
		name string
		call func() error
		want string
	}{
		{"nil body", func() error { _, err := c.Declare(ctx, nil, nil); return err }, "body is nil"},
		{"nil declaration", func() error { _, err := c.Declare(ctx, nilDecl, nil); return err }, "body is nil"},
		{"tenant with comma", func() error {
			_, err := c.Declare(ctx, simpleDecl("T", "1", "192.0.2.1"), &DeclareOptions{Tenants: []string{"a,b"}})
			return err
		}, "DeclareOptions.Tenants"},
		{"read tenant with slash", func() error { _, err := c.Read(ctx, "", "a/b"); return err }, "invalid tenant name"},
		{"delete tenant with query", func() error { _, err := c.DeleteTenants(ctx, nil, "a?x"); return err }, "invalid tenant name"},
		{"patch path outside tenant", func() error { _, err := c.Patch(ctx, []PatchOp{{Op: "add", Path: "x"}}, nil); return err }, "must start with /tenant"},
	}
	for _, tc := range calls {
		if err := tc.call(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to mention %q", tc.name, err, tc.want)
		}
	}
}

func TestPatchAfterDeletingAnotherTenant(t *testing.T) {
	_, c := newPair(t, f5test.Options{})
	ctx := context.Background()
	for _, d := range []*Declaration{simpleDecl("A", "1", "192.0.2.1", "192.0.2.11"), simpleDecl("B", "2", "192.0.2.2", "192.0.2.12")} {
		if _, err := c.Declare(ctx, d, fastOpts); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteTenants(ctx, fastOpts, "A"); err != nil {
		t.Fatal(err)
	}
	got, err := c.Read(ctx, "")
	if err != nil || got.SchemaVersion == "" || len(got.Tenants) != 1 {
		t.Fatalf("after delete: %v %+v", err, got)
	}
	if _, err := c.Patch(ctx, []PatchOp{{Op: "replace", Path: "/B/app/web_pool/members/0/servicePort", Value: 8080}}, fastOpts); err != nil {
		t.Fatal(err)
	}
	got, err = c.Read(ctx, "", "B")
	if err != nil || got.Tenants["B"].Applications["app"].Items["web_pool"].(*Pool).Members[0].ServicePort != 8080 {
		t.Fatalf("patch after delete: %v", err)
	}
}
