package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// Inputs stores the input requests of approval gates ([flow.WaitForInput])
// and their answers, and suspends and resumes the runs that wait for them.
// Both SQL drivers implement it; it is apart from [Store] so that other
// implementations of Store keep compiling: check with a type assertion.
//
// The life of a gate: the engine records the request (RequestInput) and
// moves the run to Paused (AwaitingInput). An answer (AnswerInput) or the
// deadline passing is recorded on the request. A run whose execution gave
// up waiting is suspended (SuspendRun: its lease and worker cleared, its
// tag slots freed, so that it costs no worker slot); an answer or a passed
// deadline (ResumeDueInputs) moves a suspended run to Scheduled
// (Resuming), and the next claim hands it to a worker, which executes it
// again with its completed tasks' results reused.
type Inputs interface {
	// RequestInput implements [flow.InputBroker.RequestInput]: it stores
	// req unless its run already has a request with its key, and returns
	// the stored request and answer. The run must exist.
	RequestInput(ctx context.Context, req flow.InputRequest) (flow.InputRequest, *flow.Answer, error)
	// GetInput returns a request with its run and answer; key "" means
	// the run's oldest unanswered request (else its latest one).
	GetInput(ctx context.Context, runID, key string) (InputInfo, error)
	// ListInputs returns unanswered requests, oldest first.
	ListInputs(ctx context.Context, f InputFilter) ([]InputInfo, error)
	// AnswerInput records a's answer to the request (a.By, a.At set by
	// the caller, who checked who may answer and the input's schema):
	// ErrAnswered when it was answered already. A suspended run moves
	// to Resuming in the same transaction; a run whose execution still
	// waits gets the answer from it (InputAnswer).
	AnswerInput(ctx context.Context, runID, key string, a flow.Answer) (InputInfo, error)
	// InputAnswer returns the request's answer, nil while unanswered.
	InputAnswer(ctx context.Context, runID, key string) (*flow.Answer, error)
	// ExpireInput implements [flow.InputBroker.ExpireInput].
	ExpireInput(ctx context.Context, runID, key string, now time.Time) (*flow.Answer, error)
	// SuspendRun ends execution f of a run left Paused (AwaitingInput):
	// the lease and worker are cleared and its tag slots freed; when its
	// request was answered meanwhile, it moves to Resuming at once.
	// A run in another state is returned unchanged.
	SuspendRun(ctx context.Context, f Fence) (FlowRun, error)
	// ResumeDueInputs records the timeout of the unanswered requests of
	// suspended runs whose deadline passed before now and moves those
	// runs to Resuming, so that their flow meets the timeout; it returns
	// their IDs.
	ResumeDueInputs(ctx context.Context, now time.Time) ([]string, error)
}

// InputInfo is a stored input request with its run and answer.
type InputInfo struct {
	flow.InputRequest
	// Answer is nil while the request waits.
	Answer *flow.Answer `json:"answer,omitempty"`
	// Flow, Deployment and RunName are the run's; Creator is the API key
	// that created it (Origin.APIKey), for four-eyes checks.
	Flow       string     `json:"flow"`
	Deployment string     `json:"deployment,omitempty"`
	RunName    string     `json:"run_name"`
	Creator    string     `json:"creator,omitempty"`
	State      flow.State `json:"state"`
}

// InputFilter narrows ListInputs.
type InputFilter struct {
	Deployment string
	// Limit is at most how many to return (0: 100).
	Limit int
}

// ErrAnswered is returned for an answer to a request already answered
// (or timed out).
var ErrAnswered = flow.ErrAnswered

// InputBroker is the [flow.InputBroker] of runs executing against a
// store: requests and answers are stored, and an execution that waits
// polls for its answer every Poll (default 1 s).
type InputBroker struct {
	Store Inputs
	Poll  time.Duration
}

// RequestInput implements [flow.InputBroker].
func (b *InputBroker) RequestInput(ctx context.Context, req flow.InputRequest) (flow.InputRequest, *flow.Answer, error) {
	return b.Store.RequestInput(ctx, req)
}

// ExpireInput implements [flow.InputBroker].
func (b *InputBroker) ExpireInput(ctx context.Context, runID, key string, now time.Time) (*flow.Answer, error) {
	return b.Store.ExpireInput(ctx, runID, key, now)
}

// WaitInput implements [flow.InputBroker] by polling the store.
func (b *InputBroker) WaitInput(ctx context.Context, runID, key string) (*flow.Answer, error) {
	poll := b.Poll
	if poll <= 0 {
		poll = time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		a, err := b.Store.InputAnswer(ctx, runID, key)
		if a != nil || (err != nil && !IsUnavailable(err)) {
			return a, err
		}
		select {
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		case <-t.C:
		}
	}
}

// CheckAnswer checks an answer to info before it is stored: who may give
// it ([flow.Answerers.Allows], with the run's creator), that the request
// still waits, and that a rejection has a reason. The input's schema is
// the API's to check (it has the validator).
func CheckAnswer(info InputInfo, who flow.Responder, a flow.Answer) error {
	if info.Answer != nil {
		return fmt.Errorf("run %s input %s: %w", info.RunID, info.Key, ErrAnswered)
	}
	if err := info.Answerers.Allows(who, info.Creator); err != nil {
		return err
	}
	if !a.Approved && a.Reason == "" {
		return &InvalidError{Field: "reason", Reason: "a rejection needs a reason"}
	}
	return nil
}

// IsAnswered reports whether err says the request was answered already.
func IsAnswered(err error) bool { return errors.Is(err, ErrAnswered) }

// ResumedMessage is the message of the Pending state of a run claimed to
// resume after an approval gate (from Resuming): its execution must reuse
// the results of its completed tasks ([flow.Execution.Resume]).
const ResumedMessage = "resuming after input"

// Resumed reports whether a claimed run resumes after an approval gate.
func Resumed(r FlowRun) bool {
	return r.State.Name == flow.NamePending && r.State.Message == ResumedMessage
}
