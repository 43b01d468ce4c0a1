package store

import (
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/window"
)

// Flow is a flow the orchestrator knows: its name, version and parameter
// schema, as [flow.Definition.Describe] gives them.
type Flow struct {
	Name        string `json:"name"`
	Version     string `json:"version,omitempty"`
	Description string `json:"description,omitempty"`
	// Parameters is the JSON Schema of the flow's parameters.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Registered time.Time       `json:"registered"`
}

// Collision says what happens to a run of a deployment that is at its
// concurrency limit.
type Collision string

// The collision strategies.
const (
	// CollisionEnqueue keeps the run scheduled until a slot frees.
	CollisionEnqueue Collision = "enqueue"
	// CollisionCancelNew cancels the new run.
	CollisionCancelNew Collision = "cancel-new"
)

// LatePolicy says what the scheduler does with runs whose time passed
// while nothing could start them (the server was down, say).
type LatePolicy string

// The late-run policies.
const (
	LateRunAll    LatePolicy = "run-all"
	LateRunLatest LatePolicy = "run-latest"
	LateSkip      LatePolicy = "skip"
)

// Deployment is a flow made runnable by the orchestrator: default
// parameters, where its runs execute, when, and how many at once.
type Deployment struct {
	// ID is assigned when the deployment is first applied.
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Flow        string   `json:"flow"`
	Description string   `json:"description,omitempty"`
	Tags        []string `json:"tags,omitempty"`
	// Parameters are the default parameters, a JSON object.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	Pool       string          `json:"pool"`
	Queue      string          `json:"queue,omitempty"`
	Schedules  []Schedule      `json:"schedules,omitempty"`
	// ConcurrencyLimit caps the runs of the deployment that are claimed
	// and not final; 0 means no limit.
	ConcurrencyLimit int        `json:"concurrency_limit,omitempty"`
	Collision        Collision  `json:"collision,omitempty"`
	LatePolicy       LatePolicy `json:"late_policy,omitempty"`
	Paused           bool       `json:"paused,omitempty"`
	// Retries is how many times a run whose worker was lost is run again;
	// RetryDelay is the wait before each such retry. Runs created for the
	// deployment copy both.
	Retries    int           `json:"retries,omitempty"`
	RetryDelay time.Duration `json:"retry_delay,omitempty"`
	// JobVariables override the pool's job template variables.
	JobVariables json.RawMessage `json:"job_variables,omitempty"`
	// Source, when set, is where the worker fetches the flow's code.
	Source *Source `json:"source,omitempty"`
	// Calendar, when set, is the deployment's change calendar: its runs
	// start only inside its windows and outside its freezes (see
	// [window.Calendar], and Calendar.Block for an environment's block
	// holding more). A run created or due while it is closed waits
	// Scheduled as AwaitingWindow until the next opening; see
	// [WindowOverrider] and runtime/doc.go. Not a plan field: editing it
	// keeps the planned runs, which are checked again when claimed.
	Calendar *window.Calendar `json:"calendar,omitempty"`
	// Generation counts the changes to what the deployment's planned runs
	// are made of (see [PlanFields]); the store sets it, starting at 1.
	// Runs the scheduler planned under an older generation are replaced
	// by the next plan and are not claimed meanwhile (see
	// [SchedulePlan]).
	Generation int64     `json:"generation,omitempty"`
	Created    time.Time `json:"created"`
	Updated    time.Time `json:"updated"`
}

// PlanFields are the JSON names of the deployment fields its planned runs
// are made of (a run copies them when it is created) or planned from. A
// change to any of them increments [Deployment.Generation]; a change to
// another one (description, concurrency limit, late policy, source...)
// does not.
var PlanFields = []string{"schedules", "parameters", "tags", "flow", "pool", "queue", "retries", "retry_delay", "job_variables"}

// Schedule is one schedule of a deployment: a cron expression in a time
// zone, or an interval from an anchor. The scheduler interprets it; the
// store keeps it.
type Schedule struct {
	Cron     string        `json:"cron,omitempty"`
	Timezone string        `json:"timezone,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
	Anchor   time.Time     `json:"anchor,omitzero"`
	// Parameters override the deployment's defaults for runs this
	// schedule creates.
	Parameters json.RawMessage `json:"parameters,omitempty"`
	// Inactive turns the schedule off without removing it: the scheduler
	// creates no runs for it. Turned on again, it plans from then on;
	// the times it missed while inactive are not made up.
	Inactive bool `json:"inactive,omitempty"`
}

// Source is where a deployment's flow code comes from: a Git repository
// (https://, ssh:// or, when the worker allows it, file://), a ref
// (branch, tag or commit hash; default the remote's HEAD), an optional
// sub-directory holding the Go module (Path) and the package of the flow
// binary inside it (Entrypoint, default "."). See runtime/source.
type Source struct {
	Repository string `json:"repository"`
	Ref        string `json:"ref,omitempty"`
	Path       string `json:"path,omitempty"`
	Entrypoint string `json:"entrypoint,omitempty"`
	// Credentials, when set, authenticate to the repository with a
	// secret of the store; never put them in the URL.
	Credentials *SourceCredentials `json:"credentials,omitempty"`
}

// SourceCredentials name the store secret a worker authenticates to a Git
// repository with.
type SourceCredentials struct {
	// Kind is "token" (HTTPS basic auth with Username, default
	// "x-access-token", and the token as password), "bearer" (HTTPS
	// Authorization: Bearer) or "ssh" (the secret is a PEM private key).
	Kind string `json:"kind"`
	// Secret is the name of the store secret holding the token or key.
	Secret   string `json:"secret"`
	Username string `json:"username,omitempty"`
}

// DeploymentChange reports what ApplyDeployment did.
type DeploymentChange struct {
	Created bool `json:"created"`
	// Changed lists the JSON names of the fields that differ from the
	// stored deployment, sorted; empty when nothing changed.
	Changed []string `json:"changed,omitempty"`
	// Fields holds, for each name in Changed and in the same order, the
	// stored value and the applied one. Values of object members whose
	// names suggest a credential (password, passphrase, secret, token,
	// API key, private key, credential, authorization; case and - _ .
	// ignored) are replaced by "***": a diff may be printed.
	Fields []FieldChange `json:"fields,omitempty"`
}

// FieldChange is one changed field of a deployment: its JSON name and the
// old and new values (JSON; absent when the field was or became empty).
type FieldChange struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old,omitempty"`
	New   json.RawMessage `json:"new,omitempty"`
}

// Unchanged reports whether the apply changed nothing.
func (c DeploymentChange) Unchanged() bool { return !c.Created && len(c.Changed) == 0 }

// FlowRun is a flow run as the store holds it.
type FlowRun struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	Flow        string          `json:"flow"`
	FlowVersion string          `json:"flow_version,omitempty"`
	Deployment  string          `json:"deployment,omitempty"`
	Pool        string          `json:"pool,omitempty"`
	Queue       string          `json:"queue,omitempty"`
	Parameters  json.RawMessage `json:"parameters,omitempty"`
	Tags        []string        `json:"tags,omitempty"`
	State       flow.State      `json:"state"`
	// ScheduledAt is when the run is or was due.
	ScheduledAt time.Time `json:"scheduled_at,omitzero"`
	// Attempt counts executions, from 1; a retry after a lost worker
	// increments it. Retries and RetryDelay govern those retries.
	Attempt        int           `json:"attempt"`
	Retries        int           `json:"retries,omitempty"`
	RetryDelay     time.Duration `json:"retry_delay,omitempty"`
	ParentID       string        `json:"parent_id,omitempty"`
	IdempotencyKey string        `json:"idempotency_key,omitempty"`
	// Worker holds the run's lease until LeaseExpires.
	Worker           string          `json:"worker,omitempty"`
	LeaseExpires     time.Time       `json:"lease_expires,omitzero"`
	InfrastructureID string          `json:"infrastructure_id,omitempty"`
	SourceCommit     string          `json:"source_commit,omitempty"`
	JobVariables     json.RawMessage `json:"job_variables,omitempty"`
	// EventID is the event that created the run, if any.
	EventID string `json:"event_id,omitempty"`
	// Origin says what created the run: a schedule, a trigger, an API
	// request, a parent flow run.
	Origin  Origin    `json:"origin,omitzero"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// HookEvent returns what the state hooks of the flow run are told when
// the runtime runs them for it (see [Runs.ClaimHooks]): its record, its
// current state, and that state's message as the error.
func (r FlowRun) HookEvent() flow.HookEvent {
	ev := flow.HookEvent{
		Run: flow.RunRecord{
			ID: r.ID, Kind: flow.KindFlow, Name: r.Flow, RunName: r.Name, Version: r.FlowVersion,
			FlowRunID: r.ID, ParentID: r.ParentID, Tags: r.Tags, Parameters: r.Parameters, Created: r.Created,
		},
		State: r.State,
		// The runtime's execution of the run; which attempt of the
		// flow's own retry policy it reached is the child's to know.
		Execution: r.Attempt,
	}
	if r.State.Type != flow.TypeCompleted && r.State.Message != "" {
		ev.Err = errors.New(r.State.Message)
	}
	return ev
}

// OriginKind names what created a run.
type OriginKind string

// The kinds of [Origin].
const (
	// OriginSchedule is a run the scheduler planned from the deployment's
	// schedules (Origin.Schedules).
	OriginSchedule OriginKind = "schedule"
	// OriginTrigger is a run a trigger (Origin.Trigger) created for a
	// received event (FlowRun.EventID).
	OriginTrigger OriginKind = "trigger"
	// OriginAPI is a run created by an API request (Origin.APIKey names
	// the key it was made with).
	OriginAPI OriginKind = "api"
	// OriginSubflow is a flow run started by another flow run
	// (FlowRun.ParentID) and recorded by the engine.
	OriginSubflow OriginKind = "subflow"
	// OriginFlow is a flow run recorded by the engine that nothing else
	// created: a flow called directly by a program using the store.
	OriginFlow OriginKind = "flow"
)

// Origin is what created a run. The zero Origin is a run whose creator
// was not recorded (created through [Runs.CreateRun] without one, or
// stored before provenance was).
type Origin struct {
	Kind OriginKind `json:"kind,omitempty"`
	// Schedules are the keys of the schedules (see schedule.Spec.Key)
	// whose occurrence the run is: one, or several that fire at the same
	// time.
	Schedules []string `json:"schedules,omitempty"`
	// Trigger is the name of the trigger that created the run.
	Trigger string `json:"trigger,omitempty"`
	// APIKey names the API key of the request that created the run (its
	// name, never the key itself; "anonymous" on a server that accepts
	// requests without keys).
	APIKey string `json:"api_key,omitempty"`
}

// IsZero reports whether o records nothing.
func (o Origin) IsZero() bool {
	return o.Kind == "" && len(o.Schedules) == 0 && o.Trigger == "" && o.APIKey == ""
}

// String describes the origin in a few words: "schedule cron 0 2 * * *
// in UTC", "trigger f5-as3 (event 01J...)", "api key ops".
func (o Origin) String() string {
	switch o.Kind {
	case "":
		return "unknown"
	case OriginSchedule:
		if len(o.Schedules) == 0 {
			return "schedule"
		}
		return "schedule " + strings.Join(o.Schedules, " + ")
	case OriginTrigger:
		if o.Trigger == "" {
			return "trigger"
		}
		return "trigger " + o.Trigger
	case OriginAPI:
		if o.APIKey == "" {
			return "api (no key)"
		}
		return "api key " + o.APIKey
	}
	return string(o.Kind)
}

// RunSpec asks for a flow run.
type RunSpec struct {
	// ID is generated when empty.
	ID string
	// Deployment names the deployment the run belongs to, which must
	// exist; Flow, Pool, Queue, Retries, RetryDelay and JobVariables
	// default to the deployment's, and the run carries the deployment's
	// tags before its own. Parameters are used as given: merging
	// deployment, schedule, event and request parameters is the caller's.
	Deployment   string
	Flow         string
	Name         string
	Pool         string
	Queue        string
	Parameters   json.RawMessage
	Tags         []string
	JobVariables json.RawMessage
	// State is the first state: Scheduled (with ScheduledAt) or Pending.
	// The zero State means Scheduled at the current time.
	State    flow.State
	ParentID string
	// IdempotencyKey makes creation idempotent within the deployment.
	IdempotencyKey string
	// Retries and RetryDelay: see [FlowRun]. A negative Retries means
	// none, overriding the deployment's.
	Retries    int
	RetryDelay time.Duration
	// Origin records what creates the run. [Runs.PlanSchedules] sets
	// Kind to [OriginSchedule] when empty.
	Origin Origin
	// ThrottleKey and Throttle skip the spec when a run of the same
	// deployment with the same key was created less than Throttle ago
	// (at most one run per node within a minute, say). Only AcceptEvent
	// and CreateScheduledRuns skip; CreateRun returns the recent run.
	ThrottleKey string
	Throttle    time.Duration
}

// RunInfo is where a claimed run executes.
type RunInfo struct {
	InfrastructureID string `json:"infrastructure_id,omitempty"`
	SourceCommit     string `json:"source_commit,omitempty"`
}

// RunFilter selects flow runs for [Runs.ListRuns]. Zero fields match
// everything.
type RunFilter struct {
	States     []flow.StateType
	Deployment string
	Flow       string
	Tag        string
	ParentID   string
	// Origin selects the runs created this way.
	Origin        OriginKind
	CreatedAfter  time.Time
	CreatedBefore time.Time
	// Limit is the page size: default 100, at most 1000.
	Limit  int
	Cursor string
}

// Claim asks [Runs.ClaimRun] for a run.
type Claim struct {
	Pool string
	// Queues restricts the claim to these queues of the pool; empty means
	// every queue. Runs of higher-priority queues (lower Priority) go
	// first, then the earliest due.
	Queues []string
	Worker string
	Lease  time.Duration
	// Now is the current time; runs due after it are not claimed.
	Now time.Time
}

// Reaped is a run whose worker lost its lease.
type Reaped struct {
	RunID  string `json:"run_id"`
	Worker string `json:"worker"`
	// State is where the run ended up: Crashed, Cancelled, or
	// AwaitingRetry with Attempt incremented.
	State   flow.State `json:"state"`
	Attempt int        `json:"attempt"`
}

// Op is one engine event in a [Runs.Record] batch: a run created (Create
// set) or a state set on RunID (with an optional result).
type Op struct {
	Create *flow.RunRecord
	RunID  string
	State  flow.State
	Result *flow.Result
	// Fence, when set, is the execution the op comes from: the op is
	// stored only while that execution is current, else it fails alone
	// with a *[FencedError] (see [Fence]). A [Recorder] sets it from the
	// context of CreateRun, SetState and Log ([WithFence]).
	Fence *Fence
	// Logs, when set, makes the op a batch of log records of the
	// execution Fence names (Create, RunID and State unset): they are
	// stored only while it is current. A [Recorder] makes such ops for
	// the records logged with a fenced context.
	Logs []flow.LogRecord
}

// TaskRun is a task run with its state history.
type TaskRun struct {
	flow.RunRecord
	State   flow.State   `json:"state"`
	History []flow.State `json:"history"`
	Updated time.Time    `json:"updated"`
}

// LogQuery selects log records for [Runs.Logs].
type LogQuery struct {
	// FlowRunID selects a flow run's records, its task runs' included;
	// RunID narrows them to one run. One of them is required.
	FlowRunID string
	RunID     string
	// After is a cursor: records after it are returned. 0 reads from the
	// start.
	After int64
	// Limit is the page size: default 1000, at most 10000.
	Limit int
}

// LogEntry is a stored log record with its cursor position.
type LogEntry struct {
	ID int64 `json:"id"`
	flow.LogRecord
}

// Pool is a work pool: workers of its type poll it for runs and start them
// from its job template.
type Pool struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	Description string `json:"description,omitempty"`
	// JobTemplate is the launcher's job template, JSON.
	JobTemplate json.RawMessage `json:"job_template,omitempty"`
	Paused      bool            `json:"paused,omitempty"`
	// ConcurrencyLimit caps the pool's runs that are claimed and not
	// final; 0 means no limit. A full pool hands out no run.
	ConcurrencyLimit int `json:"concurrency_limit,omitempty"`
	// Lease is how long a worker's claim on a run of the pool holds
	// without renewal (0: [DefaultLease]); Heartbeat is how often the
	// pool's workers renew their leases and record that they live (0:
	// Lease/3; at most Lease/2). See [Pool.Timing] for the trade-off.
	Lease     time.Duration `json:"lease,omitempty"`
	Heartbeat time.Duration `json:"heartbeat,omitempty"`
	Created   time.Time     `json:"created"`
	Updated   time.Time     `json:"updated"`
}

// DefaultLease is the lease of a pool that sets none: with renewals every
// Lease/3 and the scheduler reaping every 2 seconds, a dead worker's runs
// are detected within about 12 seconds.
const DefaultLease = 10 * time.Second

// MinLease is the shortest lease a pool may set.
const MinLease = 100 * time.Millisecond

// Timing returns the pool's lease and heartbeat, defaults applied.
//
// The lease is the time after which the runs of a worker that stopped
// renewing (it died, or lost the store) are reaped: Crashed, and retried
// per their policy. A worker renews every heartbeat, and stops a run it
// could not renew before 4/5 of its lease have passed (its child
// processes stop themselves then too), so that the run has stopped before
// the reaper may give it to another worker. A shorter lease detects a
// dead worker sooner (about Lease − Heartbeat/2 plus half the reap
// interval, on average) but costs more writes (one per running run per
// heartbeat) and stops the runs of a worker that cannot reach the store
// for longer than about Lease·4/5 − Heartbeat: a database failover
// slower than that crashes the runs in flight into their retries instead
// of waiting it out. Clocks of workers and servers must agree to within
// Lease/5.
func (p Pool) Timing() (lease, heartbeat time.Duration) {
	lease, heartbeat = p.Lease, p.Heartbeat
	if lease <= 0 {
		lease = DefaultLease
	}
	if heartbeat <= 0 || heartbeat > lease/2 {
		heartbeat = lease / 3
	}
	return lease, heartbeat
}

// Queue is a queue of a work pool.
type Queue struct {
	Pool string `json:"pool"`
	Name string `json:"name"`
	// Priority orders queues for claiming: lower first.
	Priority int  `json:"priority"`
	Paused   bool `json:"paused,omitempty"`
}

// Worker is a worker polling a pool.
type Worker struct {
	Name string `json:"name"`
	Pool string `json:"pool"`
	// Info is free-form JSON the worker reports (host, version, launcher).
	Info json.RawMessage `json:"info,omitempty"`
	// LastSeen is the last heartbeat; Heartbeat uses the current time
	// when it is zero.
	LastSeen time.Time `json:"last_seen"`
}

// Block is a named configuration document: non-secret fields as JSON in
// Data, secret fields apart in Secrets (by field path), encrypted at rest.
// [SaveConfig] and [LoadConfig] map Go structs onto blocks.
type Block struct {
	Name    string            `json:"name"`
	Type    string            `json:"type"`
	Data    json.RawMessage   `json:"data"`
	Secrets map[string]Secret `json:"secrets,omitempty"`
	// SecretFields lists the keys of Secrets; list methods set it and
	// leave Secrets nil.
	SecretFields []string  `json:"secret_fields,omitempty"`
	Updated      time.Time `json:"updated"`
}

// SecretInfo describes a stored secret without its value.
type SecretInfo struct {
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Updated time.Time `json:"updated"`
}

// Event is a received event: a webhook call, say.
type Event struct {
	// ID is the sender's event ID, the deduplication key.
	ID     string `json:"id"`
	Source string `json:"source"`
	Type   string `json:"type"`
	// Payload is the event body, JSON.
	Payload json.RawMessage `json:"payload"`
	// Received is set by AcceptEvent when zero.
	Received time.Time `json:"received"`
	// RunIDs are the runs the event created; empty for an unmatched event.
	RunIDs []string `json:"run_ids,omitempty"`
}

// Accepted is the outcome of [Events.AcceptEvent].
type Accepted struct {
	RunIDs []string `json:"run_ids"`
	// Duplicate is set when the event had been accepted before.
	Duplicate bool `json:"duplicate,omitempty"`
}

// EventFilter selects events for [Events.ListEvents].
type EventFilter struct {
	Source string
	Type   string
	// Unmatched selects only events that created no run.
	Unmatched bool
	Limit     int
	Cursor    string
}

// FlowOf returns what to register for a flow definition: its name,
// version, description and parameter schema.
func FlowOf(def flow.Definition) Flow {
	d := def.Describe()
	return Flow{Name: d.Name, Version: d.Version, Description: d.Description, Parameters: d.Parameters}
}

// SchedulePlan is what a scheduler pass does for one deployment: the runs
// its schedules make up to a new planned-through instant per schedule,
// applied by [Runs.PlanSchedules] only if the stored planning state is
// still the one the plan was computed from.
//
// A plan made for a newer [Deployment.Generation] than the stored state's
// first replaces what the older generation planned, in its transaction:
// the deployment's runs that the scheduler created and that have not
// started (Scheduled or Late, first attempt, no worker) are deleted when
// they are due at or after ReplanFrom, or when none of their schedules
// (Origin.Schedules) is among the keys of Through any more (a schedule
// changed, removed or turned inactive); the others are kept. The plan's
// Through must then start the kept schedules before ReplanFrom, so that
// its Runs re-create what was deleted, as the deployment now says. Runs
// created another way, and runs that started, are never touched. Until
// that plan is applied, the stale runs are not claimed.
type SchedulePlan struct {
	Deployment string
	// Expect is the planning state read before planning, by schedule
	// key (nil or empty: none stored). The plan applies only if the
	// stored state equals it.
	Expect map[string]time.Time
	// ExpectGeneration is the generation of the planning state read
	// with Expect (0: none stored); the plan applies only if the stored
	// one is still it.
	ExpectGeneration int64
	// Generation is the deployment's generation the plan was computed
	// from; the plan applies only while the deployment is at it, and
	// its runs carry it.
	Generation int64
	// ReplanFrom is the instant from which a plan for a new generation
	// replaces the runs planned before (the scheduler's now).
	ReplanFrom time.Time
	// Through is the new planning state, by schedule key; it replaces
	// the stored one.
	Through map[string]time.Time
	// Runs are the runs to create, each unique per (Deployment,
	// ScheduledAt) as in [Runs.CreateScheduledRuns]. A run due in the
	// past may start in state Late.
	Runs []RunSpec
	// Skipped are occurrences the late policy skipped, each recorded as
	// a run created Cancelled with its reason (one per deployment and
	// time, like Runs). Each Spec needs a Scheduled state with the
	// occurrence's time.
	Skipped []SkippedRun
	// LateBefore, when set, is the instant before which a run is late
	// (the scheduler's now less its grace). The deployment's runs created
	// ahead that are still Scheduled or Late and due before it meet the
	// deployment's late policy in the plan's transaction: under
	// [LateSkip] they are Cancelled; under [LateRunLatest] all but the
	// latest are. Retries (AwaitingRetry) are left alone.
	LateBefore time.Time
}

// SkippedRun is an occurrence of a schedule that is recorded but not run.
type SkippedRun struct {
	Spec   RunSpec
	Reason string
}

// ScheduleState is a deployment's stored planning state.
type ScheduleState struct {
	// Through holds, by schedule key, the instant up to which the
	// schedule's runs are planned.
	Through map[string]time.Time
	// Generation is the deployment generation the state was planned
	// under.
	Generation int64
}

// PlanResult is the outcome of one [SchedulePlan].
type PlanResult struct {
	// Created are the IDs of the runs created, skipped ones included.
	Created []string
	// Deleted are the IDs of the planned runs the plan replaced (a plan
	// for a new generation; see [SchedulePlan]).
	Deleted []string
	// Err is a *[ConflictError] when the stored planning state was not
	// the plan's Expect: nothing of the plan was written.
	Err error
}
