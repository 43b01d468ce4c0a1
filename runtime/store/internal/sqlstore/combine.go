package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
)

// combiner runs the write transactions of concurrent callers as one
// database transaction, each in a savepoint of its own (Dialect.Combine:
// SQLite, whose single writer makes them wait for each other anyway).
// What a caller waits for is a commit, and a commit of SQLite's costs the
// same for one small change as for twenty: the API's run creations, the
// workers' claims and the engine's recorder each paid one, in series,
// behind the single writer's lock.
//
// The outcome of each caller is what it would be alone: its function's
// error rolls back its savepoint only; the commit's error is every
// successful caller's; a caller whose context ended before its turn is
// not run. The order is the callers' arrival, as the writer's lock gave
// it before, so the batch is equivalent to the same transactions one
// after the other, committed together.
type combiner struct {
	mu      sync.Mutex
	queue   []*combined
	leading bool                   // a caller is running batches
	cur     atomic.Pointer[sql.Tx] // the batch's transaction, while it runs
}

// combined is one caller's transaction waiting in, or run by, a batch.
type combined struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	err  error
	done chan struct{}
}

// maxCombined bounds a batch: the last caller of a batch waits for the
// functions of all those before it.
const maxCombined = 64

// combine runs fn in the next batch and returns its outcome. The caller
// that finds no batch under way runs batches until the queue is empty;
// the others wait for theirs.
func (db *DB) combine(ctx context.Context, fn func(*sql.Tx) error) error {
	c := &db.comb
	req := &combined{ctx: ctx, fn: fn, done: make(chan struct{})}
	c.mu.Lock()
	c.queue = append(c.queue, req)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if lead {
		for {
			c.mu.Lock()
			n := min(len(c.queue), maxCombined)
			if n == 0 {
				c.leading = false
				c.mu.Unlock()
				break
			}
			batch := c.queue[:n:n]
			c.queue = c.queue[n:]
			c.mu.Unlock()
			db.runBatch(batch)
		}
	}
	// Once queued, fn runs or is skipped in a batch that ends shortly: it
	// is waited for even when ctx ends, so that no caller is told of a
	// failure that then commits.
	<-req.done
	return req.err
}

// runBatch runs the functions of batch in one transaction and tells each
// caller its outcome.
func (db *DB) runBatch(batch []*combined) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	// The batch outlives any one caller's context: each caller's is
	// checked before its function runs.
	tx, err := db.w.BeginTx(context.Background(), nil)
	if err != nil {
		for _, r := range batch {
			r.err = fmt.Errorf("begin: %w", err)
		}
		return
	}
	db.comb.cur.Store(tx)
	defer db.comb.cur.Store(nil)
	ran := 0
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.err = context.Cause(r.ctx)
			continue
		}
		if len(batch) == 1 {
			// Alone: no savepoint; a failure rolls the transaction back
			// below (nothing ran).
			if r.err = db.call(r.fn, tx); r.err == nil {
				ran++
			}
			continue
		}
		mark := db.hub.mark(tx)
		if _, err := tx.Exec("SAVEPOINT combined"); err != nil {
			db.abortBatch(tx, batch, fmt.Errorf("savepoint: %w", err))
			return
		}
		if r.err = db.call(r.fn, tx); r.err != nil {
			db.hub.truncate(tx, mark)
			if _, err := tx.Exec("ROLLBACK TO combined"); err != nil {
				db.abortBatch(tx, batch, fmt.Errorf("roll back to savepoint: %w", err))
				return
			}
		}
		if _, err := tx.Exec("RELEASE combined"); err != nil {
			db.abortBatch(tx, batch, fmt.Errorf("release savepoint: %w", err))
			return
		}
		if r.err == nil {
			ran++
		}
	}
	if ran == 0 {
		_ = tx.Rollback()
		db.hub.done(tx, false)
		return
	}
	if err := db.notifyOthers(context.Background(), tx); err != nil {
		db.abortBatch(tx, batch, err)
		return
	}
	if err := tx.Commit(); err != nil {
		db.hub.done(tx, false)
		for _, r := range batch {
			if r.err == nil {
				r.err = fmt.Errorf("commit: %w", err)
			}
		}
		return
	}
	db.hub.done(tx, true)
}

// abortBatch rolls the batch back and gives err to every caller whose
// function had not failed by itself.
func (db *DB) abortBatch(tx *sql.Tx, batch []*combined, err error) {
	_ = tx.Rollback()
	db.hub.done(tx, false)
	for _, r := range batch {
		if r.err == nil {
			r.err = err
		}
	}
}

// call runs fn in tx; a panic in fn, which would otherwise end the
// program from another caller's goroutine and leave the batch's callers
// waiting, is that caller's error.
func (db *DB) call(fn func(*sql.Tx) error, tx *sql.Tx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlstore: panic in a write transaction: %v\n%s", p, debug.Stack())
		}
	}()
	return fn(tx)
}

// stmtCtx is the context a statement of tx runs with. In a combined
// transaction a caller's context must not interrupt a statement: SQLite
// rolls the whole transaction back when a write statement is interrupted,
// the other callers' changes with it.
func (db *DB) stmtCtx(ctx context.Context, tx *sql.Tx) context.Context {
	if tx != nil && tx == db.comb.cur.Load() {
		return context.WithoutCancel(ctx)
	}
	return ctx
}
