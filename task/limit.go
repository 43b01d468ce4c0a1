package task

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
)

// Limits maps a tag, or a tag pattern ending in "*", to how many task runs
// carrying it may execute at once. A pattern gives each distinct tag it
// matches a limit of its own: {"device:*": 1} allows one run at a time per
// device tag, however many devices there are; {"ssh": 20} allows twenty
// runs tagged ssh in all. An exact tag wins over a pattern, a longer
// pattern over a shorter one.
type Limits map[string]int

// Limiter enforces [Limits] within one process. It implements
// [flow.Limiter]: set it as the engine's Limiter. Waiters are served first
// come, first served, and a run acquires its tags in sorted order, so two
// runs needing the same tags cannot deadlock.
type Limiter struct {
	exact    map[string]int
	patterns []pattern // longest prefix first

	mu   sync.Mutex
	sems map[string]*semaphore // only tags in use or waited for
}

type pattern struct {
	prefix string
	limit  int
}

type semaphore struct {
	limit, used int
	waiters     []*waiter
}

type waiter struct {
	ready   chan struct{}
	granted bool
}

// NewLimiter returns a Limiter for limits. A limit below 1 is an error
// naming its tag.
func NewLimiter(limits Limits) (*Limiter, error) {
	l := &Limiter{exact: map[string]int{}, sems: map[string]*semaphore{}}
	for tag, n := range limits {
		if n < 1 {
			return nil, fmt.Errorf("limit for tag %q: %d, want at least 1", tag, n)
		}
		if prefix, ok := strings.CutSuffix(tag, "*"); ok {
			l.patterns = append(l.patterns, pattern{prefix: prefix, limit: n})
			continue
		}
		l.exact[tag] = n
	}
	slices.SortFunc(l.patterns, func(a, b pattern) int { return len(b.prefix) - len(a.prefix) })
	return l, nil
}

// limit returns the limit for tag, or 0 if it has none.
func (l *Limiter) limit(tag string) int {
	if n, ok := l.exact[tag]; ok {
		return n
	}
	for _, p := range l.patterns {
		if strings.HasPrefix(tag, p.prefix) {
			return p.limit
		}
	}
	return 0
}

// Acquire waits until each of tags with a limit has a free slot, or ctx is
// done. The returned release gives the slots back; call it exactly once.
func (l *Limiter) Acquire(ctx context.Context, tags []string) (release func(), err error) {
	var limited []string
	for _, t := range tags {
		if l.limit(t) > 0 && !slices.Contains(limited, t) {
			limited = append(limited, t)
		}
	}
	if len(limited) == 0 {
		return func() {}, nil
	}
	slices.Sort(limited)
	for i, t := range limited {
		if err := l.acquire(ctx, t); err != nil {
			l.releaseAll(limited[:i])
			return nil, fmt.Errorf("wait for concurrency slot of tag %q: %w", t, err)
		}
	}
	var once sync.Once
	return func() { once.Do(func() { l.releaseAll(limited) }) }, nil
}

func (l *Limiter) acquire(ctx context.Context, tag string) error {
	l.mu.Lock()
	s := l.sems[tag]
	if s == nil {
		s = &semaphore{limit: l.limit(tag)}
		l.sems[tag] = s
	}
	if s.used < s.limit && len(s.waiters) == 0 {
		s.used++
		l.mu.Unlock()
		return nil
	}
	w := &waiter{ready: make(chan struct{})}
	s.waiters = append(s.waiters, w)
	l.mu.Unlock()

	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		l.mu.Lock()
		defer l.mu.Unlock()
		if w.granted { // granted while we gave up: pass the slot on
			l.releaseLocked(tag)
		} else {
			s.waiters = slices.DeleteFunc(s.waiters, func(x *waiter) bool { return x == w })
			l.dropIfIdle(tag, s)
		}
		return context.Cause(ctx)
	}
}

func (l *Limiter) releaseAll(tags []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range tags {
		l.releaseLocked(t)
	}
}

// releaseLocked hands tag's slot to the first waiter, or frees it.
func (l *Limiter) releaseLocked(tag string) {
	s := l.sems[tag]
	if s == nil {
		return
	}
	if len(s.waiters) > 0 {
		w := s.waiters[0]
		s.waiters = s.waiters[1:]
		w.granted = true
		close(w.ready)
		return
	}
	s.used--
	l.dropIfIdle(tag, s)
}

// dropIfIdle forgets an unused semaphore, so that dynamic tags (one per
// device) do not accumulate.
func (l *Limiter) dropIfIdle(tag string, s *semaphore) {
	if s.used == 0 && len(s.waiters) == 0 {
		delete(l.sems, tag)
	}
}

// InUse returns how many slots of tag are held, for metrics and tests.
func (l *Limiter) InUse(tag string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sems[tag]; s != nil {
		return s.used
	}
	return 0
}

// Waiting returns how many acquisitions wait for tag, for metrics and
// tests.
func (l *Limiter) Waiting(tag string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.sems[tag]; s != nil {
		return len(s.waiters)
	}
	return 0
}
