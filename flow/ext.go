package flow

import (
	"context"
	"encoding/json"

	"github.com/netauto-dev/netauto/flow/internal/extapi"
	"github.com/netauto-dev/netauto/flow/retry"
)

// The engine machinery that packages extending flows (task, the runtime)
// need and flow authors do not is exported by package flowext, which
// reaches it through extension. Its methods are not part of flow's API.
func init() { extapi.Impl = extension{} }

type extension struct{}

func (extension) StartRun(ctx context.Context, rec RunRecord) (context.Context, *Run, error) {
	return startRun(ctx, rec, State{})
}

func (extension) SetState(run *Run, s State) error { return run.set(s, nil, false) }

func (extension) Finish(ctx context.Context, run *Run, s State, res *Result) error {
	return run.finish(ctx, s, res)
}

func (extension) RunHooks(ctx context.Context, run *Run, which string, hooks []Hook, st State, err error) {
	run.runHooks(ctx, which, hooks, st, err)
}

func (extension) Attempt(ctx context.Context, run *Run, cfg extapi.AttemptConfig, fn func(context.Context) (any, error)) (any, State, error) {
	return runAttempts(ctx, run, attemptConfig(cfg), fn)
}

func (extension) FlowRunFrom(ctx context.Context) *Run { return flowRunFrom(ctx) }

func (extension) TaskKey(ctx context.Context, name, inputKey string) string {
	return taskKey(ctx, name, inputKey)
}

func (extension) PriorResult(ctx context.Context, key string) (json.RawMessage, bool) {
	return priorResult(ctx, key)
}

func (extension) AddCompensation(ctx context.Context, c extapi.Compensation) {
	addCompensation(ctx, compensation(c))
}

func (extension) Go(ctx context.Context, fn func()) { goInFlow(ctx, fn) }

func (extension) CacheNamespace(flowName string) string { return cacheNamespace(flowName) }

func (extension) CacheKeyPrefix(ctx context.Context) string { return cacheKeyPrefix(ctx) }

func (extension) ErrFinished() error { return errFinished }

func (extension) OptionError(option string, err error) error { return optionError(option, err) }

func (extension) ValidateConfig(kind RunKind, name string, fn any, policy retry.Policy, errs ...error) error {
	return validateConfig(kind, name, fn, policy, errs...)
}

func (extension) NilHook(option string, hooks []Hook) error { return nilHook(option, hooks) }
