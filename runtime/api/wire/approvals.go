package wire

import (
	"encoding/json"

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
