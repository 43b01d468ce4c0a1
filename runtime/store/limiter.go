package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
)

// TagLimit returns the limit of tag in limits: its own, else that of the
// longest pattern ("device:*") matching it, else 0 (no limit). It is the
// rule task.Limits follows, and the one the store applies.
func TagLimit(limits map[string]int, tag string) int {
	if n, ok := limits[tag]; ok {
		return n
	}
	best, n := -1, 0
	for p, l := range limits {
		if prefix, ok := strings.CutSuffix(p, "*"); ok && strings.HasPrefix(tag, prefix) && len(prefix) > best {
			best, n = len(prefix), l
		}
	}
	return n
}

// LimiterOptions tune a [Limiter]. Zero fields take the defaults.
type LimiterOptions struct {
	// Lease is how long slots stay held without renewal: the time after
	// which a dead process's slots free themselves. Default 30s; held
	// slots are renewed every Lease/3.
	Lease time.Duration
	// Poll is the first wait before trying again for a full tag; waits
	// double up to MaxPoll. Defaults 50ms and 2s.
	Poll, MaxPoll time.Duration
	// Refresh is how long the tag limits are cached: a run whose tags have
	// no limit skips the store entirely. Default 10s.
	Refresh time.Duration
	// OutagePatience is how long Acquire waits out an unavailable store
	// when its context carries no lease ([WithLease]); with one, it waits
	// as long as the lease holds. Default 1 minute.
	OutagePatience time.Duration
}

// SlotHolderPrefix starts the names of the slot holdings of an execution
// of flow run runID (its tasks', its subflows'): when the run is crashed
// (its worker, process or container died) the store frees them at once
// rather than when their lease runs out.
func SlotHolderPrefix(runID string) string { return "run:" + runID + "/" }

// Limiter implements [flow.Limiter] across every process sharing a store:
// set it as the engine's Limiter in workers. Slots are leased, so the
// slots of a process that dies free themselves after Lease. Waiters poll
// with backoff; unlike the in-process task.Limiter, waiters across
// processes are not served in arrival order.
type Limiter struct {
	s    SlotLeaser
	opts LimiterOptions

	mu      sync.Mutex
	limits  map[string]int
	fetched time.Time
}

var _ flow.Limiter = (*Limiter)(nil)

// SlotLeaser is what a [Limiter] needs: the tag limits, and leased
// slots. Every [Slots] (every [Store]) is one; so is a client reporting
// one run to the API server (a run in a child process or container).
type SlotLeaser interface {
	TagLimits(ctx context.Context) (map[string]int, error)
	AcquireSlots(ctx context.Context, holder string, tags []string, until time.Time) (ok bool, err error)
	RenewSlots(ctx context.Context, holder string, until time.Time) error
	ReleaseSlots(ctx context.Context, holder string) error
}

// NewLimiter returns a Limiter on s.
func NewLimiter(s SlotLeaser, opts LimiterOptions) *Limiter {
	if opts.Lease <= 0 {
		opts.Lease = 30 * time.Second
	}
	if opts.Poll <= 0 {
		opts.Poll = 50 * time.Millisecond
	}
	if opts.MaxPoll < opts.Poll {
		opts.MaxPoll = max(2*time.Second, opts.Poll)
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Second
	}
	if opts.OutagePatience <= 0 {
		opts.OutagePatience = time.Minute
	}
	return &Limiter{s: s, opts: opts}
}

// limited returns the tags of tags that have a limit.
func (l *Limiter) limited(ctx context.Context, tags []string) ([]string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.limits == nil || time.Since(l.fetched) > l.opts.Refresh {
		var m map[string]int
		err := RetryUnavailable(ctx, l.opts.OutagePatience, "read tag limits", func(ctx context.Context) error {
			var err error
			m, err = l.s.TagLimits(ctx)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("read tag limits: %w", err)
		}
		l.limits, l.fetched = m, time.Now()
	}
	var out []string
	for _, t := range tags {
		if TagLimit(l.limits, t) > 0 {
			out = append(out, t)
		}
	}
	return out, nil
}

// Acquire implements [flow.Limiter]: it waits until every limited tag in
// tags has a free slot, takes them all at once, and keeps renewing them
// until release is called.
func (l *Limiter) Acquire(ctx context.Context, tags []string) (func(), error) {
	tags, err := l.limited(ctx, tags)
	if err != nil {
		return nil, err
	}
	if len(tags) == 0 {
		return func() {}, nil
	}
	holder := flow.NewID()
	if f, ok := FenceFrom(ctx); ok {
		// The slots of an execution's runs go with it when its run is
		// crashed (its worker or process died): see SlotHolderPrefix.
		holder = SlotHolderPrefix(f.RunID) + holder
	}
	wait := l.opts.Poll
	for {
		var ok bool
		err := RetryUnavailable(ctx, l.opts.OutagePatience, "acquire concurrency slots", func(ctx context.Context) error {
			var err error
			ok, err = l.s.AcquireSlots(ctx, holder, tags, time.Now().Add(l.opts.Lease))
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("acquire concurrency slots for tags %q: %w", tags, err)
		}
		if ok {
			break
		}
		// Jitter spreads the retries of processes that waited together.
		t := time.NewTimer(wait/2 + rand.N(wait/2+1))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("wait for concurrency slots of tags %q: %w", tags, context.Cause(ctx))
		case <-t.C:
		}
		wait = min(2*wait, l.opts.MaxPoll)
	}
	stop := make(chan struct{})
	done := make(chan struct{})
	go l.renew(holder, stop, done)
	var once sync.Once
	return func() {
		once.Do(func() {
			close(stop)
			<-done
			// Best effort: slots not released expire with their lease.
			rctx, cancel := context.WithTimeout(context.Background(), l.opts.Lease)
			defer cancel()
			_ = l.s.ReleaseSlots(rctx, holder)
		})
	}, nil
}

func (l *Limiter) renew(holder string, stop, done chan struct{}) {
	defer close(done)
	t := time.NewTicker(l.opts.Lease / 3)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), l.opts.Lease/3)
			_ = l.s.RenewSlots(ctx, holder, time.Now().Add(l.opts.Lease)) // a failure is retried next tick
			cancel()
		}
	}
}
