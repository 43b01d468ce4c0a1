package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// claimBatch is how many due runs one claim looks at, so that runs of
// deployments at their limit do not hide the others.
const claimBatch = 32

// active selects the runs that count against a deployment's or pool's
// concurrency limit: claimed and not final, including a run waiting in
// AwaitingRetry inside its execution (Scheduled, still leased).
// A run suspended at an approval gate (Paused, no lease) does not count.
const active = `(state_type IN ('PENDING', 'RUNNING', 'CANCELLING') OR (state_type IN ('SCHEDULED', 'PAUSED') AND lease_expires > 0))`

// ClaimRun implements store.Runs.
func (db *DB) ClaimRun(ctx context.Context, c store.Claim) (store.FlowRun, bool, error) {
	runs, err := db.ClaimRuns(ctx, c, 1)
	if err != nil || len(runs) == 0 {
		return store.FlowRun{}, false, err
	}
	return runs[0], true, nil
}

// ClaimRuns implements store.Runs: one transaction (one writer's turn on
// SQLite) gives up to max runs, where claiming them one by one made a
// worker with free slots take a write transaction per run, in series.
func (db *DB) ClaimRuns(ctx context.Context, c store.Claim, max int) ([]store.FlowRun, error) {
	switch {
	case max < 1:
		return nil, invalid("max", "must be positive")
	case c.Pool == "":
		return nil, invalid("pool", "empty")
	case c.Worker == "":
		return nil, invalid("worker", "empty")
	case c.Lease <= 0:
		return nil, invalid("lease", "must be positive")
	}
	if c.Now.IsZero() {
		c.Now = db.now()
	}
	// An idle poll (nothing due) reads, on the read pool, with the due
	// index (pool, state_type, scheduled_at), and opens no write
	// transaction: on SQLite that would take the single writer's lock.
	var pool, due bool
	if err := db.row(ctx, nil, `SELECT EXISTS (SELECT 1 FROM pools WHERE name = $1),
		EXISTS (SELECT 1 FROM flow_runs WHERE pool = $2 AND state_type = 'SCHEDULED' AND scheduled_at <= $3 AND lease_expires = 0)`,
		c.Pool, c.Pool, micros(c.Now)).Scan(&pool, &due); err != nil {
		return nil, fmt.Errorf("claim a run of pool %q for worker %q: look for due runs: %w", c.Pool, c.Worker, err)
	}
	if !pool {
		return nil, fmt.Errorf("claim a run of pool %q for worker %q: %w", c.Pool, c.Worker, notFound("pool", c.Pool))
	}
	if !due {
		return nil, nil
	}
	var claimed []store.FlowRun
	err := db.tx(ctx, func(tx *sql.Tx) error {
		claimed = claimed[:0]
		var paused, limit int
		err := db.row(ctx, tx, `SELECT paused, concurrency_limit FROM pools WHERE name = $1`, c.Pool).Scan(&paused, &limit)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("pool", c.Pool)
		}
		if err != nil {
			return fmt.Errorf("read pool %q: %w", c.Pool, err)
		}
		if paused != 0 {
			return nil
		}
		if limit > 0 {
			// Lock the pool so that concurrent claims count one after the other.
			if db.d.LockRows != "" {
				if _, err := db.execTx(ctx, tx, `SELECT 1 FROM pools WHERE name = $1`+db.d.LockRows, c.Pool); err != nil {
					return fmt.Errorf("lock pool %q: %w", c.Pool, err)
				}
			}
			var n int
			if err := db.row(ctx, tx, `SELECT COUNT(*) FROM flow_runs WHERE pool = $1 AND `+active, c.Pool).Scan(&n); err != nil {
				return fmt.Errorf("count active runs of pool %q: %w", c.Pool, err)
			}
			if n >= limit {
				return nil
			}
			max = min(max, limit-n)
		}
		w := where{}
		w.add("r.pool = ?", c.Pool)
		w.add("r.state_type = 'SCHEDULED'")
		w.add("r.scheduled_at <= ?", micros(c.Now))
		// A run whose execution retries it in place (the engine's own
		// AwaitingRetry) is still held: its worker keeps the lease. It is
		// free again only once the reaper crashed it (the lease cleared).
		w.add("r.lease_expires = 0")
		w.add("COALESCE(q.paused, 0) = 0")
		w.add("COALESCE(d.paused, 0) = 0")
		// A run planned under an older generation of its deployment waits
		// for the next plan, which replaces or keeps it (PlanSchedules).
		w.add("(r.schedule_slot IS NULL OR r.attempt > 1 OR r.plan_gen >= COALESCE(d.plan_gen, 0))")
		if len(c.Queues) > 0 {
			ph := make([]string, len(c.Queues))
			args := make([]any, len(c.Queues))
			for i, q := range c.Queues {
				ph[i], args[i] = "?", q
			}
			w.add("r.queue IN ("+strings.Join(ph, ", ")+")", args...)
		}
		// The candidates are read whole: no read of each after.
		rows, err := db.queryTx(ctx, tx, `SELECT `+runColsR+` FROM flow_runs r
			LEFT JOIN queues q ON q.pool = r.pool AND q.name = r.queue
			LEFT JOIN deployments d ON d.name = r.deployment`+w.String()+`
			ORDER BY COALESCE(q.priority, 0), r.scheduled_at, r.id LIMIT `+strconv.Itoa(claimBatch+max-1)+db.d.SkipLocked, w.args...)
		if err != nil {
			return fmt.Errorf("find due runs: %w", err)
		}
		var cands []store.FlowRun
		for rows.Next() {
			r, err := scanRun(rows)
			if err != nil {
				rows.Close()
				return fmt.Errorf("find due runs: %w", err)
			}
			cands = append(cands, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find due runs: %w", err)
		}
		for _, cur := range cands {
			if len(claimed) == max {
				return nil
			}
			if cur.Deployment != "" {
				d, err := db.deploymentLocked(ctx, tx, cur.Deployment, db.d.LockRows)
				if errors.Is(err, store.ErrNotFound) {
					d, err = store.Deployment{}, nil // deleted deployment: its runs still run
				}
				if err != nil {
					return err
				}
				// Checked again here: the window may have closed, or a
				// freeze begun, since the run was created. Only
				// deployments with a calendar pay for it.
				if d.Calendar != nil && windowGated(cur) {
					hold, err := db.windowHold(ctx, tx, d, c.Now)
					if err != nil {
						return err
					}
					if hold != nil {
						if _, err := db.moveRun(ctx, tx, cur, *hold, nil); err != nil {
							return err
						}
						continue
					}
				}
				full, err := db.atLimit(ctx, tx, d)
				if err != nil {
					return err
				}
				if full == store.CollisionEnqueue {
					continue
				}
				if full == store.CollisionCancelNew {
					if _, err := db.moveRun(ctx, tx, cur, flow.Cancelled("deployment "+strconv.Quote(cur.Deployment)+" is at its concurrency limit"), nil); err != nil {
						return err
					}
					continue
				}
			}
			p := flow.Pending()
			if cur.State.Name == flow.NameResuming {
				// Tells the launcher to reuse completed tasks (store.Resumed).
				p.Message = store.ResumedMessage
			}
			run, err := db.moveRunLeased(ctx, tx, cur, p, nil, &leaseTo{worker: c.Worker, until: c.Now.Add(c.Lease)})
			if err != nil {
				return err
			}
			claimed = append(claimed, run)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim a run of pool %q for worker %q: %w", c.Pool, c.Worker, err)
	}
	return claimed, nil
}

// atLimit returns deployment d's collision strategy when it is at its
// concurrency limit, "" when a run may start. The caller read d locked, so
// that concurrent claims count one after the other.
func (db *DB) atLimit(ctx context.Context, tx *sql.Tx, d store.Deployment) (store.Collision, error) {
	if d.Name == "" {
		return "", nil // deleted deployment
	}
	name := d.Name
	if d.ConcurrencyLimit <= 0 {
		return "", nil
	}
	var n int
	if err := db.row(ctx, tx, `SELECT COUNT(*) FROM flow_runs WHERE deployment = $1 AND `+active, name).Scan(&n); err != nil {
		return "", fmt.Errorf("count active runs of deployment %q: %w", name, err)
	}
	if n < d.ConcurrencyLimit {
		return "", nil
	}
	if d.Collision == store.CollisionCancelNew {
		return store.CollisionCancelNew, nil
	}
	return store.CollisionEnqueue, nil
}

// RenewLease implements store.Runs.
func (db *DB) RenewLease(ctx context.Context, runID, worker string, until time.Time) (flow.State, error) {
	var st flow.State
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := db.getRun(ctx, tx, runID, db.d.LockRows)
		if err != nil {
			return err
		}
		st = cur.State
		// An execution whose run was reaped and claimed again by the same
		// worker holds a stale fence: its lease is lost, so that the worker
		// stops it rather than running the flow twice.
		f, fenced := store.FenceFrom(ctx)
		stale := fenced && f.RunID == runID && f.Attempt != cur.Attempt
		if stale || cur.Worker != worker || cur.LeaseExpires.IsZero() || cur.State.Final() {
			return &store.LeaseLostError{RunID: runID, Worker: worker, Holder: cur.Worker, State: cur.State.Name}
		}
		if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET lease_expires = $2 WHERE id = $1`, runID, micros(until)); err != nil {
			return fmt.Errorf("renew lease of run %s: %w", runID, err)
		}
		return nil
	})
	return st, err
}

// ReapExpiredLeases implements store.Runs.
func (db *DB) ReapExpiredLeases(ctx context.Context, now time.Time) ([]store.Reaped, error) {
	var out []store.Reaped
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = out[:0]
		rows, err := db.queryTx(ctx, tx, `SELECT r.id FROM flow_runs r WHERE r.lease_expires > 0 AND r.lease_expires < $1 ORDER BY r.lease_expires LIMIT 1000`+db.d.SkipLocked, micros(now))
		if err != nil {
			return fmt.Errorf("find expired leases: %w", err)
		}
		var ids []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("find expired leases: %w", err)
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find expired leases: %w", err)
		}
		for _, id := range ids {
			cur, err := db.getRun(ctx, tx, id, "")
			if err != nil {
				return err
			}
			run, err := db.crash(ctx, tx, cur, fmt.Sprintf("worker %q lost its lease", cur.Worker), now)
			if err != nil {
				return err
			}
			if run.Worker != "" {
				// Final without a retry: release the worker too, so that
				// the lost execution, should it still live, is fenced off
				// (its fence names the worker) and writes nothing more.
				if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET worker = '' WHERE id = $1`, id); err != nil {
					return fmt.Errorf("release run %s: %w", id, err)
				}
			}
			out = append(out, store.Reaped{RunID: id, Worker: cur.Worker, State: run.State, Attempt: run.Attempt})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reap expired leases: %w", err)
	}
	return out, nil
}
