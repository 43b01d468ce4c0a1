package wire

import (
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// BulkAction is what POST /api/v1/runs/bulk does to each run it selects.
type BulkAction string

// The bulk actions and the permission each needs of the caller's role.
const (
	// BulkCancel cancels each run (runs.cancel): a Scheduled run at
	// once, a running one through Cancelling.
	BulkCancel BulkAction = "cancel"
	// BulkRetry schedules each Failed or Crashed run again now
	// (runs.create), as AwaitingRetry; others are skipped.
	BulkRetry BulkAction = "retry"
	// BulkSetState moves each run to State through the transition table
	// (admin).
	BulkSetState BulkAction = "set-state"
)

// BulkFilter selects runs as GET /api/v1/runs does. At least one field
// must be set: a bulk action over every run is refused.
type BulkFilter struct {
	States        []flow.StateType `json:"states,omitempty"`
	Deployment    string           `json:"deployment,omitempty"`
	Flow          string           `json:"flow,omitempty"`
	Tag           string           `json:"tag,omitempty"`
	Origin        string           `json:"origin,omitempty"`
	CreatedAfter  time.Time        `json:"created_after,omitzero"`
	CreatedBefore time.Time        `json:"created_before,omitzero"`
}

// BulkRuns asks POST /api/v1/runs/bulk to act on many runs: those of
// IDs, or those Filter matches (newest first), at most Limit (default
// and maximum 1000; the answer says Truncated when more matched).
// Nothing is deleted: each change is a state transition kept in the
// run's history, its message the Reason and who asked.
type BulkRuns struct {
	Action BulkAction `json:"action"`
	Filter BulkFilter `json:"filter,omitzero"`
	IDs    []string   `json:"ids,omitempty"`
	// State is the state set-state sets (name, message).
	State  *flow.State `json:"state,omitempty"`
	Reason string      `json:"reason,omitempty"`
	Limit  int         `json:"limit,omitempty"`
	// DryRun lists the runs the action would touch and changes nothing.
	DryRun bool `json:"dry_run,omitempty"`
}

// BulkItem is one run of a [BulkResult]: its new state, or why it was
// skipped.
type BulkItem struct {
	ID    string      `json:"id"`
	State *flow.State `json:"state,omitempty"`
	Error string      `json:"error,omitempty"`
}

// BulkResult answers POST /api/v1/runs/bulk.
type BulkResult struct {
	Action BulkAction `json:"action"`
	// Matched counts the runs selected (at most the request's limit).
	Matched   int  `json:"matched"`
	Truncated bool `json:"truncated,omitempty"`
	DryRun    bool `json:"dry_run,omitempty"`
	// Changed are the runs acted on (with a dry run: would be).
	Changed []BulkItem `json:"changed"`
	// Skipped are the runs the action did not apply to, with why.
	Skipped []BulkItem `json:"skipped"`
}

// SecretValue is the body of PUT /api/v1/secrets/{name}. No answer of
// the API carries it back.
type SecretValue struct {
	Value string `json:"value"`
}

// String hides the value from logs and fmt output.
func (v SecretValue) String() string { return "SecretValue(***)" }
