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
)

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

// Is reports ErrNotFound when every message says something was not found,
// which is how Infrahub reports an unknown id or hfid in a mutation.
func (e *GraphQLError) Is(target error) bool {
	if target != ErrNotFound || len(e.Errors) == 0 {
		return false
	}
	for _, it := range e.Errors {
		m := strings.ToLower(it.Message)
		if !strings.Contains(m, "not found") && !strings.Contains(m, "unable to find") {
			return false
		}
	}
	return true
}

// APIError is a non-2xx HTTP answer from Infrahub (REST, or GraphQL
// transport-level such as 404 for an unknown branch).
type APIError struct {
	Method     string
	Path       string
	StatusCode int
	// Messages are the error messages of the body ({"errors":[{"message"}]}
	// or FastAPI's {"detail"}), or the start of a body of another shape.
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

// Is maps 404 to ErrNotFound and 401/403 to ErrUnauthorized.
func (e *APIError) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.StatusCode == http.StatusNotFound
	case ErrUnauthorized:
		return e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden
	}
	return false
}

// NotFoundError is returned by Get and GetByHFID when no node matches.
type NotFoundError struct {
	Kind   string
	ID     string
	HFID   []string
	Branch string
}

// Error names the kind, the key and the branch.
func (e *NotFoundError) Error() string {
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

// Is reports ErrNotFound.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// newAPIError builds an APIError from a response body of any shape.
func newAPIError(method, path string, status int, body []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: status}
	var shaped struct {
		Errors []GraphQLErrorItem `json:"errors"`
		Detail json.RawMessage    `json:"detail"`
	}
	if json.Unmarshal(body, &shaped) == nil {
		for _, it := range shaped.Errors {
			e.Messages = append(e.Messages, it.Message)
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
