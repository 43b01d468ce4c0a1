package flow

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"text/template"
	"time"

	"github.com/netauto-dev/netauto/flow/retry"
)

// Flow is a typed, named unit of orchestration: a function of parameters P
// to a result R that calls tasks and other flows. Create one with [New],
// usually as a package-level variable, and start runs with [Flow.Run].
// A Flow is safe for concurrent use.
type Flow[P, R any] struct {
	name string
	fn   func(context.Context, P) (R, error)
	cfg  config
	err  error // a configuration error, returned by every Run
}

type config struct {
	version     string
	description string
	tags        []string
	retry       retry.Policy
	retryIf     func(error) bool
	timeout     time.Duration
	runName     *template.Template
	hooks       hooks
}

type hooks struct {
	running, completion, failure, cancellation, crashed []Hook
	input                                               []Hook // OnAwaitingInput (input.go)
}

// Option configures a [Flow].
type Option func(*config) error

// New defines a flow named name running fn. The name identifies the flow
// to the runtime, its deployments and the UI; keep it stable. New checks
// the name, the function and every option at once; a bad one does not
// panic: [Flow.Err] reports a *[ConfigError] naming it, and every Run
// returns it without recording a run.
func New[P, R any](name string, fn func(ctx context.Context, params P) (R, error), opts ...Option) *Flow[P, R] {
	f := &Flow[P, R]{name: name, fn: fn}
	errs := make([]error, len(opts))
	for i, o := range opts {
		errs[i] = o(&f.cfg)
	}
	if err := validateConfig(KindFlow, name, fn, f.cfg.retry, errs...); err != nil {
		f.err = err
	}
	return f
}

// WithVersion sets the flow's version, recorded on each run.
func WithVersion(v string) Option { return func(c *config) error { c.version = v; return nil } }

// WithDescription sets the flow's description, shown by the runtime.
func WithDescription(d string) Option {
	return func(c *config) error { c.description = d; return nil }
}

// WithTags adds tags recorded on each run.
func WithTags(tags ...string) Option {
	return func(c *config) error { c.tags = append(c.tags, tags...); return nil }
}

// WithRetries lets a failed flow run be tried n more times, or until its
// context ends with [retry.Forever] (the Retries of its [retry.Policy]).
// Tasks that completed in an earlier attempt are not run again: their
// results are reused (state Cached).
func WithRetries(n int) Option { return func(c *config) error { c.retry.Retries = n; return nil } }

// WithBackoff sets the wait before each retry of a flow run:
// [retry.Fixed], [retry.Delays] or [retry.Exponential].
func WithBackoff(b retry.Backoff) Option {
	return func(c *config) error { c.retry.Backoff = b; return nil }
}

// WithJitter spreads each retry's wait uniformly by ±factor (0 to 1).
func WithJitter(factor float64) Option {
	return func(c *config) error { c.retry.Jitter = factor; return nil }
}

// WithRetryIf retries only errors for which fn returns true. Errors
// marked [NonRetryable] and panics are never retried.
func WithRetryIf(fn func(error) bool) Option {
	return func(c *config) error { c.retryIf = fn; return nil }
}

// WithTimeout bounds each attempt of a run; an attempt that overruns ends
// TimedOut and its tasks are cancelled.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return optionError("WithTimeout", fmt.Errorf("%s is negative", d))
		}
		c.timeout = d
		return nil
	}
}

// WithRunName names each run from a text/template executed on the
// parameters, e.g. "deploy-{{.Tenant}}". If the template fails for some
// parameters, the run gets the default name and a warning is logged.
func WithRunName(tmpl string) Option {
	return func(c *config) error {
		t, err := template.New("run-name").Option("missingkey=error").Parse(tmpl)
		if err != nil {
			return optionError("WithRunName", fmt.Errorf("template: %w", err))
		}
		c.runName = t
		return nil
	}
}

// OnRunning adds hooks called when a run starts each attempt.
func OnRunning(h ...Hook) Option {
	return func(c *config) error {
		if err := nilHook("OnRunning", h); err != nil {
			return err
		}
		c.hooks.running = append(c.hooks.running, h...)
		return nil
	}
}

// OnCompletion adds hooks called when a run completes.
func OnCompletion(h ...Hook) Option {
	return func(c *config) error {
		if err := nilHook("OnCompletion", h); err != nil {
			return err
		}
		c.hooks.completion = append(c.hooks.completion, h...)
		return nil
	}
}

// OnFailure adds hooks called when a run ends Failed (TimedOut included),
// after its compensations ran.
func OnFailure(h ...Hook) Option {
	return func(c *config) error {
		if err := nilHook("OnFailure", h); err != nil {
			return err
		}
		c.hooks.failure = append(c.hooks.failure, h...)
		return nil
	}
}

// OnCancellation adds hooks called when a run ends Cancelled.
func OnCancellation(h ...Hook) Option {
	return func(c *config) error {
		if err := nilHook("OnCancellation", h); err != nil {
			return err
		}
		c.hooks.cancellation = append(c.hooks.cancellation, h...)
		return nil
	}
}

// OnCrashed adds hooks called when a run ends Crashed.
func OnCrashed(h ...Hook) Option {
	return func(c *config) error {
		if err := nilHook("OnCrashed", h); err != nil {
			return err
		}
		c.hooks.crashed = append(c.hooks.crashed, h...)
		return nil
	}
}

// Name returns the flow's name.
func (f *Flow[P, R]) Name() string { return f.name }

// Err returns the flow's configuration error, if any.
func (f *Flow[P, R]) Err() error { return f.err }

// Run runs the flow with params and returns its result. Inside another
// flow's run, it is a subflow: a child run with its parent recorded. Its
// tasks' results belong to the top-level flow run, so when that run is
// retried or resumed, a subflow called again reuses every task it
// completed before, and its completed steps' compensations pass to the
// parent.
//
// Run returns once the run's final state is durable in the engine's
// recorder, compensations have run (if the run failed) and the state's
// hooks have been called.
func (f *Flow[P, R]) Run(ctx context.Context, params P) (R, error) {
	var zero R
	if f.err != nil {
		return zero, f.err
	}
	raw, err := json.Marshal(params)
	if err != nil {
		return zero, &ParamsError{Flow: f.name, Err: err}
	}
	rec := f.record(ctx, params, raw)
	if flowRunFrom(ctx) != nil {
		sum := sha256.Sum256(raw)
		rec.TaskKey = taskKey(ctx, "flow:"+f.name, hex.EncodeToString(sum[:12]))
	}
	ctx, run, err := startRun(ctx, rec, State{})
	if err != nil {
		return zero, err
	}
	return f.execute(ctx, run, params, 1, 0)
}

func (f *Flow[P, R]) record(ctx context.Context, params P, raw json.RawMessage) RunRecord {
	rec := RunRecord{
		Kind:       KindFlow,
		Name:       f.name,
		Version:    f.cfg.version,
		Tags:       f.cfg.tags,
		Parameters: raw,
	}
	rec.ID = NewID()
	rec.RunName = f.runName(ctx, params, rec.ID)
	return rec
}

func (f *Flow[P, R]) runName(ctx context.Context, params P, id string) string {
	def := f.name + "-" + id[max(len(id)-8, 0):]
	if f.cfg.runName == nil {
		return def
	}
	var b bytes.Buffer
	if err := f.cfg.runName.Execute(&b, params); err != nil {
		Logger(ctx).Warn("flow run name template failed; using the default name",
			slog.String("flow", f.name), slog.String("error", err.Error()))
		return def
	}
	return b.String()
}

// execute runs the attempts of a started flow run and everything after
// its final state.
func (f *Flow[P, R]) execute(ctx context.Context, run *Run, params P, execution, executions int) (R, error) {
	label := fmt.Sprintf("flow %q", f.name)
	run.inputHooks = f.cfg.hooks.input // for WaitForInput (input.go)
	cfg := attemptConfig{
		Label:      label,
		Retry:      f.cfg.retry,
		RetryIf:    f.cfg.retryIf,
		Timeout:    f.cfg.timeout,
		Execution:  execution,
		Executions: executions,
	}
	if len(f.cfg.hooks.running) > 0 {
		cfg.OnRunning = func(ctx context.Context) {
			run.runHooks(ctx, "OnRunning", f.cfg.hooks.running, run.State(), nil)
		}
	}
	out, final, err := runAttempts(ctx, run, cfg, func(actx context.Context) (R, error) {
		return f.attempt(actx, run, params)
	})
	if final.Type == TypePaused {
		// Suspended in WaitForInput (input.go): the run stays Paused,
		// unfinished, for a later execution to resume; nothing to undo.
		return out, err
	}
	var res *Result
	if final.Type == TypeCompleted {
		if v, merr := json.Marshal(out); merr == nil {
			res = &Result{FlowRunID: run.rec.ID, Value: v}
		} else {
			Logger(ctx).Warn("flow result is not JSON-serializable; it is not persisted", slog.String("error", merr.Error()))
		}
	}
	if ferr := run.finish(ctx, final, res); ferr != nil {
		// The state may not be durable, but the run is over: still undo
		// its steps and tell the hooks, with the recording error.
		err = errors.Join(err, ferr)
	}
	if final.Type == TypeCompleted {
		if run.parent != nil {
			// The parent undoes this subflow's steps if it fails later.
			run.parent.flow.scope.addCompensations(run.scope.takeCompensations()...)
		}
	} else if cerr := run.compensate(ctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	switch final.Type {
	case TypeCompleted:
		run.runHooks(ctx, "OnCompletion", f.cfg.hooks.completion, final, err)
	case TypeFailed:
		run.runHooks(ctx, "OnFailure", f.cfg.hooks.failure, final, err)
	case TypeCancelled:
		run.runHooks(ctx, "OnCancellation", f.cfg.hooks.cancellation, final, err)
	case TypeCrashed:
		run.runHooks(ctx, "OnCrashed", f.cfg.hooks.crashed, final, err)
	}
	return out, err
}

// attempt is one attempt of the flow function. Tasks it submitted and did
// not wait for are waited for before the attempt ends: after the function
// returns if it succeeded, after cancelling them if it failed or panicked.
func (f *Flow[P, R]) attempt(ctx context.Context, run *Run, params P) (out R, err error) {
	s := run.scope
	s.mu.Lock()
	clear(s.counts)
	retry := s.attempts > 0
	s.attempts++
	s.mu.Unlock()
	if retry {
		if err := run.loadPrior(); err != nil {
			return out, err
		}
	}
	ctx, cancel := context.WithCancelCause(ctx)
	ok := false
	defer func() {
		if !ok {
			cancel(errFlowEnded)
		}
		s.wg.Wait()
		cancel(nil)
	}()
	out, err = f.fn(ctx, params)
	ok = err == nil
	return out, err
}

var errFlowEnded = errors.New("flow function returned an error")

// ParamsError reports flow parameters that cannot be encoded or decoded.
// The runtime answers it with 400.
type ParamsError struct {
	Flow string
	// Field is the JSON path of the offending field, when known.
	Field string
	Err   error
}

func (e *ParamsError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("flow %q: parameter %q: %v", e.Flow, e.Field, e.Err)
	}
	return fmt.Sprintf("flow %q: parameters: %v", e.Flow, e.Err)
}

func (e *ParamsError) Unwrap() error { return e.Err }
