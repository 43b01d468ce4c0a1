package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/netauto-dev/netauto/runtime/store"
)

var _ store.RunNotifier = (*DB)(nil)

// hub tells subscribers which flow runs committed transactions changed.
// Every transaction notes the runs it changes, subscribers or not: a
// subscription that begins while a transaction is open must still hear
// of its commit (skipping the note when nobody listened at the time of
// the change lost that commit, and a follower waited for its poll).
type hub struct {
	n       atomic.Int32 // subscribers
	mu      sync.Mutex
	subs    map[int]func(string)
	next    int
	touched map[any][]string // runs changed by each open transaction (*sql.Tx, or a pipelined one's key)
	pending atomic.Int32     // len(touched)
	origin  string           // this store's mark on its announcements to others
	listen  func(ctx context.Context, publish func(string))
	stop    context.CancelFunc // ends listen; nil before the first subscription
	stopped chan struct{}      // closed when listen returned
	closed  bool
}

// NotifyRuns implements store.RunNotifier.
func (db *DB) NotifyRuns(fn func(flowRunID string)) (cancel func()) {
	h := &db.hub
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.subs == nil {
		h.subs = make(map[int]func(string))
	}
	id := h.next
	h.next++
	h.subs[id] = fn
	h.n.Add(1)
	if h.listen != nil && h.stop == nil && !h.closed {
		ctx, stop := context.WithCancel(context.Background())
		h.stop, h.stopped = stop, make(chan struct{})
		go func() {
			defer close(h.stopped)
			h.listen(ctx, db.PublishRun)
		}()
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			delete(h.subs, id)
			h.n.Add(-1)
		})
	}
}

// PublishRun announces a change of runs to this process's subscribers at
// once, outside any transaction: a driver's cross-process listener calls
// it with each payload Dialect.Notify sent (the sender's mark, a space,
// the IDs comma-separated). This store's own announcements, published
// at their commit already, are skipped.
func (db *DB) PublishRun(payload string) {
	if db.hub.n.Load() == 0 {
		return
	}
	origin, ids, ok := strings.Cut(payload, " ")
	if !ok {
		origin, ids = "", payload
	}
	if origin == db.hub.origin {
		return
	}
	db.hub.publish(strings.Split(ids, ","))
}

// touch notes that tx (a *sql.Tx, or the key of a pipelined transaction)
// changed run, to announce when tx commits.
func (db *DB) touch(tx any, run string) {
	h := &db.hub
	if run == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.touched == nil {
		h.touched = make(map[any][]string)
	}
	if _, ok := h.touched[tx]; !ok {
		h.pending.Add(1)
	}
	h.touched[tx] = append(h.touched[tx], run)
}

// mark returns how many changes tx has noted so far, for truncate.
func (h *hub) mark(tx *sql.Tx) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.touched[tx])
}

// truncate forgets the changes tx noted after mark: a combined caller's
// savepoint was rolled back.
func (h *hub) truncate(tx *sql.Tx, mark int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if runs, ok := h.touched[tx]; ok && len(runs) > mark {
		h.touched[tx] = runs[:mark]
	}
}

// done ends tx: its changes are announced when it committed.
func (h *hub) done(tx any, committed bool) {
	if h.pending.Load() == 0 {
		return
	}
	h.mu.Lock()
	runs, ok := h.touched[tx]
	if ok {
		delete(h.touched, tx)
		h.pending.Add(-1)
	}
	h.mu.Unlock()
	if committed && len(runs) > 0 {
		h.publish(runs)
	}
}

func (h *hub) publish(runs []string) {
	h.mu.Lock()
	fns := make([]func(string), 0, len(h.subs))
	for _, fn := range h.subs {
		fns = append(fns, fn)
	}
	h.mu.Unlock()
	for i, r := range runs {
		if i > 0 && runs[i-1] == r {
			continue
		}
		for _, fn := range fns {
			fn(r)
		}
	}
}

// stopListening ends the listener, if it runs, and waits for it.
func (h *hub) stopListening() {
	h.mu.Lock()
	stop, stopped := h.stop, h.stopped
	h.closed = true
	h.mu.Unlock()
	if stop != nil {
		stop()
		<-stopped
	}
}

// notifyPayload bounds one notification's payload (PostgreSQL: under 8000
// bytes).
const notifyPayload = 7000

// notifyOthers announces the runs tx changed to the other processes
// (Dialect.Notify), in tx.
func (db *DB) notifyOthers(ctx context.Context, tx *sql.Tx) error {
	for _, p := range db.notifyPayloads(tx) {
		if _, err := db.execTx(ctx, tx, db.d.Notify, p); err != nil {
			return fmt.Errorf("announce changed runs: %w", err)
		}
	}
	return nil
}

// notifyPayloads returns the payloads of Dialect.Notify that announce the
// runs tx changed, none without Dialect.Notify.
func (db *DB) notifyPayloads(tx any) []string {
	h := &db.hub
	if db.d.Notify == "" || h.pending.Load() == 0 {
		return nil
	}
	h.mu.Lock()
	runs := slices.Clone(h.touched[tx])
	h.mu.Unlock()
	slices.Sort(runs)
	runs = slices.Compact(runs)
	var out []string
	for len(runs) > 0 {
		var b strings.Builder
		b.WriteString(h.origin)
		b.WriteByte(' ')
		head := b.Len()
		for len(runs) > 0 && b.Len()+len(runs[0]) < notifyPayload {
			if b.Len() > head {
				b.WriteByte(',')
			}
			b.WriteString(runs[0])
			runs = runs[1:]
		}
		if b.Len() == head { // an ID longer than a payload: not announced
			runs = runs[1:]
			continue
		}
		out = append(out, b.String())
	}
	return out
}
