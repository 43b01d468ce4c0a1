package wire

import (
	"encoding/json"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Approvals answers GET /api/v1/approvals: the runs waiting for input,
// oldest first.
type Approvals struct {
	Items []store.InputInfo `json:"items"`
}

// AnswerInput is the body of POST /api/v1/runs/{id}/approve (Input: the
// answer, checked against the request's schema) and .../reject (Reason,
// required). Key names the gate; empty means the run's oldest waiting
// one.
type AnswerInput struct {
	Key    string          `json:"key,omitempty"`
	Input  json.RawMessage `json:"input,omitempty"`
	Reason string          `json:"reason,omitempty"`
}

// InputRequested answers POST /api/v1/runs/{id}/inputs, by which a flow
// binary (run token) records a gate's request: the stored request and its
// answer, nil while it waits.
type InputRequested struct {
	Request flow.InputRequest `json:"request"`
	Answer  *flow.Answer      `json:"answer,omitempty"`
}

// ExpireInput is the body of POST /api/v1/runs/{id}/inputs/expire: the
// gate Key timed out at Now (the server's clock when zero).
type ExpireInput struct {
	Key string    `json:"key"`
	Now time.Time `json:"now,omitzero"`
}
