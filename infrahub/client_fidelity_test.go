package infrahub_test

// How the client classifies Infrahub's answers that the fake did not give
// before it was checked against Infrahub's source (each test names it).

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/infrahub"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
)

// TestClientLoginRefused: Infrahub answers a login with an unknown user
// with NodeNotFoundError, 404 (authenticate_with_password in
// opsmill/infrahub backend/infrahub/auth.py). That is refused credentials:
// the call fails as unauthorized, never as "not found", which a caller
// reading a node would take for a missing node.
func TestClientLoginRefused(t *testing.T) {
	_, ts := infrahubtest.NewTestServer(t, infrahubtest.Options{})
	for _, tc := range []struct{ user, password string }{{"nobody", "x"}, {infrahubtest.DefaultUsername, "wrong"}} {
		c, err := infrahub.New(infrahub.Config{Address: ts.URL, Username: tc.user, Password: tc.password})
		if err != nil {
			t.Fatal(err)
		}
		_, err = infrahub.Get[tag](t.Context(), c, "BuiltinTag", "x", "")
		if !errors.Is(err, infrahub.ErrUnauthorized) || errors.Is(err, infrahub.ErrNotFound) || !strings.Contains(err.Error(), tc.user) {
			t.Errorf("login as %s: %v (unauthorized %t, not found %t)", tc.user, err, errors.Is(err, infrahub.ErrUnauthorized), errors.Is(err, infrahub.ErrNotFound))
		}
	}
}

// TestClientPermissionDenied: an account without edit_default_branch gets
// 403 with PermissionDeniedError's message for a write on the default
// branch (DefaultBranchPermissionChecker in opsmill/infrahub
// backend/infrahub/graphql/auth/query_permission_checker/), and may write
// on a branch of its own. The error is typed.
func TestClientPermissionDenied(t *testing.T) {
	ctx := t.Context()
	_, ts := infrahubtest.NewTestServer(t, infrahubtest.Options{Accounts: []infrahubtest.Account{{APIToken: "sync-bot"}}})
	c, err := infrahub.New(infrahub.Config{Address: ts.URL, APIToken: "sync-bot", Retry: fastRetry})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("blue")}, infrahub.WriteOptions{})
	var api *infrahub.APIError
	if !errors.Is(err, infrahub.ErrPermissionDenied) || !errors.Is(err, infrahub.ErrUnauthorized) || !errors.As(err, &api) ||
		api.StatusCode != http.StatusForbidden || !strings.Contains(err.Error(), "You are not allowed to change data in the default branch") {
		t.Fatalf("write on main: %v", err)
	}
	if _, err := c.CreateBranch(ctx, infrahub.BranchInput{Name: "sync-2026"}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"name": infrahub.Value("blue")}, infrahub.WriteOptions{Branch: "sync-2026"}); err != nil {
		t.Fatalf("write on a branch: %v", err)
	}
	if err := c.MergeBranch(ctx, "sync-2026"); !errors.Is(err, infrahub.ErrPermissionDenied) {
		t.Fatalf("merge: %v", err)
	}
}

// TestClientAlreadyExists: Infrahub refuses a node with another's unique
// values ("Violates uniqueness constraint 'name'",
// backend/infrahub/core/node/constraints/grouped_uniqueness.py) or an id in
// use; both are ErrAlreadyExists. A create may give the id, a UUID.
func TestClientAlreadyExists(t *testing.T) {
	ctx := t.Context()
	_, c, _ := newFake(t, infrahubtest.Options{})
	const id = "0190a9b2-9b3c-7d4e-8f00-0123456789ab"
	ref, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"id": id, "name": infrahub.Value("blue")}, infrahub.WriteOptions{})
	if err != nil || ref.ID != id {
		t.Fatalf("create with an id: %+v %v", ref, err)
	}
	for _, data := range []infrahub.Data{
		{"name": infrahub.Value("blue")},
		{"id": id, "name": infrahub.Value("green")},
	} {
		_, err := c.Create(ctx, "BuiltinTag", data, infrahub.WriteOptions{})
		if !errors.Is(err, infrahub.ErrAlreadyExists) || errors.Is(err, infrahub.ErrNotFound) {
			t.Errorf("create %v: %v", data, err)
		}
	}
	if _, err := c.Create(ctx, "BuiltinTag", infrahub.Data{"id": "tag-1", "name": infrahub.Value("red")}, infrahub.WriteOptions{}); err == nil ||
		errors.Is(err, infrahub.ErrAlreadyExists) || !strings.Contains(err.Error(), "tag-1 is not a valid UUID at id") {
		t.Errorf("create with a non-UUID id: %v", err)
	}
	if _, err := c.Upsert(ctx, "BuiltinTag", infrahub.Data{"id": "0190a9b2-0000-7000-8000-000000000000", "name": infrahub.Value("red")}, infrahub.WriteOptions{}); !errors.Is(err, infrahub.ErrNotFound) {
		t.Errorf("upsert of an unknown id: %v", err)
	}
}
