package task

import "context"

type stubKey struct{}

// stubs maps a *Task to the function that replaces its own.
type stubs map[any]any

// WithStub returns a context in which runs of t call fn instead of t's
// function, with everything else (states, retries, timeouts, hooks,
// caching, limits) unchanged. It is for tests: a flow under test runs
// against fake tasks without changing its code. See the flowtest package.
func WithStub[I, O any](ctx context.Context, t *Task[I, O], fn func(ctx context.Context, in I) (O, error)) context.Context {
	old, _ := ctx.Value(stubKey{}).(stubs)
	m := make(stubs, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[t] = fn
	return context.WithValue(ctx, stubKey{}, m)
}

func stubFor[I, O any](ctx context.Context, t *Task[I, O]) func(context.Context, I) (O, error) {
	m, ok := ctx.Value(stubKey{}).(stubs)
	if !ok {
		return nil
	}
	fn, _ := m[t].(func(context.Context, I) (O, error))
	return fn
}
