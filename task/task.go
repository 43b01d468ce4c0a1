package task

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"log/slog"
	"reflect"
	"sync"
	"text/template"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/flowext"
	"github.com/netauto-dev/netauto/flow/retry"
)

// Task is a typed, named step of a flow: a function of an input I to an
// output O, run with retries, a timeout, caching, tag concurrency limits
// and hooks, each run recorded with its state history. Create one with
// [New], usually as a package-level variable. A Task is safe for
// concurrent use.
type Task[I, O any] struct {
	name string
	fn   func(context.Context, I) (O, error)
	cfg  config

	key      func(I) string
	cacheKey func(I) string
	tagsFrom func(I) []string
	comp     func(context.Context, I, O) error

	err error // configuration error, returned by every run
}

type config struct {
	retry     retry.Policy
	retryIf   func(error) bool
	timeout   time.Duration
	tags      []string
	cache     bool
	cacheTTL  time.Duration
	refresh   bool
	noPersist bool
	sensitive bool
	runName   *template.Template
	running   []flow.Hook
	completed []flow.Hook
	failed    []flow.Hook
	typed     []typedOption
}

// typedOption is an option carrying a function of the task's types,
// checked against them in New.
type typedOption struct {
	name string
	fn   any
}

// Option configures a [Task].
type Option func(*config) error

// New defines a task named name running fn. Within a flow run, a task's
// name and input identify its runs (see [flowext.TaskKey]); keep names
// stable. New checks the name, the function and every option at once, as
// flow.New does; a bad one does not panic: [Task.Err] reports a
// *[flow.ConfigError] naming it, and every run returns it without
// recording a run.
func New[I, O any](name string, fn func(ctx context.Context, in I) (O, error), opts ...Option) *Task[I, O] {
	t := &Task[I, O]{name: name, fn: fn}
	var errs []error
	for _, o := range opts {
		errs = append(errs, o(&t.cfg))
	}
	for _, o := range t.cfg.typed {
		errs = append(errs, t.setTyped(o))
	}
	t.err = flowext.ValidateConfig(flow.KindTask, name, fn, t.cfg.retry, errs...)
	return t
}

func (t *Task[I, O]) setTyped(o typedOption) error {
	var ok bool
	switch o.name {
	case "WithKey":
		t.key, ok = o.fn.(func(I) string)
	case "WithCacheKey":
		t.cacheKey, ok = o.fn.(func(I) string)
		t.cfg.cache = true
	case "WithTagsFrom":
		t.tagsFrom, ok = o.fn.(func(I) []string)
	case "WithCompensation":
		t.comp, ok = o.fn.(func(context.Context, I, O) error)
	}
	if !ok {
		return flowext.OptionError(o.name, fmt.Errorf("function type %s does not match the task's input %s and output %s",
			reflect.TypeOf(o.fn), reflect.TypeFor[I](), reflect.TypeFor[O]()))
	}
	return nil
}

// WithRetries lets a failed run be tried n more times, or until its
// context ends with [retry.Forever] (the Retries of its [retry.Policy]).
func WithRetries(n int) Option { return func(c *config) error { c.retry.Retries = n; return nil } }

// WithBackoff sets the wait before each retry: [retry.Fixed],
// [retry.Delays] or [retry.Exponential].
func WithBackoff(b retry.Backoff) Option {
	return func(c *config) error { c.retry.Backoff = b; return nil }
}

// WithJitter spreads each retry's wait uniformly by ±factor (0 to 1).
func WithJitter(factor float64) Option {
	return func(c *config) error { c.retry.Jitter = factor; return nil }
}

// WithRetryIf retries only errors for which fn returns true. Errors
// marked [flow.NonRetryable] and panics are never retried.
func WithRetryIf(fn func(error) bool) Option {
	return func(c *config) error { c.retryIf = fn; return nil }
}

// WithTimeout bounds each attempt. The function's context is cancelled
// when it expires; the attempt ends TimedOut once the function returns.
func WithTimeout(d time.Duration) Option {
	return func(c *config) error {
		if d < 0 {
			return flowext.OptionError("WithTimeout", fmt.Errorf("%s is negative", d))
		}
		c.timeout = d
		return nil
	}
}

// WithTags adds tags to every run; tags with a concurrency limit in the
// engine's Limiter bound how many such runs execute at once.
func WithTags(tags ...string) Option {
	return func(c *config) error { c.tags = append(c.tags, tags...); return nil }
}

// WithTagsFrom adds tags computed from each run's input, for dynamic
// limits such as one run at a time per device: func(d Device) []string {
// return []string{"device:" + d.Name} }.
func WithTagsFrom[I any](tags func(in I) []string) Option {
	return typed("WithTagsFrom", tags)
}

// WithKey identifies runs by key(in) instead of a hash of the input's JSON
// encoding: for inputs that do not encode, or whose encoding carries more
// than their identity.
func WithKey[I any](key func(in I) string) Option { return typed("WithKey", key) }

// WithCache serves runs from the engine's result store: a run whose cache
// key (by default a hash of the input) has an unexpired result completes
// in state Cached without calling the function. ttl 0 never expires.
func WithCache(ttl time.Duration) Option {
	return func(c *config) error {
		if ttl < 0 {
			return flowext.OptionError("WithCache", fmt.Errorf("expiration %s is negative", ttl))
		}
		c.cache, c.cacheTTL = true, ttl
		return nil
	}
}

// WithCacheKey enables caching with a key computed from the input.
func WithCacheKey[I any](key func(in I) string) Option { return typed("WithCacheKey", key) }

// WithCacheRefresh runs the function even on a cache hit and stores the
// fresh result.
func WithCacheRefresh() Option {
	return func(c *config) error { c.refresh = true; return nil }
}

// WithoutResultPersistence keeps results out of the recorder: a retried
// or resumed flow run runs this task again. For outputs that are large,
// sensitive or cheap to recompute. It also disables caching.
func WithoutResultPersistence() Option {
	return func(c *config) error { c.noPersist = true; return nil }
}

// WithSensitiveResult marks the task's results sensitive: the runtime's
// store keeps them (for reuse on a retry or resume, and in the cache)
// encrypted with its secrets' key, and refuses them when it has none,
// rather than keep them in plaintext. For outputs holding credentials or
// private keys that must still survive a crash: a configuration snapshot
// kept for a rollback, say. (Outputs that need not survive it are better
// not kept at all: [WithoutResultPersistence].)
func WithSensitiveResult() Option {
	return func(c *config) error { c.sensitive = true; return nil }
}

// WithCompensation registers undo for each completed run: if the flow run
// ends Failed, Crashed or Cancelled, the compensations of its completed
// task runs run in reverse order (saga style), each recorded as a task run
// named "<task>.compensate". Results reused from an earlier attempt count
// as completed; cache hits do not (they changed nothing).
func WithCompensation[I, O any](undo func(ctx context.Context, in I, out O) error) Option {
	return typed("WithCompensation", undo)
}

func typed(name string, fn any) Option {
	return func(c *config) error {
		if reflect.ValueOf(fn).IsNil() {
			return flowext.OptionError(name, errors.New("function is nil"))
		}
		c.typed = append(c.typed, typedOption{name: name, fn: fn})
		return nil
	}
}

// WithRunName names each run from a text/template executed on the input.
func WithRunName(tmpl string) Option {
	return func(c *config) error {
		t, err := template.New("run-name").Option("missingkey=error").Parse(tmpl)
		if err != nil {
			return flowext.OptionError("WithRunName", fmt.Errorf("template: %w", err))
		}
		c.runName = t
		return nil
	}
}

// OnRunning adds hooks called when a run starts each attempt.
func OnRunning(h ...flow.Hook) Option {
	return func(c *config) error {
		if err := flowext.NilHook("OnRunning", h); err != nil {
			return err
		}
		c.running = append(c.running, h...)
		return nil
	}
}

// OnCompletion adds hooks called when a run completes, cache hits
// included. A run whose result is reused from an earlier attempt of its
// flow run does not call them again: they were called when it completed.
func OnCompletion(h ...flow.Hook) Option {
	return func(c *config) error {
		if err := flowext.NilHook("OnCompletion", h); err != nil {
			return err
		}
		c.completed = append(c.completed, h...)
		return nil
	}
}

// OnFailure adds hooks called when a run ends Failed or Crashed.
func OnFailure(h ...flow.Hook) Option {
	return func(c *config) error {
		if err := flowext.NilHook("OnFailure", h); err != nil {
			return err
		}
		c.failed = append(c.failed, h...)
		return nil
	}
}

// Name returns the task's name.
func (t *Task[I, O]) Name() string { return t.name }

// Err returns the task's configuration error, if any.
func (t *Task[I, O]) Err() error { return t.err }

// Run runs the task with input in and returns its output. Inside a flow
// run, a call whose identity already completed in an earlier attempt of
// the flow run returns that result without running (state Cached).
//
// Run returns once the run's final state, and its result, are durable in
// the engine's recorder.
func (t *Task[I, O]) Run(ctx context.Context, in I) (O, error) {
	if t.err != nil {
		var zero O
		return zero, t.err
	}
	ik, err := t.inputKey(ctx, in)
	if err != nil {
		var zero O
		return zero, err
	}
	return t.run(ctx, in, ik, flowext.TaskKey(ctx, t.name, ik))
}

// inputKey identifies in: the WithKey function, or a hash of its JSON.
// It is computed only where it is used: inside a flow run or for caching.
func (t *Task[I, O]) inputKey(ctx context.Context, in I) (string, error) {
	if t.key != nil {
		return t.key(in), nil
	}
	if flowext.FlowRunFrom(ctx) == nil && !t.cfg.cache {
		return "", nil
	}
	return hashInput(t.name, in)
}

// identify is inputKey wherever it is needed.
func (t *Task[I, O]) identify(in I) (string, error) {
	if t.key != nil {
		return t.key(in), nil
	}
	return hashInput(t.name, in)
}

// hasher encodes an input's JSON straight into SHA-256, reusing both.
type hasher struct {
	h   hash.Hash
	enc *json.Encoder
	sum [sha256.Size]byte
}

var hashers = sync.Pool{New: func() any {
	h := &hasher{h: sha256.New()}
	h.enc = json.NewEncoder(h.h)
	return h
}}

func hashInput[I any](name string, in I) (string, error) {
	h := hashers.Get().(*hasher)
	defer hashers.Put(h)
	h.h.Reset()
	if err := h.enc.Encode(in); err != nil {
		return "", fmt.Errorf("task %q: input does not encode as JSON, which its identity needs (give the task WithKey): %w", name, err)
	}
	return hex.EncodeToString(h.h.Sum(h.sum[:0])[:12]), nil
}

func (t *Task[I, O]) run(ctx context.Context, in I, inputKey, key string) (O, error) {
	var zero O
	rec := flow.RunRecord{Kind: flow.KindTask, Name: t.name, RunName: t.name, TaskKey: key, Tags: t.tags(in)}
	if t.cfg.runName != nil {
		rec.RunName = t.runName(ctx, in)
	}
	if key != "" {
		if prior, ok := flowext.PriorResult(ctx, key); ok {
			out, err := flowext.Reuse[O](ctx, rec, prior)
			if err == nil {
				// The step's change is in place: it is undone, once, if
				// the flow run fails after all.
				t.addCompensation(ctx, rec, in, out)
			}
			return out, err
		}
	}
	ctx, run, err := flowext.StartRun(ctx, rec)
	if err != nil {
		return zero, err
	}
	eng := run.Engine()

	var cacheKey string
	if t.cfg.cache && !t.cfg.noPersist {
		cacheKey = t.cacheKeyFor(ctx, in, inputKey)
		if !t.cfg.refresh {
			if out, hit, err := t.fromCache(ctx, run, cacheKey); hit || err != nil {
				return out, err
			}
		}
	}

	fn := t.fn
	if s := stubFor(ctx, t); s != nil {
		fn = s
	}
	cfg := flowext.AttemptConfig{Label: `task "` + t.name + `"`, Retry: t.cfg.retry, RetryIf: t.cfg.retryIf, Timeout: t.cfg.timeout}
	if tags := rec.Tags; eng.Limiter != nil && len(tags) > 0 {
		cfg.Slots = func(ctx context.Context) (func(), error) { return eng.Limiter.Acquire(ctx, tags) }
	}
	if len(t.cfg.running) > 0 {
		cfg.OnRunning = func(ctx context.Context) { flowext.RunHooks(ctx, run, "OnRunning", t.cfg.running, run.State(), nil) }
	}
	out, final, err := flowext.Attempt(ctx, run, cfg, func(actx context.Context) (O, error) { return fn(actx, in) })

	var res *flow.Result
	completed := final.Type == flow.TypeCompleted
	if completed && !t.cfg.noPersist && (key != "" || cacheKey != "") {
		res = t.result(ctx, run, key, cacheKey, out)
	}
	if completed {
		// Registered before Finish: the change happened even if recording it fails.
		t.addCompensation(ctx, rec, in, out)
	}
	if ferr := flowext.Finish(ctx, run, final, res); ferr != nil {
		return out, errors.Join(err, ferr)
	}
	switch final.Type {
	case flow.TypeCompleted:
		flowext.RunHooks(ctx, run, "OnCompletion", t.cfg.completed, final, nil)
	case flow.TypeFailed, flow.TypeCrashed:
		flowext.RunHooks(ctx, run, "OnFailure", t.cfg.failed, final, err)
	}
	return out, err
}

func (t *Task[I, O]) addCompensation(ctx context.Context, rec flow.RunRecord, in I, out O) {
	if t.comp == nil {
		return
	}
	flowext.AddCompensation(ctx, flowext.Compensation{
		Key:     rec.TaskKey,
		Name:    t.name + ".compensate",
		RunName: rec.RunName + ".compensate",
		Tags:    rec.Tags,
		Fn:      func(c context.Context) error { return t.comp(c, in, out) },
	})
}

func (t *Task[I, O]) tags(in I) []string {
	if t.tagsFrom == nil {
		return t.cfg.tags
	}
	return append(append([]string(nil), t.cfg.tags...), t.tagsFrom(in)...)
}

func (t *Task[I, O]) runName(ctx context.Context, in I) string {
	var b bytes.Buffer
	if err := t.cfg.runName.Execute(&b, in); err != nil {
		flow.Logger(ctx).Warn("task run name template failed; using the task name",
			slog.String("task", t.name), slog.String("error", err.Error()))
		return t.name
	}
	return b.String()
}

// cacheKeyFor is the cache key of input in: the task's name and the
// WithCacheKey key or the input's hash, in the namespace of the
// top-level flow run (flowext.CacheKeyPrefix), so that flows do not share
// cache entries.
func (t *Task[I, O]) cacheKeyFor(ctx context.Context, in I, inputKey string) string {
	k := inputKey
	if t.cacheKey != nil {
		k = t.cacheKey(in)
	}
	return flowext.CacheKeyPrefix(ctx) + "task:" + t.name + "/" + k
}

// fromCache completes the run from the cache if it has an unexpired
// result under cacheKey. A store error is logged and the task runs. A hit
// is not kept for reuse under the run's task key: it changed nothing, so
// a retried flow run looks it up in the cache again (and never
// compensates it).
func (t *Task[I, O]) fromCache(ctx context.Context, run *flow.Run, cacheKey string) (O, bool, error) {
	var out O
	eng := run.Engine()
	v, ok, err := eng.Results.CachedResult(ctx, cacheKey, eng.Clock.Now())
	if err != nil {
		flow.Logger(ctx).Warn("cache lookup failed; running the task", slog.String("error", err.Error()))
		return out, false, nil
	}
	if !ok {
		return out, false, nil
	}
	if err := json.Unmarshal(v, &out); err != nil {
		flow.Logger(ctx).Warn("cached result does not decode; running the task", slog.String("error", err.Error()))
		return out, false, nil
	}
	if err := flowext.Finish(ctx, run, flow.Cached("cache hit"), nil); err != nil {
		return out, true, err
	}
	flowext.RunHooks(ctx, run, "OnCompletion", t.cfg.completed, run.State(), nil)
	return out, true, nil
}

func (t *Task[I, O]) result(ctx context.Context, run *flow.Run, key, cacheKey string, out O) *flow.Result {
	v, err := json.Marshal(out)
	if err != nil {
		flow.Logger(ctx).Warn("task output does not encode as JSON; it is not persisted, so a retried flow run runs this task again",
			slog.String("error", err.Error()))
		return nil
	}
	res := &flow.Result{TaskKey: key, CacheKey: cacheKey, Value: v, Sensitive: t.cfg.sensitive}
	if cacheKey != "" && t.cfg.cacheTTL > 0 {
		res.CacheExpires = run.Engine().Clock.Now().Add(t.cfg.cacheTTL)
	}
	return res
}
