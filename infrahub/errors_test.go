package infrahub

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestNewAPIErrorShapes(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   []string
		is     error
	}{
		// REST shape (backend/infrahub/api/exception_handlers.py), NodeNotFoundError's message.
		{"infrahub rest errors", 404, `{"data":null,"errors":[{"message":"Unable to find the node x / CoreArtifact in the database.","extensions":{"code":404}}]}`,
			[]string{"Unable to find the node x / CoreArtifact in the database."}, ErrNotFound},
		// The GraphQL endpoint's own answers: a list of strings (backend/infrahub/graphql/app.py).
		{"graphql string errors", 400, `{"errors":["This server does not support batching"]}`, []string{"This server does not support batching"}, nil},
		{"fastapi detail", 401, `{"detail":"Not authenticated"}`, []string{"Not authenticated"}, ErrUnauthorized},
		{"fastapi validation", 422, `{"detail":[{"loc":["body","username"],"msg":"field required"}]}`, []string{`[{"loc":["body","username"],"msg":"field required"}]`}, nil},
		{"plain text", 502, "Bad gateway from proxy", []string{"Bad gateway from proxy"}, nil},
		{"long html", 500, "<html>" + strings.Repeat("x", 500), []string{"<html>" + strings.Repeat("x", 194) + "..."}, nil},
		{"empty", 503, "", nil, nil},
	}
	for _, tc := range tests {
		e := newAPIError(http.MethodGet, "/api/x", tc.status, []byte(tc.body))
		if strings.Join(e.Messages, "|") != strings.Join(tc.want, "|") {
			t.Errorf("%s: messages %q, want %q", tc.name, e.Messages, tc.want)
		}
		if tc.is != nil && !errors.Is(e, tc.is) {
			t.Errorf("%s: not %v", tc.name, tc.is)
		}
		if tc.is == nil && (errors.Is(e, ErrNotFound) || errors.Is(e, ErrUnauthorized)) {
			t.Errorf("%s: matches a sentinel it should not", tc.name)
		}
		if !strings.Contains(e.Error(), "/api/x") {
			t.Errorf("%s: %q does not name the path", tc.name, e.Error())
		}
	}
	if !strings.Contains(newAPIError("GET", "/p", 503, nil).Error(), "Service Unavailable") {
		t.Error("empty body does not fall back to the status text")
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want time.Duration
	}{
		{"", false, 0},
		{"5", true, 5 * time.Second},
		{"0", true, 0},
		{"-1", false, 0},
		{"soon", false, 0},
		{time.Now().Add(-time.Hour).UTC().Format(http.TimeFormat), true, 0},
	}
	for _, tc := range tests {
		got, ok := retryAfter(tc.in)
		if ok != tc.ok || got != tc.want {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
	future := time.Now().Add(30 * time.Second).UTC().Format(http.TimeFormat)
	if got, ok := retryAfter(future); !ok || got <= 25*time.Second || got > 30*time.Second {
		t.Errorf("retryAfter(date in 30s) = %s, %v", got, ok)
	}
}

func TestGraphQLErrorIsNotFound(t *testing.T) {
	tests := []struct {
		msgs []string
		want bool
	}{
		{[]string{"Unable to find the node x / BuiltinTag in the database."}, true},
		{[]string{"Branch: x not found."}, true},
		{[]string{"Unable to find the node x", "Violates uniqueness constraint"}, false},
		{nil, false},
	}
	for _, tc := range tests {
		e := &GraphQLError{Operation: "op"}
		for _, m := range tc.msgs {
			e.Errors = append(e.Errors, GraphQLErrorItem{Message: m})
		}
		if got := errors.Is(e, ErrNotFound); got != tc.want {
			t.Errorf("%q: Is(ErrNotFound) = %v", tc.msgs, got)
		}
	}
}

// TestUnknownBranchShapes: Infrahub answers an unknown branch with 404 and
// {"errors": ["Branch: <name> not found."]} on /graphql/<branch>
// (backend/infrahub/graphql/app.py) and with BranchNotFoundError's
// HTTP_CODE 400 in the REST envelope on REST endpoints
// (backend/infrahub/exceptions.py, api/exception_handlers.py). Both become
// the typed not-found error.
func TestUnknownBranchShapes(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		body               string
	}{
		{"graphql", http.MethodPost, "/graphql/feat-x", 404, `{"errors":["Branch: feat-x not found."]}`},
		{"rest", http.MethodGet, "/api/schema", 400, `{"data":null,"errors":[{"message":"Branch: feat-x not found.","extensions":{"code":400}}]}`},
	}
	for _, tc := range tests {
		err := answerError(tc.method, tc.path, tc.status, []byte(tc.body))
		var nf *NotFoundError
		var api *APIError
		if !errors.As(err, &nf) || nf.Kind != KindBranch || nf.ID != "feat-x" || nf.Branch != "feat-x" {
			t.Errorf("%s: %#v, want a branch NotFoundError", tc.name, err)
			continue
		}
		if !errors.Is(err, ErrNotFound) || !errors.Is(err, ErrBranchNotFound) || !errors.As(err, &api) || api.StatusCode != tc.status {
			t.Errorf("%s: %v does not match the sentinels or keep the answer", tc.name, err)
		}
		if msg := err.Error(); !strings.Contains(msg, `branch "feat-x" not found`) || !strings.Contains(msg, tc.path) {
			t.Errorf("%s: message %q", tc.name, msg)
		}
	}
	// Other 400s and node-not-found 404s are not branch errors.
	for _, body := range []string{`{"data":null,"errors":[{"message":"Unable to process the request","extensions":{"code":400}}]}`, `{"errors":["Branch: not found."]}`} {
		if err := answerError("GET", "/api/x", 400, []byte(body)); errors.Is(err, ErrNotFound) {
			t.Errorf("%s: %v is a not-found error", body, err)
		}
	}
	err := answerError("GET", "/api/storage/object/x", 404, []byte(`{"data":null,"errors":[{"message":"Unable to find the node x / StorageObject in the database.","extensions":{"code":404}}]}`))
	if !errors.Is(err, ErrNotFound) || errors.Is(err, ErrBranchNotFound) {
		t.Errorf("node not found: %v", err)
	}
}

// TestGraphQLErrorClasses: GraphQL errors are classified by Infrahub's
// messages (1.x) and by the catalogue codes Infrahub 1.11 adds in
// extensions.code (backend/infrahub/errors/catalogue.py,
// graphql/error_formatter.py: {"code": "NODE_NOT_FOUND", "http_status":
// 404, "data": {...}}).
func TestGraphQLErrorClasses(t *testing.T) {
	code := func(c string) map[string]any {
		return map[string]any{"code": c, "http_status": 403, "data": map[string]any{}}
	}
	tests := []struct {
		item GraphQLErrorItem
		is   []error
	}{
		{GraphQLErrorItem{Message: "Violates uniqueness constraint 'device-name'"}, []error{ErrAlreadyExists}},
		{GraphQLErrorItem{Message: "Violates uniqueness constraint 'name' at name"}, []error{ErrAlreadyExists}},
		{GraphQLErrorItem{Message: "An object already exist with this value: name: JFK1 at name"}, []error{ErrAlreadyExists}},
		{GraphQLErrorItem{Message: "0190a9b2-9b3c-7d4e-8f00-0123456789ab is already in use at id"}, []error{ErrAlreadyExists}},
		{GraphQLErrorItem{Message: "Branch: feat-x not found."}, []error{ErrNotFound, ErrBranchNotFound}},
		{GraphQLErrorItem{Message: "x", Extensions: code("NODE_NOT_FOUND")}, []error{ErrNotFound}},
		{GraphQLErrorItem{Message: "x", Extensions: code("BRANCH_NOT_FOUND")}, []error{ErrNotFound, ErrBranchNotFound}},
		{GraphQLErrorItem{Message: "x", Extensions: code("PERMISSION_DENIED")}, []error{ErrPermissionDenied, ErrUnauthorized}},
		{GraphQLErrorItem{Message: "x", Extensions: code("TOKEN_EXPIRED")}, []error{ErrUnauthorized}},
		{GraphQLErrorItem{Message: "x", Extensions: code("AUTHENTICATION_REQUIRED")}, []error{ErrUnauthorized}},
		{GraphQLErrorItem{Message: "1.5 is not a valid Number at mtu", Extensions: code("ATTRIBUTE_INVALID_TYPE")}, nil},
	}
	all := []error{ErrNotFound, ErrBranchNotFound, ErrAlreadyExists, ErrPermissionDenied, ErrUnauthorized}
	for _, tc := range tests {
		e := &GraphQLError{Operation: "op", Errors: []GraphQLErrorItem{tc.item}}
		for _, target := range all {
			want := slices.Contains(tc.is, target)
			if got := errors.Is(e, target); got != want {
				t.Errorf("%q %v: Is(%v) = %v", tc.item.Message, tc.item.Extensions["code"], target, got)
			}
		}
	}
	if err := answerError("POST", "/graphql", 403, []byte(`{"data":null,"errors":[{"message":"You are not allowed to change data in the default branch","extensions":{"code":403}}]}`)); !errors.Is(err, ErrPermissionDenied) || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("403: %v", err)
	}
	if err := answerError("POST", "/graphql", 401, []byte(`{"data":null,"errors":[{"message":"Invalid token","extensions":{"code":401}}]}`)); errors.Is(err, ErrPermissionDenied) || !errors.Is(err, ErrUnauthorized) {
		t.Errorf("401: %v", err)
	}
}
