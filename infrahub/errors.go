package infrahub

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Sentinel errors callers branch on with errors.Is. Typed errors below
// match them where it makes sense.
var (
	// ErrNotFound: a node, branch, artifact or object does not exist.
	ErrNotFound = errors.New("infrahub: not found")
	// ErrUnauthorized: the credentials were refused (after one re-login).
	ErrUnauthorized = errors.New("infrahub: unauthorized")
	// ErrBranchNotFound: the branch a call named does not exist. The error
	// is a *NotFoundError with Kind KindBranch, or a *GraphQLError for a
	// branch mutation naming an unknown branch; both match ErrNotFound
	// too.
	ErrBranchNotFound = errors.New("infrahub: branch not found")
	// ErrPermissionDenied: the account is known but lacks a permission,
	// for example edit_default_branch for a write on the default branch
	// (HTTP 403). It matches ErrUnauthorized too.
	ErrPermissionDenied = errors.New("infrahub: permission denied")
	// ErrAlreadyExists: a create or update would give a node the values of
	// another node's unique attribute, uniqueness constraint or
	// human-friendly id, or an id already in use. Upsert, or Update of the
	// existing node, is the way out.
	ErrAlreadyExists = errors.New("infrahub: already exists")
)

// KindBranch is NotFoundError.Kind for a branch that does not exist.
const KindBranch = "Branch"

// GraphQLErrorItem is one entry of a GraphQL "errors" array.
type GraphQLErrorItem struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path,omitempty"`
	Locations  []Location     `json:"locations,omitempty"`
	Extensions map[string]any `json:"extensions,omitempty"`
}

// Location is a position in a GraphQL document.
type Location struct {
	Line   int `json:"line"`
	Column int `json:"column"`
}

// GraphQLError is returned when Infrahub answers a GraphQL request with an
// "errors" array (Infrahub does so with HTTP 200).
type GraphQLError struct {
	// Operation names what was being done, for example "BuiltinTagCreate".
	Operation string
	Errors    []GraphQLErrorItem
}

// Error lists the messages with their paths.
func (e *GraphQLError) Error() string {
	msgs := make([]string, len(e.Errors))
	for i, it := range e.Errors {
		msgs[i] = it.Message
		if len(it.Path) > 0 {
			msgs[i] += fmt.Sprintf(" (path %v)", it.Path)
		}
	}
	return fmt.Sprintf("infrahub graphql %s: %s", e.Operation, strings.Join(msgs, "; "))
}

// Is reports whether every error of the answer is of target's class:
//
//   - ErrNotFound: a message saying something was not found ("Unable to
//     find the node <id> / <kind> in the database.", NodeNotFoundError in
//     opsmill/infrahub backend/infrahub/exceptions.py) or the catalogue code
//     NODE_NOT_FOUND (Infrahub 1.11, backend/infrahub/errors/catalogue.py);
//   - ErrBranchNotFound: "Branch: <name> not found." or BRANCH_NOT_FOUND;
//   - ErrAlreadyExists: "Violates uniqueness constraint '<fields>'"
//     (backend/infrahub/core/node/constraints/grouped_uniqueness.py),
//     "An object already exist with this value" (releases before 1.0,
//     NodeAttributeUniquenessConstraint) or "<id> is already in use at id"
//     (Node.new in backend/infrahub/core/node/__init__.py);
//   - ErrPermissionDenied: PERMISSION_DENIED; ErrUnauthorized: that, or
//     AUTHENTICATION_REQUIRED or TOKEN_EXPIRED.
func (e *GraphQLError) Is(target error) bool {
	if len(e.Errors) == 0 {
		return false
	}
	for _, it := range e.Errors {
		if !it.is(target) {
			return false
		}
	}
	return true
}

func (it GraphQLErrorItem) is(target error) bool {
	code, _ := it.Extensions["code"].(string)
	m := strings.ToLower(it.Message)
	switch target {
	case ErrNotFound:
		return code == "NODE_NOT_FOUND" || code == "BRANCH_NOT_FOUND" || strings.Contains(m, "not found") || strings.Contains(m, "unable to find")
	case ErrBranchNotFound:
		return code == "BRANCH_NOT_FOUND" || branchName(it.Message) != ""
	case ErrAlreadyExists:
		return strings.Contains(m, "violates uniqueness constraint") || strings.Contains(m, "an object already exist with this value") ||
			strings.HasSuffix(m, "is already in use at id")
	case ErrPermissionDenied:
		return code == "PERMISSION_DENIED"
	case ErrUnauthorized:
		return code == "PERMISSION_DENIED" || code == "AUTHENTICATION_REQUIRED" || code == "TOKEN_EXPIRED"
	}
	return false
}

// branchName returns <name> of BranchNotFoundError's message "Branch:
// <name> not found.", or "".
func branchName(msg string) string {
	name, ok := strings.CutPrefix(msg, "Branch: ")
	if name, ok2 := strings.CutSuffix(name, " not found."); ok && ok2 {
		return name
	}
	return ""
}

// APIError is a non-2xx HTTP answer from Infrahub (REST, or GraphQL
// transport-level). An unknown branch is not an APIError but a
// *NotFoundError wrapping one.
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	// Messages are the error messages of the body: Infrahub's REST shape
	// {"errors":[{"message"}]}, the GraphQL endpoint's own {"errors":
	// ["..."]} (a list of strings, for example for an unknown branch),
	// FastAPI's {"detail"}, or the start of a body of another shape.
	Messages []string
}

// Error names the request, the status and the server's messages.
func (e *APIError) Error() string {
	msg := http.StatusText(e.StatusCode)
	if len(e.Messages) > 0 {
		msg = strings.Join(e.Messages, "; ")
	}
	return fmt.Sprintf("infrahub %s %s: HTTP %d: %s", e.Method, e.Path, e.StatusCode, msg)
}

// Is maps 404 to ErrNotFound, 401 and 403 to ErrUnauthorized and 403 to
// ErrPermissionDenied (PermissionDeniedError's HTTP_CODE in opsmill/infrahub
// backend/infrahub/exceptions.py).
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	case ErrPermissionDenied:
		return e.StatusCode == http.StatusForbidden
	}
	return false
}

// NotFoundError is returned by Get and GetByHFID when no node matches, and
// by any call naming a branch that does not exist (Kind KindBranch, ID
// and Branch the branch's name, Err the server's answer).
type NotFoundError struct {
	Kind   string
	ID     string
	HFID   []string
	Branch string
	// Err is the server's answer when there was one (an *APIError).
	Err error
}

// Error names the kind, the key and the branch.
func (e *NotFoundError) Error() string {
	if e.Kind == KindBranch {
		var api *APIError
		if errors.As(e.Err, &api) {
			return fmt.Sprintf("infrahub %s %s: branch %q not found (HTTP %d)", api.Method, api.Path, e.ID, api.StatusCode)
		}
		return fmt.Sprintf("infrahub: branch %q not found", e.ID)
	}
	key := fmt.Sprintf("id %q", e.ID)
	if e.ID == "" {
		key = fmt.Sprintf("hfid %q", e.HFID)
	}
	b := ""
	if e.Branch != "" {
		b = " on branch " + e.Branch
	}
	return fmt.Sprintf("infrahub: %s with %s not found%s", e.Kind, key, b)
}

// Is reports ErrNotFound, and ErrBranchNotFound for a branch.
func (e *NotFoundError) Is(target error) bool {
	return target == ErrNotFound || target == ErrBranchNotFound && e.Kind == KindBranch
}

// Unwrap returns the server's answer.
func (e *NotFoundError) Unwrap() error { return e.Err }

// answerError turns a non-2xx answer into an error: a *NotFoundError for an
// unknown branch, else an *APIError. Infrahub raises BranchNotFoundError
// with the message "Branch: <name> not found." (opsmill/infrahub
// backend/infrahub/exceptions.py); the GraphQL endpoint answers it with 404
// and {"errors": ["<message>"]} (backend/infrahub/graphql/app.py), REST
// endpoints with the exception's HTTP_CODE 400 and {"data": null, "errors":
// [{"message", "extensions": {"code": 400}}]}
// (backend/infrahub/api/exception_handlers.py).
func answerError(method, path string, status int, body []byte) error {
	e := newAPIError(method, path, status, body)
	if status == http.StatusNotFound || status == http.StatusBadRequest {
		for _, m := range e.Messages {
			if name := branchName(m); name != "" {
				return &NotFoundError{Kind: KindBranch, ID: name, Branch: name, Err: e}
			}
		}
	}
	return e
}

// newAPIError builds an APIError from a response body of any shape.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: status}
	var shaped struct {
		Errors []json.RawMessage `json:"errors"`
		Detail json.RawMessage   `json:"detail"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		for _, raw := range shaped.Errors {
			// An item is a string (the GraphQL endpoint's own errors) or an
			// object with a message.
			var text string
			if json.Unmarshal(raw, &text) == nil {
				e.Messages = append(e.Messages, text)
				continue
			}
			var it GraphQLErrorItem
			if json.Unmarshal(raw, &it) == nil && it.Message != "" {
				e.Messages = append(e.Messages, it.Message)
			}
		}
		if len(shaped.Detail) > 0 {
			var s string
			if json.Unmarshal(shaped.Detail, &s) == nil {
				e.Messages = append(e.Messages, s)
			} else {
				e.Messages = append(e.Messages, string(shaped.Detail))
			}
		}
	}
	if len(e.Messages) == 0 && len(body) > 0 {
		const max = 200
		s := string(body)
		if len(s) > max {
			s = s[:max] + "..."
		}
		e.Messages = []string{strings.TrimSpace(s)}
	}
	return e
}
