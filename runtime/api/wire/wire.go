// Package wire holds the JSON documents the netauto API server and its
// clients exchange. It depends only on the flow and store types, so that
// a client (and a flow binary reporting through runtime/remote) links no
// server, database or validation code.
package wire

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Error is the body of every error answer.
type Error struct {
	// Error says what went wrong. It never holds a secret.
	Error string `json:"error"`
	// Field names the bad input, when one is to blame: a JSON field
	// ("parameters.vlan"), a query parameter or a path element.
	Field string `json:"field,omitempty"`
}

// DeploymentApplied answers PUT /api/v1/deployments/{name}.
type DeploymentApplied struct {
	Deployment store.Deployment       `json:"deployment"`
	Change     store.DeploymentChange `json:"change"`
}

// CreateRun asks POST /api/v1/deployments/{name}/runs for a flow run.
type CreateRun struct {
	// Parameters override the deployment's defaults key by key (a shallow
	// merge); the merged object is validated against the flow's schema.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Name       string          `json:"name,omitempty"`
	Tags       []string        `json:"tags,omitempty"`
	// ScheduledAt delays the run; zero means now.
	ScheduledAt  time.Time       `json:"scheduled_at,omitzero"`
	JobVariables json.RawMessage `json:"job_variables,omitempty"`
	// IdempotencyKey makes the request idempotent within the deployment:
	// the same key returns the run the first request created (200, not
	// 201). The Idempotency-Key header sets it too.
	IdempotencyKey string `json:"idempotency_key,omitempty"`
}

// RunCreated answers a run creation: Created is false when an idempotency
// key returned an existing run.
type RunCreated struct {
	Run     store.FlowRun `json:"run"`
	Created bool          `json:"created"`
}

// RunPage is one page of GET /api/v1/runs. Next is the cursor of the next
// page, empty on the last.
type RunPage struct {
	Runs []store.FlowRun `json:"runs"`
	Next string          `json:"next,omitempty"`
}

// RunDetail answers GET /api/v1/runs/{id}: the run, every state it went
// through (oldest first) and a page of its task runs.
type RunDetail struct {
	Run     store.FlowRun `json:"run"`
	History []flow.State  `json:"history"`
	// TaskRuns is one page of the run's task runs, in creation order
	// (tasks_limit, default 200, at most 1000); TasksNext, when set, is
	// the tasks_after= of the next page, TaskCount how many there are.
	TaskRuns  []store.TaskRun `json:"task_runs"`
	TasksNext string          `json:"tasks_next,omitempty"`
	TaskCount int             `json:"task_count"`
}

// LogPage is one page of GET /api/v1/runs/{id}/logs. Next is the cursor to
// pass as after= to read on, also for records appended later.
type LogPage struct {
	Logs []store.LogEntry `json:"logs"`
	Next int64            `json:"next"`
}

// SetState asks POST /api/v1/runs/{id}/state to move a run.
type SetState struct {
	State flow.State `json:"state"`
}

// Cancel asks POST /api/v1/runs/{id}/cancel to stop a run.
type Cancel struct {
	Reason string `json:"reason,omitempty"`
}

// StateAnswer carries a run's state: the answer of cancel, of the run
// state check and of a lease renewal.
type StateAnswer struct {
	State flow.State `json:"state"`
}

// RunTokenPrefix starts every run token (versioning its format); API keys
// never start with it.
const RunTokenPrefix = "nrt1."

// RunTokenExpiry reads when a run token expires from its claims
// ("nrt1." + base64url(JSON claims with exp, Unix seconds) + "." +
// signature), without checking its signature: what a holder needs to
// schedule its renewals, nothing to trust. ok is false for anything else.
func RunTokenExpiry(token string) (expires time.Time, ok bool) {
	rest, found := strings.CutPrefix(token, RunTokenPrefix)
	if !found {
		return time.Time{}, false
	}
	claims, _, found := strings.Cut(rest, ".")
	if !found {
		return time.Time{}, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(claims)
	if err != nil {
		return time.Time{}, false
	}
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err := json.Unmarshal(raw, &c); err != nil || c.Exp <= 0 {
		return time.Time{}, false
	}
	return time.Unix(c.Exp, 0), true
}

// RunToken answers POST /api/v1/runs/{id}/token (and /token/renew): a
// bearer token that may report only on that run, until Expires.
type RunToken struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// MintToken asks POST /api/v1/runs/{id}/token for a run token.
type MintToken struct {
	// TTL is the token's lifetime (JSON: nanoseconds, like every
	// duration of the API); the server caps it.
	TTL time.Duration `json:"ttl,omitempty"`
	// Attempt and Worker name the execution the token is for: the run's
	// attempt and worker at the claim. The server refuses (409, field
	// "fence") when the run is no longer there. Zero: the run's current.
	Attempt int    `json:"attempt,omitempty"`
	Worker  string `json:"worker,omitempty"`
}

// Lease asks POST /api/v1/runs/{id}/lease to extend a worker's lease.
type Lease struct {
	Worker string        `json:"worker"`
	Lease  time.Duration `json:"lease"`
}

// Claim asks POST /api/v1/pools/{name}/claim for a due run.
type Claim struct {
	Worker string        `json:"worker"`
	Queues []string      `json:"queues,omitempty"`
	Lease  time.Duration `json:"lease"`
}

// Claimed answers a claim; Run is nil when no run was due.
type Claimed struct {
	Run *store.FlowRun `json:"run"`
}

// Record is a batch of engine events for POST /api/v1/runs/{id}/record,
// applied in one transaction through the store's Record.
type Record struct {
	// BatchID identifies the batch for safe retries: the server answers a
	// batch ID it has applied recently with the first answer, applying
	// nothing again.
	BatchID string           `json:"batch_id"`
	Ops     []Op             `json:"ops"`
	Logs    []flow.LogRecord `json:"logs,omitempty"`
}

// Op is one engine event: a run created (Create set) or a state set on
// RunID, with an optional result.
type Op struct {
	Create *flow.RunRecord `json:"create,omitempty"`
	RunID  string          `json:"run_id,omitempty"`
	State  *flow.State     `json:"state,omitempty"`
	Result *Result         `json:"result,omitempty"`
}

// Result is a [flow.Result] on the wire.
type Result struct {
	FlowRunID    string          `json:"flow_run_id"`
	TaskKey      string          `json:"task_key,omitempty"`
	CacheKey     string          `json:"cache_key,omitempty"`
	CacheExpires time.Time       `json:"cache_expires,omitzero"`
	Value        json.RawMessage `json:"value"`
	// Sensitive asks the server to store the value encrypted.
	Sensitive bool `json:"sensitive,omitempty"`
}

// Recorded answers a Record batch: the errors of ops that failed on their
// own (nothing of them was written; every other op was committed).
type Recorded struct {
	Errors []OpError `json:"errors,omitempty"`
}

// The kinds of OpError.
const (
	OpTransition = "transition" // an illegal state transition
	OpNotFound   = "not_found"  // an unknown run
	OpInvalid    = "invalid"    // bad input, naming the field
	OpForbidden  = "forbidden"  // a run outside the token's run
)

// OpError is the error of op Index of a Record batch.
type OpError struct {
	Index int    `json:"index"`
	Kind  string `json:"kind"`
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// Results answers GET /api/v1/runs/{id}/results: the results of the run's
// completed task runs and subflow runs, by task key.
type Results struct {
	Results map[string]json.RawMessage `json:"results"`
}

// Value carries one JSON value: a run's result, a cached result, a
// variable.
type Value struct {
	Value json.RawMessage `json:"value"`
}

// EventAccepted answers POST /api/v1/events/{source}.
type EventAccepted struct {
	EventID string   `json:"event_id"`
	RunIDs  []string `json:"run_ids"`
	// Duplicate is set when the event ID had been accepted before: RunIDs
	// are then the runs of the first delivery.
	Duplicate bool `json:"duplicate,omitempty"`
}

// EventDelivery is a delivery of an event that made no new event: refused
// (Outcome unknown_source, invalid, unauthorized, rate_limited) or a
// duplicate of an event accepted before (RunIDs: the first delivery's
// runs). EventID is what the delivery's body claimed; Remote is the
// sender's address as the server saw it.
type EventDelivery struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"`
	Outcome string    `json:"outcome"`
	Reason  string    `json:"reason,omitempty"`
	EventID string    `json:"event_id,omitempty"`
	RunIDs  []string  `json:"run_ids,omitempty"`
	Remote  string    `json:"remote,omitempty"`
}

// EventDeliveries answers GET /api/v1/events/deliveries: the server's last
// refused and duplicate deliveries, newest first.
type EventDeliveries struct {
	Deliveries []EventDelivery `json:"deliveries"`
}

// EventPage is one page of GET /api/v1/events.
type EventPage struct {
	Events []store.Event `json:"events"`
	Next   string        `json:"next,omitempty"`
}

// ToOp converts a store op to its wire form.
func ToOp(op store.Op) Op {
	w := Op{Create: op.Create, RunID: op.RunID}
	if op.Create == nil {
		s := op.State
		w.State = &s
	}
	if r := op.Result; r != nil {
		w.Result = &Result{FlowRunID: r.FlowRunID, TaskKey: r.TaskKey, CacheKey: r.CacheKey, CacheExpires: r.CacheExpires, Value: r.Value, Sensitive: r.Sensitive}
	}
	return w
}

// StoreOp converts a wire op to the store's form.
func (o Op) StoreOp() store.Op {
	op := store.Op{Create: o.Create, RunID: o.RunID}
	if o.State != nil {
		op.State = *o.State
	}
	if r := o.Result; r != nil {
		op.Result = &flow.Result{FlowRunID: r.FlowRunID, TaskKey: r.TaskKey, CacheKey: r.CacheKey, CacheExpires: r.CacheExpires, Value: r.Value, Sensitive: r.Sensitive}
	}
	return op
}

// TagLimits answers GET /api/v1/tag-limits: how many runs carrying each
// tag (or matching each "prefix*" pattern) may hold a slot at once.
type TagLimits struct {
	Limits map[string]int `json:"limits"`
}

// TagLimit asks PUT /api/v1/tag-limits/{tag} to set a tag's limit (0
// removes it) and is its answer.
type TagLimit struct {
	Tag   string `json:"tag,omitempty"`
	Limit *int   `json:"limit"`
}

// EnvSecretEnv set to "stdin" in a run's environment says that the rest
// of it (the secret part: the run token, credentials) comes on standard
// input, one JSON object of names and values, then end of input, so that
// it is never in a container's configuration (docker inspect). A flow
// binary's `execute` reads it (runtime/agent); the Docker launcher
// writes it.
const EnvSecretEnv = "NETAUTO_SECRET_ENV"

// Protocol is the version of the protocol between a flow binary and the
// API server: the documents of this package and the meaning of the
// endpoints a child process uses (records, states, results, tokens). It
// changes only when a change breaks one side; a server and a flow binary
// work together only when their protocols are [Compatible].
const Protocol = 1

// Compatible reports whether a peer speaking protocol p can work with this
// library's [Protocol]. Today only the same protocol is.
func Compatible(p int) bool { return p == Protocol }

// Version answers GET /api/v1/version: the protocol the server speaks and
// the netauto library it was built with.
type Version struct {
	Protocol int    `json:"protocol"`
	Library  string `json:"library"`
}

// FlowDescription is one flow of a flow binary's `describe` output.
type FlowDescription struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the flow's parameters.
	Parameters json.RawMessage `json:"parameters,omitempty"`
}

// Description is what a flow binary's `describe` command prints (as
// JSON): the protocol and library it was built with and its flows. The
// worker reads it from a binary built from a Git source.
type Description struct {
	Protocol int               `json:"protocol"`
	Library  string            `json:"library"`
	Flows    []FlowDescription `json:"flows"`
}

// LibraryVersion returns the version of the netauto module linked into the
// running binary: a module version, "(devel)" for a build inside the
// module or with a replace directive, or "unknown" without build
// information.
func LibraryVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	const mod = "github.com/netauto-dev/netauto"
	if bi.Main.Path == mod {
		return bi.Main.Version
	}
	for _, d := range bi.Deps {
		if d.Path == mod {
			if d.Replace != nil && d.Replace.Version == "" {
				return "(devel)"
			}
			return d.Version
		}
	}
	return "unknown"
}

// Principal answers GET /api/v1/whoami: who the server takes the caller
// for. Name is the API key's name ("run:ID" for a run token, "anonymous"
// on a server without keys); Role its role (empty for a run token);
// Pools the pools a worker key is restricted to; Run the run a token is
// for.
type Principal struct {
	Name  string   `json:"name"`
	Role  string   `json:"role,omitempty"`
	Pools []string `json:"pools,omitempty"`
	Run   string   `json:"run,omitempty"`
}

// Paused asks POST /api/v1/deployments/{name}/pause or /unpause, and is
// the answer: the deployment's paused flag as it is now, and who set it.
type Paused struct {
	Deployment string `json:"deployment,omitempty"`
	Paused     bool   `json:"paused"`
	By         string `json:"by,omitempty"`
}

// Retry asks POST /api/v1/runs/{id}/retry to run a Failed or Crashed run
// again (AwaitingRetry, due now); Reason is kept in the state's message.
type Retry struct {
	Reason string `json:"reason,omitempty"`
}

// UnknownFlowError is a run of a flow that the binary executing it does
// not contain: a worker's compiled-in flows, a flow binary's. The worker
// records the run Failed. runtime/worker and runtime/agent re-export it.
type UnknownFlowError struct{ Flow string }

func (e *UnknownFlowError) Error() string {
	return fmt.Sprintf("flow %q is not in this binary", e.Flow)
}
