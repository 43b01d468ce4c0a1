package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"
)

// pruneBatch is how many flow runs one PruneRuns transaction deletes.
const pruneBatch = 200

// finalTypes are the state types that end a run.
const finalTypes = `('COMPLETED', 'FAILED', 'CANCELLED', 'CRASHED')`

// PruneRuns implements store.Runs.
func (db *DB) PruneRuns(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		n := 0
		err := db.tx(ctx, func(tx *sql.Tx) error {
			rows, err := db.queryTx(ctx, tx, `SELECT id FROM flow_runs WHERE state_type IN `+finalTypes+` AND updated < $1 LIMIT `+fmt.Sprint(pruneBatch), micros(before))
			if err != nil {
				return fmt.Errorf("find finished runs: %w", err)
			}
			var ids []any
			for rows.Next() {
				var id string
				if err := rows.Scan(&id); err != nil {
					rows.Close()
					return fmt.Errorf("find finished runs: %w", err)
				}
				ids = append(ids, id)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return fmt.Errorf("find finished runs: %w", err)
			}
			if len(ids) == 0 {
				return nil
			}
			in := strings.TrimSuffix(strings.TrimPrefix(placeholders(1, len(ids)), "("), ")")
			for _, q := range []string{
				`DELETE FROM flow_run_states WHERE run_id IN (` + in + `)`,
				`DELETE FROM task_runs WHERE flow_run_id IN (` + in + `)`,
				`DELETE FROM results WHERE flow_run_id IN (` + in + `)`,
				`DELETE FROM logs WHERE flow_run_id IN (` + in + `)`,
				`DELETE FROM run_inputs WHERE run_id IN (` + in + `)`, // approval gates
				`DELETE FROM flow_runs WHERE id IN (` + in + `)`,
			} {
				if _, err := db.execTx(ctx, tx, q, ids...); err != nil {
					return fmt.Errorf("prune runs: %w", err)
				}
			}
			n = len(ids)
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
		if n < pruneBatch {
			break
		}
	}
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.execTx(ctx, tx, `DELETE FROM cache WHERE expires > 0 AND expires < $1`, micros(before)); err != nil {
			return fmt.Errorf("prune cache: %w", err)
		}
		return nil
	})
	return total, err
}

// Ping implements store.Store.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.row(ctx, nil, `SELECT 1`).Scan(&one); err != nil {
		return fmt.Errorf("ping %s store: %w", db.d.Name, err)
	}
	return nil
}
