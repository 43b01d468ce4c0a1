package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Approval gates: a flow run stops in [WaitForInput] until a human gives a
// typed answer (or rejects, or the wait times out). The engine records the
// request through its [InputBroker] and moves the run to Paused
// (AwaitingInput). A short wait keeps the attempt; under a runtime that
// suspends ([Engine.SuspendAfter]), a longer one ends the attempt with a
// *[SuspendedError]: the run stays Paused, holding no worker and no slot,
// and a later execution of the same run (resumed, reusing every completed
// task's result) reaches the same WaitForInput again and gets the stored
// answer at once.

// Prompt is what the human answering a [WaitForInput] sees. It is
// structured so that a UI and a CLI can render each part.
type Prompt struct {
	// Text says what is asked, in a sentence or two.
	Text string `json:"text"`
	// Diff is the change in unified-diff or plain line form (the routing
	// lines to push and to remove, say).
	Diff string `json:"diff,omitempty"`
	// Declaration is a declaration change as JSON (an AS3 declaration's
	// difference, or the dry-run's answer).
	Declaration json.RawMessage `json:"declaration,omitempty"`
	// Devices names the devices the change touches.
	Devices []string `json:"devices,omitempty"`
}

// Answerers says who may answer an input request. An empty Answerers lets
// anyone allowed to answer inputs at all (the runtime's role check) answer.
type Answerers struct {
	// Roles: the answerer must hold one of them (when not empty).
	Roles []string `json:"roles,omitempty"`
	// Keys: the answerer's key must be one of them (when not empty).
	Keys []string `json:"keys,omitempty"`
	// NotCreator is four-eyes: the key that created the run may not
	// answer.
	NotCreator bool `json:"not_creator,omitempty"`
}

// Responder is who answers: the name of the API key and its roles.
type Responder struct {
	Key   string   `json:"key"`
	Roles []string `json:"roles,omitempty"`
}

// AnswererError is an answer refused because of who gave it.
type AnswererError struct {
	Key    string
	Reason string
}

func (e *AnswererError) Error() string {
	return fmt.Sprintf("key %q may not answer: %s", e.Key, e.Reason)
}

// Allows reports whether who may answer a request of a run created by the
// key named creator ("" when the run has no creating key: a schedule, a
// trigger). It returns an *[AnswererError] when not.
func (a Answerers) Allows(who Responder, creator string) error {
	if who.Key == "" {
		return &AnswererError{Key: who.Key, Reason: "no key name"}
	}
	if a.NotCreator && creator != "" && who.Key == creator {
		return &AnswererError{Key: who.Key, Reason: "it created the run (four-eyes: another key must answer)"}
	}
	if len(a.Keys) > 0 && !slices.Contains(a.Keys, who.Key) {
		return &AnswererError{Key: who.Key, Reason: "not one of the keys named by the request: " + strings.Join(a.Keys, ", ")}
	}
	if len(a.Roles) > 0 && !slices.ContainsFunc(who.Roles, func(r string) bool { return slices.Contains(a.Roles, r) }) {
		return &AnswererError{Key: who.Key, Reason: "holds none of the roles " + strings.Join(a.Roles, ", ")}
	}
	return nil
}

// OnTimeout says how a run ends when nobody answered in time.
type OnTimeout string

// The timeout outcomes.
const (
	// TimeoutFail ends the run Failed (not retried).
	TimeoutFail OnTimeout = "fail"
	// TimeoutCancel ends the run Cancelled.
	TimeoutCancel OnTimeout = "cancel"
)

// InputRequest is a run waiting for input, as the engine hands it to its
// [InputBroker] and the runtime stores it.
type InputRequest struct {
	RunID string `json:"run_id"`
	// Key identifies the wait within its run (like a task key): "input/"
	// and the name given with [InputName], numbered on repeats.
	Key       string          `json:"key"`
	Prompt    Prompt          `json:"prompt"`
	Schema    json.RawMessage `json:"schema"`
	Answerers Answerers       `json:"answerers"`
	// Deadline is when the wait times out (zero: never); OnTimeout what
	// happens then.
	Deadline  time.Time `json:"deadline,omitzero"`
	OnTimeout OnTimeout `json:"on_timeout"`
	Created   time.Time `json:"created"`
}

// Answer is the answer to an [InputRequest].
type Answer struct {
	// Approved is true for an answer that lets the run go on, with Input.
	Approved bool            `json:"approved"`
	Input    json.RawMessage `json:"input,omitempty"`
	// Reason says why a change was rejected.
	Reason string `json:"reason,omitempty"`
	// By is the answering key's name; empty for a timeout.
	By string    `json:"by,omitempty"`
	At time.Time `json:"at"`
	// TimedOut marks the answer recorded when the deadline passed.
	TimedOut bool `json:"timed_out,omitempty"`
}

// InputBroker stores input requests and their answers: the runtime's store
// (durable, shared with the API), or [MemoryInputs] in a process.
type InputBroker interface {
	// RequestInput records req unless a request with its run ID and key
	// exists, and returns the stored request (the first one's deadline
	// holds across executions) and its answer, nil while unanswered.
	RequestInput(ctx context.Context, req InputRequest) (InputRequest, *Answer, error)
	// WaitInput blocks until the request is answered, returning the
	// answer, or until ctx is done, returning ctx's error.
	WaitInput(ctx context.Context, runID, key string) (*Answer, error)
	// ExpireInput records that the request timed out at now, unless it
	// was answered meanwhile, and returns the answer that stands.
	ExpireInput(ctx context.Context, runID, key string, now time.Time) (*Answer, error)
}

// InputOption configures [WaitForInput].
type InputOption func(*inputConfig) error

type inputConfig struct {
	name      string
	timeout   time.Duration
	onTimeout OnTimeout
	who       Answerers
	window    ChangeWindow
	outside   OutsideWindow
}

// InputName names the wait ("approval" by default), for its key; give
// different names to the different gates of one flow.
func InputName(name string) InputOption {
	return func(c *inputConfig) error {
		if strings.TrimSpace(name) == "" || strings.ContainsAny(name, "/>#") {
			return fmt.Errorf("input name %q: empty, or holds / > or #", name)
		}
		c.name = name
		return nil
	}
}

// InputTimeout ends the wait after d (from the first time the run reached
// it, across suspensions) as then says: [TimeoutFail] or [TimeoutCancel].
func InputTimeout(d time.Duration, then OnTimeout) InputOption {
	return func(c *inputConfig) error {
		if d <= 0 {
			return fmt.Errorf("input timeout: %s is not positive", d)
		}
		if then != TimeoutFail && then != TimeoutCancel {
			return fmt.Errorf("input timeout: outcome %q: want %q or %q", then, TimeoutFail, TimeoutCancel)
		}
		c.timeout, c.onTimeout = d, then
		return nil
	}
}

// AnsweredBy limits who may answer: holders of one of roles (none: any
// role allowed to answer).
func AnsweredBy(roles ...string) InputOption {
	return func(c *inputConfig) error { c.who.Roles = append(c.who.Roles, roles...); return nil }
}

// AnsweredByKeys limits who may answer to the API keys named.
func AnsweredByKeys(keys ...string) InputOption {
	return func(c *inputConfig) error { c.who.Keys = append(c.who.Keys, keys...); return nil }
}

// FourEyes refuses answers from the key that created the run.
func FourEyes() InputOption {
	return func(c *inputConfig) error { c.who.NotCreator = true; return nil }
}

// ChangeWindow is when an approved change may go on. NextOpen returns t
// itself when the window is open at t, else the next instant it opens, and
// false when it does not open in any foreseeable time. A compiled change
// calendar of runtime/window implements it.
type ChangeWindow interface {
	NextOpen(t time.Time) (time.Time, bool)
}

// OutsideWindow says what an approved run does when its answer arrives
// outside its [InputWindow].
type OutsideWindow string

// The outside-window outcomes.
const (
	// WindowWait goes on when the window next opens.
	WindowWait OutsideWindow = "wait"
	// WindowFail fails the run (not retried): the change must be asked
	// for again.
	WindowFail OutsideWindow = "fail"
)

// InputWindow lets an approval take effect only inside a change window:
// an approval given (or delivered to a resumed run) inside w returns at
// once; outside, the run waits for the next opening ([WindowWait]) or fails
// with an *[OutsideWindowError] ([WindowFail]). A rejection or a timeout
// is not affected. The wait keeps the run's attempt (it is not suspended;
// the deployment's own change calendar is what holds a run that has not
// started), and is timed on the engine's clock.
func InputWindow(w ChangeWindow, outside OutsideWindow) InputOption {
	return func(c *inputConfig) error {
		if w == nil {
			return errors.New("input window: nil")
		}
		if outside != WindowWait && outside != WindowFail {
			return fmt.Errorf("input window: outcome %q: want %q or %q", outside, WindowWait, WindowFail)
		}
		c.window, c.outside = w, outside
		return nil
	}
}

// OutsideWindowError is returned by [WaitForInput] with [InputWindow] and
// [WindowFail] for an approval that arrived outside the change window.
type OutsideWindowError struct {
	Key string
	// At is when the answer took effect; Next when the window opens
	// next (zero when it does not).
	At, Next time.Time
}

func (e *OutsideWindowError) Error() string {
	msg := "input " + e.Key + " approved outside its change window at " + e.At.UTC().Format(time.RFC3339)
	if !e.Next.IsZero() {
		msg += " (it opens " + e.Next.UTC().Format(time.RFC3339) + ")"
	}
	return msg
}

// inWindow applies cfg's change window to an approval: nil once the
// window is open (after waiting for it, with WindowWait).
func inWindow(ctx context.Context, run *Run, key string, cfg inputConfig) error {
	now := run.eng.Clock.Now()
	next, ok := cfg.window.NextOpen(now)
	if ok && !next.After(now) {
		return nil
	}
	if !ok {
		next = time.Time{}
	}
	if cfg.outside == WindowFail || !ok {
		return NonRetryable(&OutsideWindowError{Key: key, At: now, Next: next})
	}
	Logger(ctx).Info("approved outside the change window: waiting for it", "input", key, "opens", next.UTC().Format(time.RFC3339))
	if err := run.eng.Clock.Sleep(ctx, next.Sub(now)); err != nil {
		return fmt.Errorf("wait for the change window of input %s: %w", key, err)
	}
	return nil
}

// RejectedError is returned by [WaitForInput] when the human rejected: the
// run ends Cancelled with the reason and the rejecting key's name.
type RejectedError struct {
	Key    string // the wait's key
	By     string
	Reason string
}

func (e *RejectedError) Error() string {
	return fmt.Sprintf("rejected by %s: %s", e.By, e.Reason)
}

// InputTimeoutError is returned by [WaitForInput] when nobody answered in
// time. The run ends Failed (never retried) or, with [TimeoutCancel],
// Cancelled.
type InputTimeoutError struct {
	Key      string
	Deadline time.Time
	Then     OnTimeout
}

func (e *InputTimeoutError) Error() string {
	return fmt.Sprintf("input %s: nobody answered before %s", e.Key, e.Deadline.UTC().Format(time.RFC3339))
}

// SuspendedError is returned by [WaitForInput] when the run's attempt ends
// to wait without holding a worker ([Engine.SuspendAfter]): the flow
// function must return it (as any error) and the run stays Paused until
// its answer resumes it. [Definition.Execute] returns it too, so that the
// runtime knows the run is suspended, not failed.
type SuspendedError struct {
	RunID, Key string
}

func (e *SuspendedError) Error() string {
	return fmt.Sprintf("run %s suspended awaiting input %s", e.RunID, e.Key)
}

// InputError is an answer whose input does not decode into the requested
// type; Field names the offending field when known.
type InputError struct {
	Key   string
	Field string
	Err   error
}

func (e *InputError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("input %s: field %q: %v", e.Key, e.Field, e.Err)
	}
	return fmt.Sprintf("input %s: %v", e.Key, e.Err)
}

func (e *InputError) Unwrap() error { return e.Err }

// DecodeInput decodes an answer's input into T strictly, as parameters are
// ([DecodeParams]): an unknown field or a wrong type is an *[InputError]
// naming the field. Empty or null input gives T's zero value.
func DecodeInput[T any](key string, raw json.RawMessage) (T, error) {
	v, err := DecodeParams[T]("", raw)
	if err != nil {
		var pe *ParamsError
		if errors.As(err, &pe) {
			return v, &InputError{Key: key, Field: pe.Field, Err: pe.Err}
		}
		return v, &InputError{Key: key, Err: err}
	}
	return v, nil
}

// ErrNoInputs is returned by [WaitForInput] under an engine without an
// [InputBroker].
var ErrNoInputs = errors.New("the engine has no input broker (Engine.Inputs)")

// WaitForInput stops the top-level flow run in ctx until a human answers
// prompt, and returns the answer's input as T. T's JSON Schema
// ([SchemaFor]) is stored with the request so that answers are checked
// against it before they are accepted; struct{} asks for a plain approval.
//
// It returns a *[RejectedError] when the answer rejects (the run then ends
// Cancelled: compensations registered by earlier steps run, nothing else),
// an *[InputTimeoutError] when the deadline passed, and a
// *[SuspendedError] when the engine suspends the run to wait without a
// worker. The flow function must return these errors as they come
// (wrapping is fine). Inside a subflow or a task it returns an error: the
// gate belongs to the run a human sees.
//
// Each call has a key ("input/approval", or the [InputName], numbered on
// repeats as task keys are), so that a resumed or retried run meets the
// answer given to the same gate.
func WaitForInput[T any](ctx context.Context, prompt Prompt, opts ...InputOption) (T, error) {
	var zero T
	cfg := inputConfig{name: "approval", onTimeout: TimeoutFail}
	for _, o := range opts {
		if err := o(&cfg); err != nil {
			return zero, NonRetryable(fmt.Errorf("wait for input: %w", err))
		}
	}
	run := RunFrom(ctx)
	if run == nil || run.rec.Kind != KindFlow || run.root != run {
		return zero, NonRetryable(errors.New("wait for input: call it from a top-level flow run's function"))
	}
	eng := run.eng
	if eng.Inputs == nil {
		return zero, NonRetryable(fmt.Errorf("wait for input: %w", ErrNoInputs))
	}
	now := eng.Clock.Now()
	key := taskKey(ctx, "input", cfg.name)
	req := InputRequest{
		RunID:     run.rec.ID,
		Key:       key,
		Prompt:    prompt,
		Schema:    SchemaFor[T](),
		Answerers: cfg.who,
		OnTimeout: cfg.onTimeout,
		Created:   now,
	}
	if cfg.timeout > 0 {
		req.Deadline = now.Add(cfg.timeout)
	}
	stored, ans, err := eng.Inputs.RequestInput(run.rctx, req)
	if err != nil {
		return zero, fmt.Errorf("wait for input %s: record the request: %w", key, err)
	}
	if ans == nil && stored.Created.Equal(req.Created) && len(run.inputHooks) > 0 {
		// A new request (not one met again by a resumed execution):
		// tell whoever must answer.
		notifyInput(ctx, run, stored)
	}
	if ans == nil && !stored.Deadline.IsZero() && !now.Before(stored.Deadline) {
		if ans, err = eng.Inputs.ExpireInput(run.rctx, run.rec.ID, key, now); err != nil {
			return zero, fmt.Errorf("wait for input %s: record the timeout: %w", key, err)
		}
	}
	if ans == nil {
		if ans, err = waitAnswer(ctx, run, stored); err != nil {
			return zero, err
		}
	}
	v, err := deliver[T](stored, ans)
	if err == nil && cfg.window != nil {
		if err := inWindow(ctx, run, key, cfg); err != nil {
			return zero, err
		}
	}
	return v, err
}

// waitAnswer pauses the run and waits for the answer in this attempt, up
// to the deadline and, when the engine suspends, up to SuspendAfter.
func waitAnswer(ctx context.Context, run *Run, req InputRequest) (*Answer, error) {
	eng := run.eng
	msg := "awaiting input " + req.Key
	if req.Prompt.Text != "" {
		msg += ": " + req.Prompt.Text
	}
	if err := run.set(State{Type: TypePaused, Name: NameAwaitingInput, Message: msg}, nil, false); err != nil {
		return nil, err
	}
	// The store must show the run waiting before anyone is told to answer.
	if err := eng.Recorder.Flush(run.rctx); err != nil {
		return nil, fmt.Errorf("wait for input %s: %w", req.Key, err)
	}
	var (
		wait           time.Duration
		limit, suspend bool
	)
	if !req.Deadline.IsZero() {
		wait, limit = max(req.Deadline.Sub(eng.Clock.Now()), 0), true
	}
	if eng.SuspendAfter > 0 && (!limit || eng.SuspendAfter < wait) {
		wait, limit, suspend = eng.SuspendAfter, true, true
	}
	wctx, cancel := ctx, context.CancelFunc(func() {})
	if limit {
		wctx, cancel = context.WithTimeout(ctx, wait)
	}
	ans, err := eng.Inputs.WaitInput(wctx, run.rec.ID, req.Key)
	cancel()
	// stop leaves the Paused state before an error that ends the attempt
	// otherwise (cancelled, the broker failed): the attempt's outcome
	// (Cancelled, Failed, a retry) follows a Running run as usual.
	stop := func(err error) (*Answer, error) {
		st := Running()
		st.Message = "stopped waiting for input " + req.Key
		return nil, errors.Join(err, run.set(st, nil, false))
	}
	switch {
	case ans != nil:
	case ctx.Err() != nil:
		return stop(fmt.Errorf("wait for input %s: %w", req.Key, context.Cause(ctx)))
	case wctx.Err() == nil: // the broker failed
		return stop(fmt.Errorf("wait for input %s: %w", req.Key, err))
	case suspend:
		return nil, &SuspendedError{RunID: run.rec.ID, Key: req.Key}
	default:
		if ans, err = eng.Inputs.ExpireInput(run.rctx, run.rec.ID, req.Key, eng.Clock.Now()); err != nil {
			return stop(fmt.Errorf("wait for input %s: record the timeout: %w", req.Key, err))
		}
	}
	st := Running()
	st.Message = "input " + req.Key + " " + describeAnswer(ans)
	if err := run.set(st, nil, false); err != nil {
		return nil, err
	}
	return ans, nil
}

func describeAnswer(a *Answer) string {
	switch {
	case a.TimedOut:
		return "timed out"
	case a.Approved:
		return "approved by " + a.By
	default:
		return "rejected by " + a.By
	}
}

// deliver turns an answer into WaitForInput's result.
func deliver[T any](req InputRequest, a *Answer) (T, error) {
	var zero T
	switch {
	case a.TimedOut:
		err := &InputTimeoutError{Key: req.Key, Deadline: req.Deadline, Then: req.OnTimeout}
		return zero, NonRetryable(err)
	case !a.Approved:
		return zero, &RejectedError{Key: req.Key, By: a.By, Reason: a.Reason}
	}
	v, err := DecodeInput[T](req.Key, a.Input)
	if err != nil {
		return zero, NonRetryable(err)
	}
	return v, nil
}

// inputOutcome is the state an attempt ends in when its error came from
// WaitForInput: Cancelled for a rejection or a timeout that cancels,
// AwaitingInput (the run stays Paused, not finished) for a suspension.
func inputOutcome(err error) (State, bool) {
	var re *RejectedError
	if errors.As(err, &re) {
		return Cancelled(re.Error()), true
	}
	var te *InputTimeoutError
	if errors.As(err, &te) && te.Then == TimeoutCancel {
		return Cancelled(te.Error()), true
	}
	var se *SuspendedError
	if errors.As(err, &se) {
		return State{Type: TypePaused, Name: NameAwaitingInput, Message: se.Error()}, true
	}
	return State{}, false
}

// OnAwaitingInput adds hooks called once when a run of the flow starts
// waiting in [WaitForInput] (not again when a resumed execution meets the
// same request): the event's State is the run's AwaitingInput state and
// its Input the request, prompt included, so that a hook can tell whoever
// must answer. A timeout ends the run Failed or Cancelled, which the
// [OnFailure] or [OnCancellation] hooks see with an *[InputTimeoutError].
// Hooks are bounded by the engine's HookTimeout; their errors are logged.
func OnAwaitingInput(h ...Hook) Option {
	return func(c *config) error { c.hooks.input = append(c.hooks.input, h...); return nil }
}

func notifyInput(ctx context.Context, run *Run, req InputRequest) {
	hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), run.eng.HookTimeout)
	defer cancel()
	st := State{Type: TypePaused, Name: NameAwaitingInput, Message: "awaiting input " + req.Key, Timestamp: run.eng.Clock.Now()}
	ev := HookEvent{Run: run.rec, State: st, Input: &req}
	for i, h := range run.inputHooks {
		if err := callHook(hctx, h, ev); err != nil {
			Logger(ctx).Error("state hook failed", "hook", fmt.Sprintf("OnAwaitingInput[%d]", i), "state", st.Name, "error", err.Error())
		}
	}
}
