package f5

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
)

const as3Path = "/mgmt/shared/appsvcs"

// Defaults for DeclareOptions.
const (
	DefaultPollInterval   = time.Second
	DefaultDeclareTimeout = 10 * time.Minute
)

// DeclareOptions tune Declare, Patch and DeleteTenants. The zero value
// means: asynchronous with task polling every second, 10 minute limit.
type DeclareOptions struct {
	// Tenants restricts the request to these tenants (/declare/t1,t2);
	// other tenants in the body are ignored by AS3. Empty means the whole
	// declaration.
	Tenants []string
	// Sync posts without ?async=true. AS3 still switches to a task on its
	// own when processing takes longer than about 45 s; that is followed.
	Sync bool
	// PollInterval between task polls (DefaultPollInterval when zero).
	PollInterval time.Duration
	// Timeout bounds the whole call, waiting for the tenant queue, device
	// lock and task included (DefaultDeclareTimeout when zero). The
	// context's own deadline applies too.
	Timeout time.Duration
	// DryRun validates and plans without changing the device
	// (controls.dryRun=true).
	DryRun bool
	// Show selects the declaration echoed back: "base", "full" or "expanded".
	Show string
	// Unchecked passes ?unchecked=true (AS3 skips its checks of the
	// declaration against what is already on the device).
	Unchecked bool
}

func (o *DeclareOptions) withDefaults() DeclareOptions {
	var v DeclareOptions
	if o != nil {
		v = *o
	}
	if v.PollInterval <= 0 {
		v.PollInterval = DefaultPollInterval
	}
	if v.Timeout <= 0 {
		v.Timeout = DefaultDeclareTimeout
	}
	return v
}

func (o DeclareOptions) query() string {
	q := url.Values{}
	if !o.Sync {
		q.Set("async", "true")
	}
	if o.DryRun {
		q.Set("controls.dryRun", "true")
	}
	if o.Show != "" {
		q.Set("show", o.Show)
	}
	if o.Unchecked {
		q.Set("unchecked", "true")
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// Outcome classifies one tenant's result.
type Outcome int

// Outcomes of a tenant in a declaration.
const (
	OutcomeFailed     Outcome = iota // code other than 200, or validation errors
	OutcomeSuccess                   // code 200, configuration changed
	OutcomeNoChange                  // code 200, "no change"
	OutcomeInProgress                // code 0: the task is still running
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
	default:
		return "failed"
	}
}

// TenantResult is one entry of AS3's results array.
type TenantResult struct {
	Tenant        string   `json:"tenant"`
	Code          int      `json:"code"`
	Message       string   `json:"message"`
	Host          string   `json:"host,omitempty"`
	RunTime       int64    `json:"runTime,omitempty"`
	LineCount     int      `json:"lineCount,omitempty"`
	Errors        []string `json:"errors,omitempty"`
	DeclarationID string   `json:"declarationId,omitempty"`
	// DeclarationFullID is set on validation failures.
	DeclarationFullID string `json:"declarationFullId,omitempty"`
}

// Outcome classifies the result.
func (r TenantResult) Outcome() Outcome {
	switch {
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

// Result is the outcome of Declare, Patch or DeleteTenants.
type Result struct {
	// TaskID is set when the declaration ran as an AS3 task.
	TaskID string `json:"id,omitempty"`
	// HTTPStatus of the final answer: 200, 207 (partial success) or 422.
	HTTPStatus int `json:"-"`
	// Tenants holds one entry per tenant (validation failures have a single
	// entry without a tenant, carrying Errors).
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

// Error lists the failed tenants with their codes, messages and errors.
func (e *DeclareError) Error() string {
	var parts []string
	for _, t := range e.Result.Failed() {
		s := fmt.Sprintf("code %d: %s", t.Code, t.Message)
		if t.Tenant != "" {
			s = fmt.Sprintf("tenant %q: %s", t.Tenant, s)
		}
		if len(t.Errors) > 0 {
			s += ": " + strings.Join(t.Errors, "; ")
		}
		parts = append(parts, s)
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

// Declare posts an AS3 declaration and waits for its outcome. body is a
// *Declaration, or anything that marshals to an AS3 request (an ADC object,
// an AS3 class wrapper, json.RawMessage) for classes the typed helpers do
// not cover.
//
// Declarations touching the same tenant are applied one at a time in the
// order Declare was called; declarations for other tenants go ahead in
// parallel, and AS3's device-wide lock (503) is waited out with backoff.
// When AS3 answers but a tenant failed, the Result comes back together with
// a *DeclareError.
func (c *Client) Declare(ctx context.Context, body any, opts *DeclareOptions) (*Result, error) {
	o := opts.withDefaults()
	if body == nil {
		return nil, errors.New("declare: body is nil")
	}
	if err := checkTenantNames(o.Tenants); err != nil {
		return nil, fmt.Errorf("declare: DeclareOptions.Tenants: %w", err)
	}
	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("declare: encode: %w", err)
	}
	if string(payload) == "null" {
		return nil, errors.New("declare: body is nil")
	}
	tenants := o.Tenants
	if len(tenants) == 0 {
		if tenants, err = TenantsOf(payload); err != nil {
			return nil, fmt.Errorf("declare: %w", err)
		}
	}
	path := as3Path + "/declare"
	if len(o.Tenants) > 0 {
		path += "/" + strings.Join(o.Tenants, ",")
	}
	res, err := c.submit(ctx, tenants, request{method: http.MethodPost, path: path + o.query(), raw: payload}, o)
	if err != nil {
		return res, fmt.Errorf("declare tenants %q: %w", tenants, err)
	}
	return res, nil
}

// submit runs one AS3 write under the tenant queue: send, follow the task
// if there is one, resubmit when the task reports the device busy.
func (c *Client) submit(ctx context.Context, tenants []string, req request, o DeclareOptions) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	release, err := c.tenants.acquire(ctx, tenants)
	if err != nil {
		return nil, fmt.Errorf("waiting for earlier declarations of the same tenants: %w", err)
	}
	defer release()

	var res *Result
	err = c.retry.run(ctx, func(int) (bool, error) {
		r, err := c.do(ctx, req)
		if err != nil {
			var apiErr *Error
			if r != nil && errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusUnprocessableEntity {
				res, err = decodeResult(r)
				if err != nil {
					return false, err
				}
				return false, &DeclareError{Result: res}
			}
			return false, err
		}
		if res, err = decodeResult(r); err != nil {
			return false, err
		}
		if r.status == http.StatusAccepted {
			if res.TaskID == "" {
				return false, errors.New("AS3 answered 202 without a task id")
			}
			if res, err = c.waitTask(ctx, res.TaskID, o.PollInterval); err != nil {
				return false, err
			}
		}
		if busy := taskBusy(res); busy != nil {
			return true, busy
		}
		return false, nil
	})
	if err != nil {
		return res, err
	}
	if len(res.Failed()) > 0 {
		return res, &DeclareError{Result: res}
	}
	return res, nil
}

// checkTenantNames refuses names that would change the URL's meaning.
func checkTenantNames(names []string) error {
	for _, t := range names {
		if t == "" || strings.ContainsAny(t, ",/?#%~ ") {
			return fmt.Errorf("invalid tenant name %q", t)
		}
	}
	return nil
}

// taskBusy turns a task that ended with code 503 (device lock held by
// another configuration operation) into a retryable *Error.
func taskBusy(r *Result) *Error {
	for _, t := range r.Tenants {
		if t.Code == http.StatusServiceUnavailable {
			return &Error{Method: http.MethodGet, Path: as3Path + "/task/" + r.TaskID, StatusCode: t.Code, Code: t.Code, Message: t.Message}
		}
	}
	return nil
}

// decodeResult decodes a declare answer, a task record or an AS3 error body
// ({"code": 422, "errors": [...], "message": ...}).
func decodeResult(r *response) (*Result, error) {
	var body struct {
		Result
		Code    int      `json:"code"`
		Message string   `json:"message"`
		Errors  []string `json:"errors"`
	}
	if err := json.Unmarshal(r.body, &body); err != nil {
		return nil, fmt.Errorf("decode AS3 answer (HTTP %d): %w", r.status, err)
	}
	res := body.Result
	res.HTTPStatus = r.status
	if len(res.Tenants) == 0 && (body.Code != 0 || len(body.Errors) > 0) {
		res.Tenants = []TenantResult{{Code: firstNonZero(body.Code, r.status), Message: body.Message, Errors: body.Errors}}
	}
	return &res, nil
}

func firstNonZero(code, status int) int {
	if code != 0 {
		return code
	}
	return status
}

// waitTask polls /task/<id> until no result is in progress. The task
// endpoint answers 200 while running; the state is in results[].code.
func (c *Client) waitTask(ctx context.Context, id string, every time.Duration) (*Result, error) {
	path := as3Path + "/task/" + url.PathEscape(id)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		r, err := c.do(ctx, request{method: http.MethodGet, path: path})
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("task %s still in progress when time ran out: %w", id, ctx.Err())
			}
			return nil, fmt.Errorf("poll task %s: %w", id, err)
		}
		res, err := decodeResult(r)
		if err != nil {
			return nil, fmt.Errorf("poll task %s: %w", id, err)
		}
		if res.TaskID == "" {
			res.TaskID = id
		}
		if len(res.Tenants) > 0 && !slices.ContainsFunc(res.Tenants, func(t TenantResult) bool { return t.Outcome() == OutcomeInProgress }) {
			res.HTTPStatus = overallStatus(res.Tenants)
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("task %s still in progress when time ran out: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
}

// overallStatus mirrors AS3: all tenants with one code → that code, mixed → 207.
func overallStatus(ts []TenantResult) int {
	code := ts[0].Code
	for _, t := range ts[1:] {
		if t.Code != code {
			return http.StatusMultiStatus
		}
	}
	return code
}

// TenantsOf lists the tenants an AS3 request body touches: the Tenant
// objects of an ADC declaration, of an AS3 wrapper's declaration, or of
// every declaration in an array.
func TenantsOf(body []byte) ([]string, error) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, fmt.Errorf("request body is not JSON: %w", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			switch x["class"] {
			case "AS3":
				walk(x["declaration"])
			case ClassADC:
				for k, t := range x {
					if m, ok := t.(map[string]any); ok && m["class"] == ClassTenant {
						out = append(out, k)
					}
				}
			}
		}
	}
	walk(v)
	return uniqueSorted(out), nil
}

// Read returns the current declaration (GET /declare[/tenants]); show is
// "", "base", "full" or "expanded". With no tenants on the device it
// returns an empty Declaration.
func (c *Client) Read(ctx context.Context, show string, tenants ...string) (*Declaration, error) {
	if err := checkTenantNames(tenants); err != nil {
		return nil, fmt.Errorf("read declaration: %w", err)
	}
	path := as3Path + "/declare"
	if len(tenants) > 0 {
		path += "/" + strings.Join(tenants, ",")
	}
	if show != "" {
		path += "?show=" + url.QueryEscape(show)
	}
	r, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return nil, fmt.Errorf("read declaration: %w", err)
	}
	d := &Declaration{}
	if r.status == http.StatusNoContent || len(r.body) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(r.body, d); err != nil {
		return nil, fmt.Errorf("read declaration: %w", err)
	}
	return d, nil
}

// DeleteTenants removes the named tenants (DELETE /declare/t1,t2). At
// least one tenant is required: deleting everything is a deliberate
// Declare with updateMode "complete".
func (c *Client) DeleteTenants(ctx context.Context, opts *DeclareOptions, tenants ...string) (*Result, error) {
	if len(tenants) == 0 {
		return nil, errors.New("delete tenants: no tenant named")
	}
	if err := checkTenantNames(tenants); err != nil {
		return nil, fmt.Errorf("delete tenants: %w", err)
	}
	o := opts.withDefaults()
	o.Tenants = nil
	q := o.query()
	path := as3Path + "/declare/" + strings.Join(tenants, ",") + q
	res, err := c.submit(ctx, tenants, request{method: http.MethodDelete, path: path}, o)
	if err != nil {
		return res, fmt.Errorf("delete tenants %q: %w", tenants, err)
	}
	return res, nil
}

// PatchOp is one JSON Patch (RFC 6902) operation on the stored declaration;
// Path starts with the tenant, e.g. "/T1/App/web_pool/members/0/serverAddresses/-".
type PatchOp struct {
	Op    string `json:"op"`
	Path  string `json:"path"`
	From  string `json:"from,omitempty"`
	Value any    `json:"value,omitempty"`
}

// Patch applies JSON Patch operations to the stored declaration (PATCH
// /declare). The tenants named by the paths are serialized like Declare.
func (c *Client) Patch(ctx context.Context, ops []PatchOp, opts *DeclareOptions) (*Result, error) {
	if len(ops) == 0 {
		return nil, errors.New("patch: no operations")
	}
	var tenants []string
	for i, op := range ops {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy", "test":
		default:
			return nil, fmt.Errorf("patch: ops[%d].op %q is not a JSON Patch operation", i, op.Op)
		}
		seg := strings.SplitN(strings.TrimPrefix(op.Path, "/"), "/", 2)[0]
		if !strings.HasPrefix(op.Path, "/") || seg == "" {
			return nil, fmt.Errorf("patch: ops[%d].path %q must start with /tenant", i, op.Path)
		}
		tenants = append(tenants, seg)
	}
	o := opts.withDefaults()
	o.Tenants = nil
	res, err := c.submit(ctx, tenants, request{method: http.MethodPatch, path: as3Path + "/declare" + o.query(), body: ops}, o)
	if err != nil {
		return res, fmt.Errorf("patch tenants %q: %w", uniqueSorted(tenants), err)
	}
	return res, nil
}

// Info is AS3's /info answer.
type Info struct {
	Version       string `json:"version"`
	Release       any    `json:"release"`
	SchemaCurrent string `json:"schemaCurrent"`
	SchemaMinimum string `json:"schemaMinimum"`
}

// Info reports the installed AS3 version.
func (c *Client) Info(ctx context.Context) (*Info, error) {
	var info Info
	if err := c.getJSON(ctx, as3Path+"/info", &info); err != nil {
		return nil, fmt.Errorf("AS3 info: %w", err)
	}
	return &info, nil
}
