package store

import (
	"context"
	"encoding/json"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// Store is the orchestrator's durable state. The drivers in the sqlite and
// postgres sub-packages implement it with identical semantics, checked by
// the storetest conformance suite.
//
// Every method takes a context first and is safe for concurrent use, also
// from several processes sharing one database. Every write is one
// transaction: it happens completely or not at all. Every state change of
// a run is checked with [flow.CheckTransition] inside that transaction; an
// illegal one returns the *[flow.TransitionError] and writes nothing.
//
// Lookups of something that does not exist return an error matching
// [ErrNotFound] (a *[NotFoundError] naming it); bad input returns a
// *[InvalidError] naming the field.
type Store interface {
	Flows
	Deployments
	Runs
	Workers
	Slots
	Configs
	Events

	// Ping reports whether the database answers reads, for readiness
	// checks. It does not wait for a write in progress.
	Ping(ctx context.Context) error
	// Close releases the database connections. Methods called after Close
	// return errors.
	Close() error
}

// Flows registers the flows a binary knows.
type Flows interface {
	// RegisterFlow creates or updates the flow with f's name and version.
	RegisterFlow(ctx context.Context, f Flow) error
	// GetFlow returns the most recently registered version of a flow.
	GetFlow(ctx context.Context, name string) (Flow, error)
	// ListFlows returns the latest version of every flow, by name.
	ListFlows(ctx context.Context) ([]Flow, error)
}

// Deployments holds deployments: a flow with its defaults, schedules,
// placement and limits.
type Deployments interface {
	// ApplyDeployment creates the deployment or updates the one with the
	// same name, and reports what changed. Created, Updated and ID are
	// kept from the stored deployment. Applying the same deployment twice
	// reports no change and writes nothing.
	ApplyDeployment(ctx context.Context, d Deployment) (DeploymentChange, error)
	GetDeployment(ctx context.Context, name string) (Deployment, error)
	// ListDeployments returns every deployment, by name.
	ListDeployments(ctx context.Context) ([]Deployment, error)
	// SetDeploymentPaused pauses or resumes a deployment's schedules. A
	// paused deployment's runs are not claimed.
	SetDeploymentPaused(ctx context.Context, name string, paused bool) error
	// DeleteDeployment removes a deployment. Its runs stay, except those
	// its schedules planned that have not started, which are deleted
	// with it.
	DeleteDeployment(ctx context.Context, name string) error
}

// Runs holds flow runs and task runs, their states, results and logs, and
// hands runs to workers.
type Runs interface {
	// CreateRun creates a flow run. With an idempotency key already used
	// in the same deployment it returns the existing run and created
	// false, writing nothing. The first state must be Scheduled (with
	// ScheduledAt) or Pending; the zero state means Scheduled now.
	CreateRun(ctx context.Context, spec RunSpec) (run FlowRun, created bool, err error)
	// CreateScheduledRuns creates the runs a schedule makes, each unique
	// per (Deployment, ScheduledAt): a spec whose slot already has a run
	// is skipped, so every scheduler replica and restart may call it with
	// the same specs. Each spec needs a Deployment and a Scheduled state.
	// It returns the IDs of the runs it created.
	CreateScheduledRuns(ctx context.Context, specs []RunSpec) (created []string, err error)
	// PlanSchedules applies scheduler plans, each all or nothing and
	// compare-and-set on its deployment's planning state: a plan whose
	// Expect or ExpectGeneration is not the stored state, or whose
	// Generation is not the deployment's, gets a *[ConflictError] in its
	// result and writes nothing; the others create their runs and store
	// their new planning state in the same transaction, so that runs and
	// planned-through instants never disagree, whatever replicas and
	// restarts do. err is a failure of the whole call, which then wrote
	// nothing.
	PlanSchedules(ctx context.Context, plans []SchedulePlan) ([]PlanResult, error)
	// ScheduleStates returns the stored planning state of every
	// deployment that has one, by deployment name.
	ScheduleStates(ctx context.Context) (map[string]ScheduleState, error)
	GetRun(ctx context.Context, id string) (FlowRun, error)
	// RunHistory returns every state of a flow run, oldest first.
	RunHistory(ctx context.Context, id string) ([]flow.State, error)
	// ListRuns returns flow runs matching f, newest first, one page at a
	// time: pass the returned cursor as f.Cursor for the next page; an
	// empty cursor means there is none.
	ListRuns(ctx context.Context, f RunFilter) (runs []FlowRun, next string, err error)
	// SetRunState moves a flow run to s. res, when non-nil, stores the
	// run's result with it (a Completed state). A final state releases
	// the run's lease.
	SetRunState(ctx context.Context, id string, s flow.State, res *flow.Result) (FlowRun, error)
	// UpdateRunInfo records where a claimed run executes. It is fenced
	// like SetRunState.
	UpdateRunInfo(ctx context.Context, id string, info RunInfo) error
	// CancelRun asks a run to stop. A run no worker holds (Scheduled, or
	// Pending without a worker) is Cancelled at once; a claimed or running
	// one moves to Cancelling, which its worker sees in [Runs.RenewLease]
	// and answers with a Cancelled state. It returns the new state.
	CancelRun(ctx context.Context, id, reason string) (flow.State, error)
	// RunResult returns a completed flow run's result.
	RunResult(ctx context.Context, id string) (json.RawMessage, bool, error)

	// ClaimRun gives one due run of c.Pool to c.Worker, moving it from
	// Scheduled, Late or AwaitingRetry to Pending, with a lease until
	// c.Now + c.Lease. Each run is claimed by exactly one caller, however
	// many claim at once. A run still leased (AwaitingRetry while its
	// execution retries it in place) is not due: it is held until its
	// worker finishes it or the reaper crashes it. Runs of paused
	// deployments and pools and queues are skipped, and a pool at its concurrency limit gives none; a run
	// whose deployment is at its concurrency limit
	// waits (CollisionEnqueue) or is Cancelled (CollisionCancelNew). ok is
	// false when no run is due.
	ClaimRun(ctx context.Context, c Claim) (run FlowRun, ok bool, err error)
	// ClaimRuns is ClaimRun for up to max runs at once, in one
	// transaction: a worker with several free slots claims them together.
	// Limits hold across the batch (a pool or deployment limit counts the
	// runs claimed before in the same call). It returns no runs, and no
	// error, when none is due; max must be positive.
	ClaimRuns(ctx context.Context, c Claim, max int) ([]FlowRun, error)
	// RenewLease extends the lease worker holds on a run until until and
	// returns the run's current state: a worker that sees Cancelling stops
	// the run. It returns an error matching [ErrLeaseLost] when the run is
	// final or held by another worker (its lease expired and it was
	// reaped), and when ctx carries a fence ([WithFence]) of the run at
	// another attempt (reaped and claimed again by the same worker).
	RenewLease(ctx context.Context, runID, worker string, until time.Time) (flow.State, error)
	// CrashRun records that execution f of a run ended without a final
	// state while its worker lived (its child process or container
	// exited): Crashed with message, or Cancelled when the run was
	// Cancelling, and then, like [Runs.ReapExpiredLeases], AwaitingRetry
	// with the attempt incremented, due after the retry delay, when
	// retries remain. A stale f (the run was reaped or claimed again)
	// gets a *[FencedError] and changes nothing; a run already final is
	// returned unchanged.
	CrashRun(ctx context.Context, f Fence, message string) (FlowRun, error)
	// ReapExpiredLeases marks the runs whose lease expired before now as
	// Crashed (Cancelled if they were Cancelling). A crashed run with
	// retries left moves on to AwaitingRetry, due after its retry delay,
	// with its attempt number incremented. Either way the run's worker is
	// released, so that the lost execution is fenced off ([Fence]). It
	// returns what it did (naming the worker that lost the lease).
	ReapExpiredLeases(ctx context.Context, now time.Time) ([]Reaped, error)
	// ClaimHooks gives c.Worker a run of c.Pool whose state hooks are
	// owed: a run the runtime ended itself ([Runs.ReapExpiredLeases] or
	// [Runs.CrashRun] recorded it Crashed with no retry left, or
	// Cancelled), whose flow could not run its hooks where it executed.
	// The claim holds for c.Lease: hooks not marked run by then
	// ([Runs.HooksRun]) are due again, so that a worker dying while it
	// runs them leaves them to another. ok is false when none is due.
	ClaimHooks(ctx context.Context, c Claim) (run FlowRun, ok bool, err error)
	// HooksRun records that the state hooks of run id have run (or could
	// not be, which the caller logs on the run): they are owed no more.
	HooksRun(ctx context.Context, id string) error

	// Record applies a batch of engine events (runs created, states set,
	// results) and log records in one transaction. With a fence in ctx
	// ([WithFence]) a batch of a stale execution fails as a whole with a
	// *[FencedError]; an op carrying its own [Op.Fence] fails alone. An op that fails on its own (an illegal
	// transition, an unknown run) writes nothing and gets its error in
	// errs at its index; the others are committed. err is a failure of the
	// whole batch, which then wrote nothing. The [Recorder] calls it.
	Record(ctx context.Context, ops []Op, logs []flow.LogRecord) (errs []error, err error)
	// AppendLogs stores log records. With a fence in ctx ([WithFence])
	// it stores nothing for a stale execution (*[FencedError]).
	AppendLogs(ctx context.Context, recs []flow.LogRecord) error
	// Logs returns log records of a flow run (or one of its task runs)
	// after a cursor, oldest first. The returned cursor reads on from
	// there, also for records appended later: polling with it follows a
	// run live without gaps or repeats.
	Logs(ctx context.Context, q LogQuery) (recs []LogEntry, next int64, err error)
	// TaskRuns returns a flow run's task runs, in creation order.
	TaskRuns(ctx context.Context, flowRunID string) ([]TaskRun, error)

	// PruneRuns deletes the flow runs that reached a final state before
	// before, with their states, task runs, results and logs, and expired
	// cache entries. It works in transactions of a few hundred runs, so
	// that other writers are not held up, and returns how many flow runs
	// it deleted.
	PruneRuns(ctx context.Context, before time.Time) (int, error)

	// RunResults and CachedResult implement [flow.ResultStore].
	RunResults(ctx context.Context, flowRunID string) (map[string]json.RawMessage, error)
	CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error)
}

// Workers holds work pools, their queues and the workers polling them.
type Workers interface {
	// ApplyPool creates or updates a work pool.
	ApplyPool(ctx context.Context, p Pool) error
	GetPool(ctx context.Context, name string) (Pool, error)
	ListPools(ctx context.Context) ([]Pool, error)
	// ApplyQueue creates or updates a queue of an existing pool.
	ApplyQueue(ctx context.Context, q Queue) error
	// ListQueues returns a pool's queues, by priority then name.
	ListQueues(ctx context.Context, pool string) ([]Queue, error)
	// Heartbeat records that a worker is alive, creating it on first call.
	Heartbeat(ctx context.Context, w Worker) error
	// ListWorkers returns the workers of a pool ("" for all), by name.
	ListWorkers(ctx context.Context, pool string) ([]Worker, error)
}

// Slots enforces tag concurrency limits across every worker sharing the
// store. [NewLimiter] implements [flow.Limiter] on it.
type Slots interface {
	// SetTagLimit sets how many runs carrying tag may hold a slot at once.
	// A tag ending in "*" is a pattern giving each tag it matches its own
	// limit, as in task.Limits. A limit of 0 removes it.
	SetTagLimit(ctx context.Context, tag string, limit int) error
	// TagLimits returns every limit by tag or pattern.
	TagLimits(ctx context.Context) (map[string]int, error)
	// AcquireSlots takes one slot of every limited tag in tags for holder,
	// until until, all or none: ok is false (and nothing is held) when one
	// of them is full. Slots whose lease expired count as free.
	AcquireSlots(ctx context.Context, holder string, tags []string, until time.Time) (ok bool, err error)
	// RenewSlots extends holder's slots until until.
	RenewSlots(ctx context.Context, holder string, until time.Time) error
	// ReleaseSlots frees holder's slots.
	ReleaseSlots(ctx context.Context, holder string) error
	// SlotsInUse returns how many unexpired slots of tag are held at now.
	SlotsInUse(ctx context.Context, tag string, now time.Time) (int, error)
}

// Configs holds config blocks, secrets and variables. Secrets and the
// secret fields of blocks are encrypted at rest with the store's key (see
// [Options]); list methods never return their values.
type Configs interface {
	// SaveBlock creates or replaces a block.
	SaveBlock(ctx context.Context, b Block) error
	// GetBlock returns a block with its secret fields decrypted. A block
	// that cannot be decrypted is an error, never an empty value.
	GetBlock(ctx context.Context, name string) (Block, error)
	// ListBlocks returns every block without secret values (Secrets holds
	// the field names, each masked).
	ListBlocks(ctx context.Context) ([]Block, error)
	DeleteBlock(ctx context.Context, name string) error

	PutSecret(ctx context.Context, name string, value Secret) error
	GetSecret(ctx context.Context, name string) (Secret, error)
	// ListSecrets returns secret names and times, never values.
	ListSecrets(ctx context.Context) ([]SecretInfo, error)
	DeleteSecret(ctx context.Context, name string) error

	// SetVariable stores a JSON value under name.
	SetVariable(ctx context.Context, name string, value json.RawMessage) error
	GetVariable(ctx context.Context, name string) (json.RawMessage, error)
	ListVariables(ctx context.Context) (map[string]json.RawMessage, error)
	DeleteVariable(ctx context.Context, name string) error
}

// KeyRotator is implemented by a [Store] whose encrypted values can be
// sealed again under a new key: `secrets rotate`.
type KeyRotator interface {
	// RotateKey opens every secret, secret block field and sensitive
	// result not sealed with to (with the store's key and previous keys)
	// and seals it with to, all in one transaction; the store then seals
	// with to. Set to as the key of every process before dropping the
	// old one (keep it in [Options].PreviousKeys meanwhile).
	RotateKey(ctx context.Context, to *Key) (RotateReport, error)
}

// RotateReport says what [KeyRotator.RotateKey] sealed again.
type RotateReport struct {
	// Secrets, Blocks and Results count the values sealed again.
	Secrets, Blocks, Results int
	// Key is the ID of the key they are sealed with now; From the IDs of
	// the keys they were sealed with ("(unnamed)" for values of the
	// earlier format).
	Key  string
	From []string
}

// Events stores received events and the runs they start.
type Events interface {
	// AcceptEvent stores ev and creates the runs match returns for it, in
	// one transaction: when AcceptEvent returns without error, the event
	// and its runs are durable. match runs inside the transaction, must
	// be quick and must not call the store; it sees the event as stored
	// (Received set). An event whose ID was accepted before is not matched
	// again: the result has Duplicate set and the run IDs created the
	// first time. An event matching nothing is kept, listed as unmatched.
	// An error from match, or from creating a run, stores nothing.
	AcceptEvent(ctx context.Context, ev Event, match func(Event) ([]RunSpec, error)) (Accepted, error)
	// ListEvents returns received events, newest first, paginated like
	// [Runs.ListRuns].
	ListEvents(ctx context.Context, f EventFilter) (evs []Event, next string, err error)
	// PruneEvents deletes the events received before before, in
	// transactions of a few hundred, and returns how many it deleted. A
	// pruned event's ID is accepted again: keep events longer than a
	// source's signatures stay valid (its timestamp tolerance).
	PruneEvents(ctx context.Context, before time.Time) (int, error)
}

// Wrapper is a store that adds behaviour to another one (the API's
// metrics, for instance) and forwards the rest; [As] looks through it for
// the optional interfaces a store may implement ([Inputs], [RunNotifier],
// [KeyRotator]).
type Wrapper interface {
	Unwrap() Store
}

// As returns st as T when st, or a store it wraps ([Wrapper]),
// implements T.
func As[T any](st Store) (T, bool) {
	for st != nil {
		if t, ok := st.(T); ok {
			return t, true
		}
		w, ok := st.(Wrapper)
		if !ok {
			break
		}
		st = w.Unwrap()
	}
	var zero T
	return zero, false
}
