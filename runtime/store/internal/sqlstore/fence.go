package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// checkFence returns a *store.FencedError when execution f of its run is
// no longer current: the run is at another attempt or held by another
// worker. It locks the run's row (on Postgres) so that a reap or a claim
// cannot slip in before the transaction commits.
func (db *DB) checkFence(ctx context.Context, tx *sql.Tx, f store.Fence) error {
	var (
		worker  string
		attempt int
	)
	err := db.row(ctx, tx, `SELECT worker, attempt FROM flow_runs WHERE id = $1`+db.d.LockRows, f.RunID).Scan(&worker, &attempt)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("run", f.RunID)
	}
	if err != nil {
		return fmt.Errorf("check fence of run %s: %w", f.RunID, err)
	}
	if attempt != f.Attempt || (f.Worker != "" && worker != f.Worker) {
		return &store.FencedError{Fence: f, Worker: worker, Attempt: attempt}
	}
	return nil
}

// ctxFence checks the fence ctx carries, if any.
func (db *DB) ctxFence(ctx context.Context, tx *sql.Tx) error {
	if f, ok := store.FenceFrom(ctx); ok {
		return db.checkFence(ctx, tx, f)
	}
	return nil
}

// CrashRun implements store.Runs.
func (db *DB) CrashRun(ctx context.Context, f store.Fence, message string) (store.FlowRun, error) {
	if f.RunID == "" {
		return store.FlowRun{}, invalid("run_id", "empty")
	}
	var run store.FlowRun
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.checkFence(ctx, tx, f); err != nil {
			return err
		}
		cur, err := db.getRun(ctx, tx, f.RunID, "")
		if err != nil {
			return err
		}
		if cur.State.Final() {
			run = cur
			return nil
		}
		run, err = db.crash(ctx, tx, cur, message, db.now())
		return err
	})
	if err != nil {
		return store.FlowRun{}, fmt.Errorf("crash run %s: %w", f.RunID, err)
	}
	return run, nil
}

// crash moves cur, read and locked in tx, to Crashed (Cancelled when it was
// Cancelling) and, when retries remain, on to AwaitingRetry with its
// attempt incremented and its worker released.
func (db *DB) crash(ctx context.Context, tx *sql.Tx, cur store.FlowRun, msg string, now time.Time) (store.FlowRun, error) {
	to := flow.Crashed(msg, "")
	if cur.State.Type == flow.TypeCancelling {
		to = flow.Cancelled(msg)
	}
	to.Timestamp = now
	run, err := db.moveRun(ctx, tx, cur, to, nil)
	if err != nil {
		return run, err
	}
	// The lost execution has stopped (its lease says so): its tag slots
	// are free, and its retry must not wait for their lease to lapse.
	if _, err := db.execTx(ctx, tx, `DELETE FROM slots WHERE holder LIKE $1 ESCAPE '\'`, likeEscape(store.SlotHolderPrefix(cur.ID))+"%"); err != nil {
		return run, fmt.Errorf("free slots of run %s: %w", cur.ID, err)
	}
	if to.Type != flow.TypeCrashed || cur.Attempt > cur.Retries {
		// The run ended without its flow's hooks: a worker of its pool
		// owes them (ClaimHooks).
		// Due at once, whatever the clocks of reaper and workers say.
		if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET hooks_due = 1 WHERE id = $1`, cur.ID); err != nil {
			return run, fmt.Errorf("owe hooks of run %s: %w", cur.ID, err)
		}
		return run, nil
	}
	retry := flow.AwaitingRetry(now.Add(cur.RetryDelay), fmt.Sprintf("run retry %d of %d after a crash (run retries): %s", cur.Attempt, cur.Retries, msg))
	retry.Timestamp = now
	if run, err = db.moveRun(ctx, tx, run, retry, nil); err != nil {
		return run, err
	}
	if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET attempt = attempt + 1, worker = '', lease_expires = 0 WHERE id = $1`, cur.ID); err != nil {
		return run, fmt.Errorf("reschedule run %s: %w", cur.ID, err)
	}
	run.Attempt++
	run.Worker, run.LeaseExpires = "", time.Time{}
	return run, nil
}

// ClaimHooks implements store.Runs.
func (db *DB) ClaimHooks(ctx context.Context, c store.Claim) (store.FlowRun, bool, error) {
	switch {
	case c.Pool == "":
		return store.FlowRun{}, false, invalid("pool", "empty")
	case c.Worker == "":
		return store.FlowRun{}, false, invalid("worker", "empty")
	case c.Lease <= 0:
		return store.FlowRun{}, false, invalid("lease", "must be positive")
	}
	if c.Now.IsZero() {
		c.Now = db.now()
	}
	// Nothing owed is the common case: a read, no write transaction.
	var due bool
	if err := db.row(ctx, nil, `SELECT EXISTS (SELECT 1 FROM flow_runs WHERE pool = $1 AND hooks_due > 0 AND hooks_due <= $2)`,
		c.Pool, micros(c.Now)).Scan(&due); err != nil {
		return store.FlowRun{}, false, fmt.Errorf("look for owed hooks of pool %q: %w", c.Pool, err)
	}
	if !due {
		return store.FlowRun{}, false, nil
	}
	var (
		run store.FlowRun
		ok  bool
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		run, ok = store.FlowRun{}, false
		var id string
		err := db.row(ctx, tx, `SELECT r.id FROM flow_runs r WHERE r.pool = $1 AND r.hooks_due > 0 AND r.hooks_due <= $2
			ORDER BY r.hooks_due, r.id LIMIT 1`+db.d.SkipLocked, c.Pool, micros(c.Now)).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("find owed hooks: %w", err)
		}
		if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET hooks_due = $2 WHERE id = $1`, id, micros(c.Now.Add(c.Lease))); err != nil {
			return fmt.Errorf("claim hooks of run %s: %w", id, err)
		}
		run, err = db.getRun(ctx, tx, id, "")
		ok = err == nil
		return err
	})
	if err != nil {
		return store.FlowRun{}, false, fmt.Errorf("claim owed hooks of pool %q for worker %q: %w", c.Pool, c.Worker, err)
	}
	return run, ok, nil
}

// HooksRun implements store.Runs.
func (db *DB) HooksRun(ctx context.Context, id string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.execTx(ctx, tx, `UPDATE flow_runs SET hooks_due = 0 WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("record hooks of run %s as run: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("run", id)
		}
		return nil
	})
}
