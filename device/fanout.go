package device

import (
	"context"
	"errors"
	"fmt"
	"github.com/netauto-dev/netauto/flow"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limiter serializes work by tag. The fan-out acquires the tag
// "device:<host name>" around each host's work so that no two tasks touch
// one device at once, also across concurrent fan-outs and flows sharing the
// limiter. The engine's task package provides one with this method set;
// KeyLocks is a small in-process implementation.
type Limiter interface {
	// Acquire blocks until all tags are held or ctx ends, and returns the
	// function that releases them.
	Acquire(ctx context.Context, tags []string) (release func(), err error)
}

// DeviceTag is the limiter tag for host name.
func DeviceTag(name string) string { return "device:" + name }

// ErrThresholdExceeded is the error of hosts not started because too many
// hosts had failed.
var ErrThresholdExceeded = errors.New("failure threshold exceeded: host not started")

// FanOut configures a fan-out over an inventory.
type FanOut struct {
	// Concurrency bounds how many hosts run at once (default 10).
	Concurrency int
	// HostTimeout is each host's deadline (default none beyond the
	// sessions' own connect and operation timeouts).
	HostTimeout time.Duration
	// MaxFailurePercent, when > 0, stops starting new hosts once more than
	// this percentage of all hosts has failed; hosts not started get class
	// Skipped and ErrThresholdExceeded.
	MaxFailurePercent float64
	// Limiter serializes work per device (tag DeviceTag(name)). When nil,
	// the limiter of the flow engine in the context is used
	// (flow.EngineFrom(ctx).Limiter), so a fan-out inside a flow obeys the
	// engine's tag limits: give it {"device:*": 1} (task.Limits) to keep
	// every flow and task off a device another one is using.
	Limiter Limiter
}

// HostResult is one host's outcome.
type HostResult[T any] struct {
	Host  string
	Class Class
	Value T
	Err   error
	// Diff is the change made, for values that report one (ChangeReporter),
	// also when the host failed part-way.
	Diff     string
	Duration time.Duration
}

// ChangeReporter is implemented by task values that know whether they
// changed something; the fan-out then classes a success as Changed or
// Unchanged and copies the diff.
type ChangeReporter interface {
	ChangeDiff() (changed bool, diff string)
}

// ChangeDiff reports whether the configuration changed and how.
func (c *ConfigChange) ChangeDiff() (bool, string) {
	if c == nil {
		return false, ""
	}
	return c.Changed, c.Diff
}

// Results are the per-host outcomes of a fan-out, sorted by host name.
type Results[T any] []HostResult[T]

// Count returns how many hosts ended in class c.
func (r Results[T]) Count(c Class) int {
	n := 0
	for _, h := range r {
		if h.Class == c {
			n++
		}
	}
	return n
}

// Failed returns the results of hosts that failed.
func (r Results[T]) Failed() Results[T] {
	var out Results[T]
	for _, h := range r {
		if h.Class.IsFailure() {
			out = append(out, h)
		}
	}
	return out
}

// Summary counts hosts per class.
func (r Results[T]) Summary() map[Class]int {
	m := map[Class]int{}
	for _, h := range r {
		m[h.Class]++
	}
	return m
}

// Run calls task for every host of inv, at most f.Concurrency at a time,
// each under its own deadline and device lock, and returns every host's
// result. A panic in task fails that host only. task must honour ctx.
func Run[T any](ctx context.Context, inv *Inventory, f FanOut, task func(ctx context.Context, h Host) (T, error)) Results[T] {
	hosts := inv.Hosts()
	results := make(Results[T], len(hosts))
	workers := f.Concurrency
	if workers <= 0 {
		workers = 10
	}
	workers = min(workers, len(hosts))
	var failed atomic.Int64
	next := make(chan int)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				results[i] = runHost(ctx, hosts[i], f, task, &failed, len(hosts))
			}
		}()
	}
	for i := range hosts {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

func runHost[T any](ctx context.Context, h Host, f FanOut, task func(context.Context, Host) (T, error), failed *atomic.Int64, total int) (res HostResult[T]) {
	res.Host = h.Name
	if f.MaxFailurePercent > 0 && float64(failed.Load())*100 > f.MaxFailurePercent*float64(total) {
		res.Class, res.Err = Skipped, ErrThresholdExceeded
		return res
	}
	if err := ctx.Err(); err != nil {
		res.Class, res.Err = Skipped, fmt.Errorf("not started: %w", context.Cause(ctx))
		return res
	}
	start := time.Now()
	defer func() {
		res.Duration = time.Since(start)
		if res.Class.IsFailure() {
			failed.Add(1)
		}
	}()
	hctx := ctx
	if f.HostTimeout > 0 {
		var cancel context.CancelFunc
		hctx, cancel = context.WithTimeout(ctx, f.HostTimeout)
		defer cancel()
	}
	var lim Limiter = f.Limiter
	if lim == nil {
		if el := flow.EngineFrom(ctx).Limiter; el != nil {
			lim = el
		}
	}
	if lim != nil {
		release, err := lim.Acquire(hctx, []string{DeviceTag(h.Name)})
		if err != nil {
			res.Class, res.Err = TimedOut, &Error{Host: h.Name, Op: "acquire device lock", Class: TimedOut, Err: err}
			return res
		}
		if release != nil {
			defer release()
		}
	}
	defer func() {
		if p := recover(); p != nil {
			res.Class = Failed
			res.Err = &Error{Host: h.Name, Op: "task", Class: Failed, Err: fmt.Errorf("panic: %v\n%s", p, debug.Stack())}
		}
	}()
	res.Value, res.Err = task(hctx, h)
	res.Class = ClassOf(res.Err)
	if cr, ok := any(res.Value).(ChangeReporter); ok {
		// Also on failure: a push rejected half-way may have changed things.
		changed, diff := cr.ChangeDiff()
		res.Diff = diff
		if changed && res.Err == nil {
			res.Class = Changed
		}
	}
	return res
}

// RunSessions opens a session on every host of inv (see Run for the
// fan-out rules), calls fn with it and closes it, also on panic.
func RunSessions[T any](ctx context.Context, inv *Inventory, secrets SecretResolver, f FanOut, fn func(ctx context.Context, s *Session) (T, error)) Results[T] {
	return Run(ctx, inv, f, func(ctx context.Context, h Host) (T, error) {
		var v T
		err := With(ctx, h, secrets, func(s *Session) error {
			var err error
			v, err = fn(ctx, s)
			return err
		})
		return v, err
	})
}

// SendAll runs commands on every host of inv; see RunSessions.
func SendAll(ctx context.Context, inv *Inventory, secrets SecretResolver, f FanOut, commands ...string) Results[[]Result] {
	return RunSessions(ctx, inv, secrets, f, func(ctx context.Context, s *Session) ([]Result, error) {
		return s.Send(ctx, commands...)
	})
}

// ConfigureAll pushes the lines returned by lines(host) to every host of
// inv (Session.Configure, with opts) and reports Changed / Unchanged with
// the diff; see RunSessions. A host whose push was refused part-way has
// class CommandFailed and its ConfigChange lists the lines applied.
func ConfigureAll(ctx context.Context, inv *Inventory, secrets SecretResolver, f FanOut, lines func(Host) []string, opts ...ConfigureOption) Results[*ConfigChange] {
	return RunSessions(ctx, inv, secrets, f, func(ctx context.Context, s *Session) (*ConfigChange, error) {
		return s.Configure(ctx, lines(s.Host()), opts...)
	})
}

// KeyLocks is a Limiter giving mutual exclusion per tag within one
// process. The zero value is ready to use.
type KeyLocks struct {
	mu   sync.Mutex
	held map[string]chan struct{}
}

// Acquire takes every tag (in sorted order, so overlapping sets cannot
// deadlock), waiting for holders to release them or ctx to end.
func (l *KeyLocks) Acquire(ctx context.Context, tags []string) (func(), error) {
	tags = slices.Clone(tags)
	slices.Sort(tags)
	tags = slices.Compact(tags)
	var got []string
	var once sync.Once
	release := func() {
		once.Do(func() {
			l.mu.Lock()
			defer l.mu.Unlock()
			for _, t := range got {
				close(l.held[t])
				delete(l.held, t)
			}
		})
	}
	for _, t := range tags {
		for {
			l.mu.Lock()
			if l.held == nil {
				l.held = map[string]chan struct{}{}
			}
			ch, busy := l.held[t]
			if !busy {
				l.held[t] = make(chan struct{})
				l.mu.Unlock()
				got = append(got, t)
				break
			}
			l.mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				release()
				return nil, context.Cause(ctx)
			}
		}
	}
	return release, nil
}
