package f5

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
)

// Error is a non-2xx answer from the device. iControl REST answers
// {"code", "message", "errorStack"}; AS3 adds "errors" (schema validation
// messages with their declaration path). Callers branch with errors.As.
type Error struct {
	Method     string
	Path       string
	StatusCode int      // HTTP status
	Code       int      // F5 "code" from the body (often equal to StatusCode)
	Message    string   // F5 "message"
	ErrorStack []string // iControl REST "errorStack"
	Errors     []string // AS3 validation "errors", e.g. "/T/A/pool: should NOT have additional properties"
	// Body holds the raw answer when it was not JSON (truncated).
	Body string
}

// Error renders status, code, message and validation errors on one line.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: HTTP %d", e.Method, e.Path, e.StatusCode)
	if e.Code != 0 && e.Code != e.StatusCode {
		fmt.Fprintf(&b, " (code %d)", e.Code)
	}
	if e.Message != "" {
		fmt.Fprintf(&b, ": %s", e.Message)
	} else if e.Body != "" {
		fmt.Fprintf(&b, ": %s", e.Body)
	}
	if len(e.Errors) > 0 {
		fmt.Fprintf(&b, ": %s", strings.Join(e.Errors, "; "))
	}
	return b.String()
}

// Busy reports whether the device asked to try again later: AS3's
// "Configuration operation in progress" or a full burst queue, answered as
// HTTP 503 or, inside a task record, as code 503.
func (e *Error) Busy() bool {
	return e.StatusCode == http.StatusServiceUnavailable || e.Code == http.StatusServiceUnavailable
}

// TooManyTokens reports whether a login was refused because the user
// holds BIG-IP's maximum of live tokens (100 for every user but "admin";
// HTTP 400 "user <name> has reached maximum active login tokens"). No
// retry within minutes helps: the tokens must expire or be revoked, which
// [Client.Close] does for its own.
func (e *Error) TooManyTokens() bool {
	return e.StatusCode == http.StatusBadRequest && strings.Contains(e.Message, "maximum active login tokens")
}

// NotFound reports whether the object or record does not exist.
func (e *Error) NotFound() bool { return e.StatusCode == http.StatusNotFound }

// errorBody is the union of iControl REST and AS3 error bodies. The
// fields whose shape varies are kept raw and read leniently (see text and
// textList): AS3 sends "errors" as an array, but a body whose fields have
// another shape must still give its code and message.
type errorBody struct {
	Code       json.Number     `json:"code"`
	Message    json.RawMessage `json:"message"`
	ErrorStack json.RawMessage `json:"errorStack"`
	Errors     json.RawMessage `json:"errors"`
}

// decodeError builds an *Error from an answer; a body that is not the
// expected JSON is kept (truncated) rather than failing.
func decodeError(method, path string, status int, body []byte) *Error {
	e := &Error{Method: method, Path: path, StatusCode: status}
	var eb errorBody
	if err := json.Unmarshal(body, &eb); err != nil {
		e.Body = truncate(strings.TrimSpace(string(body)), 512)
		return e
	}
	if n, err := eb.Code.Int64(); err == nil {
		e.Code = int(n)
	}
	e.Message, e.ErrorStack, e.Errors = text(eb.Message), textList(eb.ErrorStack), textList(eb.Errors)
	return e
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
