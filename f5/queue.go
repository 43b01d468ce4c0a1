package f5

import (
	"context"
	"slices"
	"sync"
)

// tenantQueue serializes work per tenant in arrival order. A caller takes a
// ticket for all the tenants it touches in one step (under one mutex), so
// any two tickets are ordered the same way in every queue they share: that
// keeps first-in-first-out per tenant and rules out deadlock between
// multi-tenant declarations. Tickets for disjoint tenants run in parallel.
type tenantQueue struct {
	mu     sync.Mutex
	queues map[string][]*ticket
	// onEnqueue, when set (by tests), is called once a ticket is in line.
	onEnqueue func(tenants []string)
}

type ticket struct {
	tenants []string
	pending int           // queues in which this ticket is not yet at the head
	ready   chan struct{} // closed when pending reaches 0
}

func newTenantQueue() *tenantQueue {
	return &tenantQueue{queues: make(map[string][]*ticket)}
}

// acquire waits until the caller is first in line for every tenant. It
// returns a release func, or ctx's error (leaving the queues as if the
// caller had never come).
func (q *tenantQueue) acquire(ctx context.Context, tenants []string) (func(), error) {
	t := &ticket{tenants: uniqueSorted(tenants), ready: make(chan struct{})}
	q.mu.Lock()
	for _, name := range t.tenants {
		q.queues[name] = append(q.queues[name], t)
		if len(q.queues[name]) > 1 {
			t.pending++
		}
	}
	if t.pending == 0 {
		close(t.ready)
	}
	q.mu.Unlock()
	if q.onEnqueue != nil {
		q.onEnqueue(t.tenants)
	}

	release := func() { q.leave(t) }
	select {
	case <-t.ready:
		return release, nil
	case <-ctx.Done():
		q.leave(t)
		return nil, ctx.Err()
	}
}

// leave removes t from its queues, promoting the next ticket wherever t
// was at the head.
func (q *tenantQueue) leave(t *ticket) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, name := range t.tenants {
		line := q.queues[name]
		i := slices.Index(line, t)
		if i < 0 {
			continue
		}
		line = slices.Delete(line, i, i+1)
		if i == 0 && len(line) > 0 {
			next := line[0]
			next.pending--
			if next.pending == 0 {
				close(next.ready)
			}
		}
		if len(line) == 0 {
			delete(q.queues, name)
		} else {
			q.queues[name] = line
		}
	}
}

func uniqueSorted(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}
