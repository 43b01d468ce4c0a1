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
	err := tx.QueryRowContext(ctx, `SELECT worker, attempt FROM flow_runs WHERE id = $1`+db.d.LockRows, f.RunID).Scan(&worker, &attempt)
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
	if to.Type != flow.TypeCrashed || cur.Attempt > cur.Retries {
		return run, nil
	}
	retry := flow.AwaitingRetry(now.Add(cur.RetryDelay), msg)
	retry.Timestamp = now
	if run, err = db.moveRun(ctx, tx, run, retry, nil); err != nil {
		return run, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE flow_runs SET attempt = attempt + 1, worker = '', lease_expires = 0 WHERE id = $1`, cur.ID); err != nil {
		return run, fmt.Errorf("reschedule run %s: %w", cur.ID, err)
	}
	run.Attempt++
	run.Worker, run.LeaseExpires = "", time.Time{}
	return run, nil
}
