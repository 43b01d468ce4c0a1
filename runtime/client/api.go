package client

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

const v1 = "/api/v1"

// Ready returns nil when the server and its store answer.
func (c *Client) Ready(ctx context.Context) error {
	_, err := c.call(ctx, http.MethodGet, "/readyz", nil, nil, nil, true)
	return err
}

// Flows returns the latest version of every registered flow.
func (c *Client) Flows(ctx context.Context) ([]store.Flow, error) {
	var out []store.Flow
	_, err := c.call(ctx, http.MethodGet, v1+"/flows", nil, nil, &out, true)
	return out, err
}

// Flow returns a registered flow.
func (c *Client) Flow(ctx context.Context, name string) (store.Flow, error) {
	var out store.Flow
	_, err := c.call(ctx, http.MethodGet, v1+"/flows/"+esc(name), nil, nil, &out, true)
	return out, err
}

// RegisterFlow registers a flow version with its parameter schema.
func (c *Client) RegisterFlow(ctx context.Context, f store.Flow) (store.Flow, error) {
	var out store.Flow
	_, err := c.call(ctx, http.MethodPut, v1+"/flows/"+esc(f.Name), nil, f, &out, true)
	return out, err
}

// Deployments returns every deployment, by name.
func (c *Client) Deployments(ctx context.Context) ([]store.Deployment, error) {
	var out []store.Deployment
	_, err := c.call(ctx, http.MethodGet, v1+"/deployments", nil, nil, &out, true)
	return out, err
}

// Deployment returns a deployment.
func (c *Client) Deployment(ctx context.Context, name string) (store.Deployment, error) {
	var out store.Deployment
	_, err := c.call(ctx, http.MethodGet, v1+"/deployments/"+esc(name), nil, nil, &out, true)
	return out, err
}

// ApplyDeployment creates or updates d and reports what changed.
func (c *Client) ApplyDeployment(ctx context.Context, d store.Deployment) (wire.DeploymentApplied, error) {
	var out wire.DeploymentApplied
	_, err := c.call(ctx, http.MethodPut, v1+"/deployments/"+esc(d.Name), nil, d, &out, true)
	return out, err
}

// CreateRun creates a run of a deployment. created is false when req's
// idempotency key returned the run of an earlier request. It is retried
// only with an idempotency key, since a retry without one could create a
// second run.
func (c *Client) CreateRun(ctx context.Context, deployment string, req wire.CreateRun) (run store.FlowRun, created bool, err error) {
	var out wire.RunCreated
	_, err = c.call(ctx, http.MethodPost, v1+"/deployments/"+esc(deployment)+"/runs", nil, req, &out, req.IdempotencyKey != "")
	return out.Run, out.Created, err
}

// Runs returns one page of runs matching f, newest first; pass the
// page's Next as f.Cursor for the next one.
func (c *Client) Runs(ctx context.Context, f store.RunFilter) (wire.RunPage, error) {
	q := url.Values{}
	var states []string
	for _, s := range f.States {
		states = append(states, string(s))
	}
	set(q, "state", strings.Join(states, ","))
	set(q, "deployment", f.Deployment)
	set(q, "flow", f.Flow)
	set(q, "tag", f.Tag)
	set(q, "parent", f.ParentID)
	set(q, "origin", string(f.Origin))
	set(q, "cursor", f.Cursor)
	if !f.CreatedAfter.IsZero() {
		q.Set("created_after", f.CreatedAfter.Format(time.RFC3339Nano))
	}
	if !f.CreatedBefore.IsZero() {
		q.Set("created_before", f.CreatedBefore.Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out wire.RunPage
	_, err := c.call(ctx, http.MethodGet, v1+"/runs", q, nil, &out, true)
	return out, err
}

func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

// Run returns a run with its state history and all its task runs (the
// server answers them a page at a time: see [Client.RunPage]).
func (c *Client) Run(ctx context.Context, id string) (wire.RunDetail, error) {
	out, err := c.RunPage(ctx, id, "", 1000)
	for err == nil && out.TasksNext != "" {
		var page wire.RunDetail
		if page, err = c.RunPage(ctx, id, out.TasksNext, 1000); err == nil {
			out.TaskRuns = append(out.TaskRuns, page.TaskRuns...)
			out.TasksNext = page.TasksNext
		}
	}
	return out, err
}

// RunPage returns a run with its state history and one page of its task
// runs: limit of them (0: the server's default) after the cursor after
// (the TasksNext of the previous page; "" for the first).
func (c *Client) RunPage(ctx context.Context, id, after string, limit int) (wire.RunDetail, error) {
	q := url.Values{}
	set(q, "tasks_after", after)
	if limit > 0 {
		q.Set("tasks_limit", strconv.Itoa(limit))
	}
	var out wire.RunDetail
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id), q, nil, &out, true)
	return out, err
}

// RunState returns a run's current state; an `execute` process polls it
// to learn that its run is Cancelling.
func (c *Client) RunState(ctx context.Context, id string) (flow.State, error) {
	var out wire.StateAnswer
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/state", nil, nil, &out, true)
	return out.State, err
}

// WaitRunState waits until until holds for the state of run id, and
// returns that state; until(flow.State.Final) waits for the run's end.
// It asks the API to answer when the state changes (GET
// /runs/{id}/state?from=NAME&wait=...), so a waiting client costs the
// server a read per change rather than a poll every few milliseconds,
// and sees each change within milliseconds. ctx bounds the wait.
func (c *Client) WaitRunState(ctx context.Context, id string, until func(flow.State) bool) (flow.State, error) {
	st, err := c.RunState(ctx, id)
	for err == nil && !until(st) {
		q := url.Values{}
		q.Set("from", st.Name)
		q.Set("wait", c.stateWait())
		var out wire.StateAnswer
		if _, err = c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/state", q, nil, &out, true); err == nil {
			st = out.State
		}
	}
	if err != nil {
		return st, fmt.Errorf("wait for run %s: %w", id, err)
	}
	return st, nil
}

// stateWait is how long one state request may wait for a change: well
// within the call's timeout.
func (c *Client) stateWait() string {
	return min(20*time.Second, c.opts.Timeout*2/3).String()
}

// WaitRunFinal waits until run id is in a final state (Completed,
// Failed, Crashed, Cancelled) and returns it. The API answers at the end
// only (GET /runs/{id}/state?until=final&wait=...), so the wait costs one
// request however many states the run goes through, against one per
// state for WaitRunState. ctx bounds the wait.
func (c *Client) WaitRunFinal(ctx context.Context, id string) (flow.State, error) {
	q := url.Values{}
	q.Set("until", "final")
	q.Set("wait", c.stateWait())
	for {
		var out wire.StateAnswer
		if _, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/state", q, nil, &out, true); err != nil {
			return out.State, fmt.Errorf("wait for the end of run %s: %w", id, err)
		}
		if out.State.Final() {
			return out.State, nil
		}
		// A server without until= answers each change from the state
		// last seen instead: slower, never a tight loop.
		q.Set("from", out.State.Name)
	}
}

// SetRunState moves a run to s through the transition table; an illegal
// move is an *[Error] with status 409 ([IsConflict]).
func (c *Client) SetRunState(ctx context.Context, id string, s flow.State) (store.FlowRun, error) {
	var out store.FlowRun
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/state", nil, wire.SetState{State: s}, &out, false)
	return out, err
}

// CancelRun asks a run to stop and returns its new state (Cancelled, or
// Cancelling while its worker stops it).
func (c *Client) CancelRun(ctx context.Context, id, reason string) (flow.State, error) {
	var out wire.StateAnswer
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/cancel", nil, wire.Cancel{Reason: reason}, &out, false)
	return out.State, err
}

// RunResult returns a completed run's result.
func (c *Client) RunResult(ctx context.Context, id string) (json.RawMessage, error) {
	var out wire.Value
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/result", nil, nil, &out, true)
	return out.Value, err
}

// Logs returns one page of a flow run's logs after q.After (q.FlowRunID
// is the run; q.RunID narrows to one of its task runs).
func (c *Client) Logs(ctx context.Context, q store.LogQuery) (wire.LogPage, error) {
	v := url.Values{}
	set(v, "run", q.RunID)
	if q.After > 0 {
		v.Set("after", strconv.FormatInt(q.After, 10))
	}
	if q.Limit > 0 {
		v.Set("limit", strconv.Itoa(q.Limit))
	}
	var out wire.LogPage
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(q.FlowRunID)+"/logs", v, nil, &out, true)
	return out, err
}

// MintRunToken returns a token that may report only on run id, for an
// `execute` process; ttl 0 takes the server's default. The token is bound
// to the run's current attempt and worker; a worker should rather use
// [Client.MintExecutionToken] with the run as it claimed it.
func (c *Client) MintRunToken(ctx context.Context, id string, ttl time.Duration) (wire.RunToken, error) {
	return c.MintExecutionToken(ctx, store.Fence{RunID: id}, ttl)
}

// MintExecutionToken returns a token that may report only on execution f
// of its run ([store.FenceOf] the claimed run). When the run is no longer
// at f's attempt and worker the server refuses with a 409 [Error] that
// matches [store.ErrFenced].
func (c *Client) MintExecutionToken(ctx context.Context, f store.Fence, ttl time.Duration) (wire.RunToken, error) {
	var out wire.RunToken
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(f.RunID)+"/token", nil, wire.MintToken{TTL: ttl, Attempt: f.Attempt, Worker: f.Worker}, &out, true)
	return out, err
}

// RenewRunToken exchanges the client's run token for a fresh one of the
// same execution, valid for the server's token lifetime, and makes the
// client use it. The server refuses (409) once the run is final, its
// lease lapsed or it was claimed again: the token then dies with the
// execution.
func (c *Client) RenewRunToken(ctx context.Context, id string) (wire.RunToken, error) {
	var out wire.RunToken
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/token/renew", nil, nil, &out, true)
	if err == nil {
		c.SetToken(out.Token)
	}
	return out, err
}

// RenewLease extends worker's lease on run id by lease and returns the
// run's state (Cancelling: stop it). A lost lease is a 409 [Error].
func (c *Client) RenewLease(ctx context.Context, id, worker string, lease time.Duration) (flow.State, error) {
	var out wire.StateAnswer
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/lease", nil, wire.Lease{Worker: worker, Lease: lease}, &out, true)
	return out.State, err
}

// Record sends a batch of engine events of flow run id. It is retried
// with the same body: the server remembers the batch ID and applies a
// batch once.
func (c *Client) Record(ctx context.Context, id string, batch wire.Record) (wire.Recorded, error) {
	var out wire.Recorded
	_, err := c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/record", nil, batch, &out, true)
	return out, err
}

// RunResults returns the results of a flow run's completed task runs and
// subflow runs, by task key.
func (c *Client) RunResults(ctx context.Context, id string) (map[string]json.RawMessage, error) {
	var out wire.Results
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/results", nil, nil, &out, true)
	return out.Results, err
}

// CachedResult returns the cached result under key unexpired at now; ok
// is false when there is none.
func (c *Client) CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error) {
	var out wire.Value
	_, err := c.call(ctx, http.MethodGet, v1+"/cache/"+esc(key), url.Values{"now": {now.Format(time.RFC3339Nano)}}, nil, &out, true)
	if IsNotFound(err) {
		return nil, false, nil
	}
	return out.Value, err == nil, err
}

// Pools returns every work pool.
func (c *Client) Pools(ctx context.Context) ([]store.Pool, error) {
	var out []store.Pool
	_, err := c.call(ctx, http.MethodGet, v1+"/pools", nil, nil, &out, true)
	return out, err
}

// Pool returns a work pool.
func (c *Client) Pool(ctx context.Context, name string) (store.Pool, error) {
	var out store.Pool
	_, err := c.call(ctx, http.MethodGet, v1+"/pools/"+esc(name), nil, nil, &out, true)
	return out, err
}

// ApplyPool creates or updates a work pool.
func (c *Client) ApplyPool(ctx context.Context, p store.Pool) (store.Pool, error) {
	var out store.Pool
	_, err := c.call(ctx, http.MethodPut, v1+"/pools/"+esc(p.Name), nil, p, &out, true)
	return out, err
}

// Queues returns a pool's queues.
func (c *Client) Queues(ctx context.Context, pool string) ([]store.Queue, error) {
	var out []store.Queue
	_, err := c.call(ctx, http.MethodGet, v1+"/pools/"+esc(pool)+"/queues", nil, nil, &out, true)
	return out, err
}

// ApplyQueue creates or updates a queue of an existing pool.
func (c *Client) ApplyQueue(ctx context.Context, q store.Queue) (store.Queue, error) {
	var out store.Queue
	_, err := c.call(ctx, http.MethodPut, v1+"/pools/"+esc(q.Pool)+"/queues/"+esc(q.Name), nil, q, &out, true)
	return out, err
}

// Claim gives a due run of pool to the worker; nil when none is due. It
// is not retried: a lost answer leaves the claim with the worker until its
// lease expires and the run is reaped.
func (c *Client) Claim(ctx context.Context, pool string, cl wire.Claim) (*store.FlowRun, error) {
	var out wire.Claimed
	_, err := c.call(ctx, http.MethodPost, v1+"/pools/"+esc(pool)+"/claim", nil, cl, &out, false)
	return out.Run, err
}

// Workers returns the workers of a pool ("" for all).
func (c *Client) Workers(ctx context.Context, pool string) ([]store.Worker, error) {
	var out []store.Worker
	q := url.Values{}
	set(q, "pool", pool)
	_, err := c.call(ctx, http.MethodGet, v1+"/workers", q, nil, &out, true)
	return out, err
}

// Heartbeat records that worker w is alive.
func (c *Client) Heartbeat(ctx context.Context, w store.Worker) error {
	_, err := c.call(ctx, http.MethodPut, v1+"/workers/"+esc(w.Name), nil, w, nil, true)
	return err
}

// Blocks returns every config block, secret fields named but masked.
func (c *Client) Blocks(ctx context.Context) ([]store.Block, error) {
	var out []store.Block
	_, err := c.call(ctx, http.MethodGet, v1+"/blocks", nil, nil, &out, true)
	return out, err
}

// Block returns a config block; its secret values are masked (the API
// never sends them), so Secrets holds masks.
func (c *Client) Block(ctx context.Context, name string) (store.Block, error) {
	var out store.Block
	_, err := c.call(ctx, http.MethodGet, v1+"/blocks/"+esc(name), nil, nil, &out, true)
	return out, err
}

// SaveBlock creates or replaces a config block, secrets included.
func (c *Client) SaveBlock(ctx context.Context, b store.Block) error {
	body := struct {
		store.Block
		Secrets map[string]string `json:"secrets,omitempty"`
	}{Block: b}
	if len(b.Secrets) > 0 {
		body.Secrets = make(map[string]string, len(b.Secrets))
		for k, v := range b.Secrets {
			body.Secrets[k] = v.Reveal()
		}
	}
	_, err := c.call(ctx, http.MethodPut, v1+"/blocks/"+esc(b.Name), nil, body, nil, true)
	return err
}

// DeleteBlock removes a config block.
func (c *Client) DeleteBlock(ctx context.Context, name string) error {
	_, err := c.call(ctx, http.MethodDelete, v1+"/blocks/"+esc(name), nil, nil, nil, true)
	return err
}

// Variables returns every variable.
func (c *Client) Variables(ctx context.Context) (map[string]json.RawMessage, error) {
	var out map[string]json.RawMessage
	_, err := c.call(ctx, http.MethodGet, v1+"/variables", nil, nil, &out, true)
	return out, err
}

// TagLimits returns every tag concurrency limit, by tag or "prefix*"
// pattern, as enforced across all workers.
func (c *Client) TagLimits(ctx context.Context) (map[string]int, error) {
	var out wire.TagLimits
	_, err := c.call(ctx, http.MethodGet, v1+"/tag-limits", nil, nil, &out, true)
	return out.Limits, err
}

// SetTagLimit sets how many runs carrying tag may hold a slot at once; a
// tag ending in "*" is a pattern giving each tag it matches its own limit.
// A limit of 0 removes it.
func (c *Client) SetTagLimit(ctx context.Context, tag string, limit int) error {
	_, err := c.call(ctx, http.MethodPut, v1+"/tag-limits/"+esc(tag), nil, wire.TagLimit{Limit: &limit}, nil, true)
	return err
}

// Variable returns a variable's JSON value.
func (c *Client) Variable(ctx context.Context, name string) (json.RawMessage, error) {
	var out wire.Value
	_, err := c.call(ctx, http.MethodGet, v1+"/variables/"+esc(name), nil, nil, &out, true)
	return out.Value, err
}

// SetVariable stores a JSON value under name.
func (c *Client) SetVariable(ctx context.Context, name string, value json.RawMessage) error {
	_, err := c.call(ctx, http.MethodPut, v1+"/variables/"+esc(name), nil, wire.Value{Value: value}, nil, true)
	return err
}

// DeleteVariable removes a variable.
func (c *Client) DeleteVariable(ctx context.Context, name string) error {
	_, err := c.call(ctx, http.MethodDelete, v1+"/variables/"+esc(name), nil, nil, nil, true)
	return err
}

// Events returns one page of received events, newest first.
func (c *Client) Events(ctx context.Context, f store.EventFilter) (wire.EventPage, error) {
	q := url.Values{}
	set(q, "source", f.Source)
	set(q, "type", f.Type)
	set(q, "cursor", f.Cursor)
	if f.Unmatched {
		q.Set("unmatched", "true")
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var out wire.EventPage
	_, err := c.call(ctx, http.MethodGet, v1+"/events", q, nil, &out, true)
	return out, err
}

// Version returns the protocol the server speaks and its library version.
// A server older than the endpoint answers 404 ([IsNotFound]).
func (c *Client) Version(ctx context.Context) (wire.Version, error) {
	var out wire.Version
	_, err := c.call(ctx, http.MethodGet, v1+"/version", nil, nil, &out, true)
	return out, err
}

// RunTagLimits returns the tag concurrency limits for run id: what a
// run's child reads (with its run token) to know which of its tasks' tags
// take slots.
func (c *Client) RunTagLimits(ctx context.Context, id string) (map[string]int, error) {
	var out wire.TagLimits
	_, err := c.call(ctx, http.MethodGet, v1+"/runs/"+esc(id)+"/tag-limits", nil, nil, &out, true)
	return out.Limits, err
}

// AcquireRunSlots takes one slot of every limited tag in tags for the
// holding holder of run id, all or none, for lease; ok is false when a tag
// is full. A retry after a lost answer is safe: the server takes a
// holding's slots once.
func (c *Client) AcquireRunSlots(ctx context.Context, id, holder string, tags []string, lease time.Duration) (ok bool, err error) {
	var out wire.SlotsAnswer
	_, err = c.call(ctx, http.MethodPost, v1+"/runs/"+esc(id)+"/slots", nil, wire.AcquireSlots{Holder: holder, Tags: tags, Lease: lease}, &out, true)
	return out.Acquired, err
}

// RenewRunSlots extends the holding holder of run id by lease.
func (c *Client) RenewRunSlots(ctx context.Context, id, holder string, lease time.Duration) error {
	_, err := c.call(ctx, http.MethodPut, v1+"/runs/"+esc(id)+"/slots/"+esc(holder), nil, wire.RenewSlots{Lease: lease}, nil, true)
	return err
}

// ReleaseRunSlots frees the holding holder of run id.
func (c *Client) ReleaseRunSlots(ctx context.Context, id, holder string) error {
	_, err := c.call(ctx, http.MethodDelete, v1+"/runs/"+esc(id)+"/slots/"+esc(holder), nil, nil, nil, true)
	return err
}
