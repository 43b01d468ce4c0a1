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
	// other tenants in the body are ignored by AS3. Each must be a tenant
	// of the body (AS3 would skip it silently; Declare refuses the call).
	// Empty means the whole declaration.
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

// Declare posts an AS3 declaration and waits for its outcome. body is a
// *Declaration, or anything that marshals to an AS3 request (an ADC object,
// an AS3 class wrapper, json.RawMessage) for classes the typed helpers do
// not cover.
//
// Declarations touching the same tenant are applied one at a time in the
// order Declare was called; declarations for other tenants go ahead in
// parallel, and AS3's device-wide lock (503, also inside a task) is waited
// out with backoff. When AS3 answers but a tenant failed, the Result comes
// back together with a *DeclareError; a task AS3 cancelled is submitted
// once more, then reported as a *TaskCancelledError.
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
	tenants, err := TenantsOf(payload)
	if err != nil {
		return nil, fmt.Errorf("declare: %w", err)
	}
	if len(o.Tenants) > 0 {
		// POST /declare/T1,T2 deploys only the named tenants that the body
		// declares and silently skips the others (AS3's parsePerTenantPath
		// in src/lib/declareHandler.js; unit test "should allow POST when
		// tenants in decl dont exactly match tenants in URI"). A name the
		// body lacks is a mistake the caller would never hear of: refuse it.
		for _, t := range o.Tenants {
			if !slices.Contains(tenants, t) {
				return nil, fmt.Errorf("declare: DeclareOptions.Tenants names %q, which the declaration does not declare (AS3 would skip it without a word)", t)
			}
		}
		tenants = uniqueSorted(o.Tenants)
	}
	path := as3Path + "/declare"
	if len(o.Tenants) > 0 {
		path += "/" + strings.Join(o.Tenants, ",")
	}
	res, err := c.submit(ctx, tenants, request{method: http.MethodPost, path: path + o.query(), raw: payload}, o, "")
	if err != nil {
		return res, fmt.Errorf("declare tenants %q: %w", tenants, err)
	}
	return res, nil
}

// submit runs one AS3 write under the tenant queue: send, follow the task
// if there is one, resubmit when the task reports the device lock (code
// 503 inside the task: nothing was applied) and, once, when AS3 cancelled
// the task, unless notIdempotent says why the write must not be repeated.
// A declaration may be repeated: AS3 compares it with the device and
// answers "no change" for what is already there.
func (c *Client) submit(ctx context.Context, tenants []string, req request, o DeclareOptions, notIdempotent string) (*Result, error) {
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	release, err := c.tenants.acquire(ctx, tenants)
	if err != nil {
		return nil, fmt.Errorf("waiting for earlier declarations of the same tenants: %w", err)
	}
	defer release()

	var res *Result
	var cancelled []string
	err = c.withRetries(ctx, func(int) (bool, error) {
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
			id := res.TaskID
			if res, err = c.waitTask(ctx, id, o.PollInterval); err != nil {
				var apiErr *Error
				if !errors.As(err, &apiErr) || !apiErr.NotFound() {
					return false, err
				}
				// AS3 keeps the 25 most recent finished task records and drops
				// older ones on every write (src/lib/asyncHandler.js
				// cleanRecords, MAX_RECORDS); under load a record can go before
				// its outcome is read. A declaration is sent again: what it
				// applied answers "no change".
				err = fmt.Errorf("AS3 dropped the record of task %s before its outcome was read (it keeps the 25 most recent): %w", id, err)
				if notIdempotent != "" {
					return false, fmt.Errorf("%w; not resubmitted: %s", err, notIdempotent)
				}
				return true, err
			}
		}
		if res.cancelled() {
			cancelled = append(cancelled, res.TaskID)
			again := notIdempotent == "" && len(cancelled) == 1
			return again, &TaskCancelledError{TaskIDs: slices.Clone(cancelled), NotResubmitted: notIdempotent}
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

// waitTask polls /task/<id> until no result is in progress. The task
// endpoint answers 200 while running and after; the state is in
// results[].code (0 while running, and for ever once "task cancelled").
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
			return res, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("task %s still in progress when time ran out: %w", id, ctx.Err())
		case <-tick.C:
		}
	}
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
	res, err := c.submit(ctx, tenants, request{method: http.MethodDelete, path: path}, o, "")
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
// The "test" operation is refused (AS3 answers 422 to it), and a cancelled
// or lost task is not submitted again: a patch is not idempotent.
func (c *Client) Patch(ctx context.Context, ops []PatchOp, opts *DeclareOptions) (*Result, error) {
	if len(ops) == 0 {
		return nil, errors.New("patch: no operations")
	}
	var tenants []string
	for i, op := range ops {
		switch op.Op {
		case "add", "remove", "replace", "move", "copy":
		case "test":
			// src/lib/declarationHandler.js handlePatch refuses it whatever it tests.
			return nil, fmt.Errorf("patch: ops[%d].op \"test\" is not supported by AS3 (it answers 422 \"invalid patch - op 'test' is not supported\")", i)
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
	res, err := c.submit(ctx, tenants, request{method: http.MethodPatch, path: as3Path + "/declare" + o.query(), body: ops}, o,
		"a JSON Patch is not idempotent (an \"add\" applied twice adds twice); read the declaration back to see whether it was applied")
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
