package f5

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// The shapes decoded here are AS3's (github.com/F5Networks/f5-appsvcs-extension):
//   - a per-tenant result is {code, message, host, tenant, runTime, lineCount}
//     with "tenant" a string (src/lib/audit.js; "T1, Common" when the
//     declaration also has a Common tenant);
//   - a tenant that fails on the device says message "declaration failed"
//     and carries the device's reason in "response" (src/lib/audit.js);
//   - a declaration that fails as a whole (validation, device lock, missing
//     BIG-IP object) is one entry {code, message, errors, host, tenant,
//     declarationId} whose "tenant" is an ARRAY of names, or absent
//     (src/lib/declarationHandler.js: body.tenant = tenants; asserted by
//     test/integration/bigip/misc/restResponse.js as results[0].tenant[0]);
//   - a task record still running answers code 0 "in progress"; one that was
//     cancelled answers code 0 "task cancelled" for ever
//     (src/lib/asyncHandler.js getResults).

// Outcome classifies one tenant's result.
type Outcome int

// Outcomes of a tenant in a declaration.
const (
	OutcomeFailed     Outcome = iota // code other than 200, or validation errors
	OutcomeSuccess                   // code 200, configuration changed
	OutcomeNoChange                  // code 200, "no change"
	OutcomeInProgress                // code 0: the task is still running
	// OutcomeCancelled is code 0 with "task cancelled": AS3 gave the task up
	// (restnoded restarted, or its burst queue was full) and its record will
	// answer so for ever; the declaration was not applied by that task.
	OutcomeCancelled
)

// String names the outcome as AS3 words it ("success", "no change", ...).
func (o Outcome) String() string {
	switch o {
	case OutcomeSuccess:
		return "success"
	case OutcomeNoChange:
		return "no change"
	case OutcomeInProgress:
		return "in progress"
	case OutcomeCancelled:
		return "task cancelled"
	default:
		return "failed"
	}
}

// TenantResult is one entry of AS3's results array.
type TenantResult struct {
	// Tenants names the tenants the entry is about: usually one; none for
	// an answer about the request as a whole (an invalid request, a lock
	// met by a multi-tenant declaration). AS3 sends "tenant" as a string,
	// as an array (failed or locked declarations, AS3 3.51 and later) or not
	// at all; every form decodes here. "T1, Common" becomes [T1 Common].
	Tenants []string `json:"tenant,omitempty"`
	Code    int      `json:"code"`
	Message string   `json:"message"`
	// Response is the device's own reason when a tenant failed on the
	// device (Message "declaration failed"), e.g. "01020036:3: The
	// requested monitor (/Common/nope) was not found.".
	Response  string `json:"response,omitempty"`
	Host      string `json:"host,omitempty"`
	RunTime   int64  `json:"runTime,omitempty"`
	LineCount int    `json:"lineCount,omitempty"`
	// Errors are AS3's validation messages with their declaration path,
	// e.g. "/T/A/service/pool: contains path to non-existent object p".
	Errors        []string `json:"errors,omitempty"`
	DeclarationID string   `json:"declarationId,omitempty"`
	// DeclarationFullID is set on some validation failures.
	DeclarationFullID string `json:"declarationFullId,omitempty"`
}

// wireResult is a results[] entry as it arrives: the fields whose shape
// varies between AS3 versions and paths are kept raw.
type wireResult struct {
	Tenant            json.RawMessage `json:"tenant"`
	Code              json.Number     `json:"code"`
	Message           json.RawMessage `json:"message"`
	Response          json.RawMessage `json:"response"`
	Host              json.RawMessage `json:"host"`
	RunTime           json.Number     `json:"runTime"`
	LineCount         json.Number     `json:"lineCount"`
	Errors            json.RawMessage `json:"errors"`
	DeclarationID     json.RawMessage `json:"declarationId"`
	DeclarationFullID json.RawMessage `json:"declarationFullId"`
}

// UnmarshalJSON decodes one results[] entry. It is lenient about shapes
// (string or array, string or object) so that a newer AS3 never costs the
// caller the codes and messages it did send; it fails only on JSON that is
// not an object, or on a code or count that is not a number.
func (r *TenantResult) UnmarshalJSON(b []byte) error {
	var w wireResult
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("AS3 result: %w", err)
	}
	var out TenantResult
	for _, tok := range textList(w.Tenant) {
		for name := range strings.SplitSeq(tok, ",") {
			if name = strings.TrimSpace(name); name != "" {
				out.Tenants = append(out.Tenants, name)
			}
		}
	}
	var err error
	if out.Code, err = intOf(w.Code, "code"); err != nil {
		return err
	}
	n, err := intOf(w.RunTime, "runTime")
	if err != nil {
		return err
	}
	out.RunTime = int64(n)
	if out.LineCount, err = intOf(w.LineCount, "lineCount"); err != nil {
		return err
	}
	out.Message = text(w.Message)
	out.Response = text(w.Response)
	out.Host = text(w.Host)
	out.Errors = textList(w.Errors)
	out.DeclarationID = text(w.DeclarationID)
	out.DeclarationFullID = text(w.DeclarationFullID)
	*r = out
	return nil
}

func intOf(n json.Number, field string) (int, error) {
	if n == "" {
		return 0, nil
	}
	v, err := n.Int64()
	if err != nil {
		f, ferr := n.Float64()
		if ferr != nil {
			return 0, fmt.Errorf("AS3 result: %s %q is not a number", field, n)
		}
		v = int64(f)
	}
	return int(v), nil
}

// text renders a JSON value as text: a string as itself, null or absent
// as "", anything else as its compact JSON (invalid UTF-8 replaced, as
// encoding/json does in strings).
func text(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && plainJSONString(raw[1:n-1]) {
		return string(raw[1 : n-1])
	}
	var s string
	if raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	var buf bytes.Buffer
	if json.Compact(&buf, raw) != nil {
		return strings.ToValidUTF8(string(raw), "\uFFFD")
	}
	return strings.ToValidUTF8(buf.String(), "\uFFFD")
}

// plainJSONString reports whether b, the inside of a JSON string, is its
// own value: printable ASCII without escapes or quotes.
func plainJSONString(b []byte) bool {
	for _, c := range b {
		if c < 0x20 || c >= 0x7f || c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

// textList renders a string, or each element of an array, as text.
func textList(raw json.RawMessage) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	if raw[0] != '[' {
		if s := text(raw); s != "" {
			return []string{s}
		}
		return nil
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return []string{text(raw)}
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if s := text(it); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// Outcome classifies the result.
func (r TenantResult) Outcome() Outcome {
	switch {
	case r.Code == 0 && r.Message == "task cancelled":
		return OutcomeCancelled
	case r.Code == 0 || r.Message == "in progress":
		return OutcomeInProgress
	case r.Code == http.StatusOK && r.Message == "no change":
		return OutcomeNoChange
	case r.Code == http.StatusOK:
		return OutcomeSuccess
	default:
		return OutcomeFailed
	}
}

// describe renders the entry for an error message: tenants, code,
// message, the device's reason and validation errors, as AS3 sent them.
func (r TenantResult) describe() string {
	s := fmt.Sprintf("code %d: %s", r.Code, r.Message)
	switch len(r.Tenants) {
	case 0:
	case 1:
		s = fmt.Sprintf("tenant %q: %s", r.Tenants[0], s)
	default:
		s = fmt.Sprintf("tenants %q: %s", r.Tenants, s)
	}
	if r.Response != "" {
		s += ": " + r.Response
	}
	if len(r.Errors) > 0 {
		s += ": " + strings.Join(r.Errors, "; ")
	}
	return s
}

// Result is the outcome of Declare, Patch or DeleteTenants.
type Result struct {
	// TaskID is set when the declaration ran as an AS3 task.
	TaskID string `json:"id,omitempty"`
	// HTTPStatus is the HTTP status of the last answer read: the declare
	// request's (200, 207, 422, ...) when AS3 answered synchronously, the
	// task record's (200) when it ran as a task. The per-tenant codes are
	// in Tenants.
	HTTPStatus int `json:"-"`
	// Tenants holds one entry per tenant (a declaration refused as a whole
	// has a single entry, carrying Errors).
	Tenants []TenantResult `json:"results"`
	// Declaration is the declaration AS3 echoed back (as asked by Show).
	Declaration json.RawMessage `json:"declaration,omitempty"`
}

// Failed returns the failed entries.
func (r *Result) Failed() []TenantResult {
	var out []TenantResult
	for _, t := range r.Tenants {
		if t.Outcome() == OutcomeFailed {
			out = append(out, t)
		}
	}
	return out
}

// Changed reports whether at least one tenant changed.
func (r *Result) Changed() bool {
	return slices.ContainsFunc(r.Tenants, func(t TenantResult) bool { return t.Outcome() == OutcomeSuccess })
}

// DeclareError is returned with the Result when AS3 answered but at least
// one tenant failed (HTTP 207 or 422, or failures inside a task). Use
// errors.As to reach the per-tenant results and validation messages.
type DeclareError struct {
	Result *Result
}

// Error says where the answer came from (the request or the task record,
// with the HTTP status it really had) and lists the failed entries with
// their codes, messages, device reasons and validation errors.
func (e *DeclareError) Error() string {
	parts := make([]string, 0, len(e.Result.Tenants))
	for _, t := range e.Result.Failed() {
		parts = append(parts, t.describe())
	}
	if e.Result.TaskID != "" {
		return fmt.Sprintf("AS3 task %s failed (task record answered HTTP %d): %s", e.Result.TaskID, e.Result.HTTPStatus, strings.Join(parts, ", "))
	}
	return fmt.Sprintf("AS3 answered HTTP %d: %s", e.Result.HTTPStatus, strings.Join(parts, ", "))
}

// ValidationErrors returns every schema validation message, e.g.
// "/T/A/web_pool: should NOT have additional properties".
func (e *DeclareError) ValidationErrors() []string {
	var out []string
	for _, t := range e.Result.Tenants {
		out = append(out, t.Errors...)
	}
	return out
}

// TaskCancelledError says AS3 cancelled the task that carried a
// declaration: its record answers code 0 "task cancelled" and never
// completes. AS3 does this to every pending task when restnoded restarts
// (src/lib/asyncHandler.js updatePending) and to a request that finds its
// burst queue full (src/lib/declareHandler.js reportError). A cancelled
// task applied nothing after it was cancelled; whether it applied some
// tenants before a restart is unknown, so read the declaration back.
type TaskCancelledError struct {
	// TaskIDs lists the cancelled tasks in order: one, or two when the
	// declaration was resubmitted once and cancelled again.
	TaskIDs []string
	// NotResubmitted says why the client did not submit again, when it did
	// not (a JSON Patch is not idempotent).
	NotResubmitted string
}

// Error names the cancelled tasks and what was done about them.
func (e *TaskCancelledError) Error() string {
	s := fmt.Sprintf("AS3 cancelled task %s (its record answers code 0 \"task cancelled\" and will never complete: restnoded restarted or the burst queue was full)", strings.Join(e.TaskIDs, " and, after resubmitting once, task "))
	if e.NotResubmitted != "" {
		s += "; not resubmitted: " + e.NotResubmitted
	}
	return s
}

// decodeResult decodes a declare answer, a task record or an AS3 error body
// ({"code": 422, "errors": [...], "message": ..., "tenant": [...]}).
func decodeResult(r *response) (*Result, error) {
	var res Result
	if err := json.Unmarshal(r.body, &res); err != nil {
		return nil, fmt.Errorf("decode AS3 answer (HTTP %d): %w", r.status, err)
	}
	res.HTTPStatus = r.status
	if len(res.Tenants) == 0 {
		var whole TenantResult
		if err := json.Unmarshal(r.body, &whole); err != nil {
			return nil, fmt.Errorf("decode AS3 answer (HTTP %d): %w", r.status, err)
		}
		if whole.Code != 0 || len(whole.Errors) > 0 {
			if whole.Code == 0 {
				whole.Code = r.status
			}
			res.Tenants = []TenantResult{whole}
		}
	}
	return &res, nil
}

// taskBusy turns an entry with code 503 (the device lock held by another
// configuration operation, met inside the task: src/lib/mutex.js) into a
// retryable *Error naming the task record that said so.
func taskBusy(r *Result) *Error {
	for _, t := range r.Tenants {
		if t.Code == http.StatusServiceUnavailable {
			path := as3Path + "/declare"
			if r.TaskID != "" {
				path = as3Path + "/task/" + r.TaskID
			}
			return &Error{Method: http.MethodGet, Path: path, StatusCode: r.HTTPStatus, Code: t.Code, Message: t.Message}
		}
	}
	return nil
}

// cancelled reports whether the task record says "task cancelled".
func (r *Result) cancelled() bool {
	return slices.ContainsFunc(r.Tenants, func(t TenantResult) bool { return t.Outcome() == OutcomeCancelled })
}
