package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// opError reports whether err concerns one op only (an illegal move, an
// unknown run, bad input), so that the rest of the batch may commit.
func opError(err error) bool {
	var te *flow.TransitionError
	var ie *store.InvalidError
	return errors.As(err, &te) || errors.As(err, &ie) || errors.Is(err, store.ErrNotFound)
}

// taskRow is a task run created in the batch being recorded, written once
// at the end with every state it reached in the batch.
type taskRow struct {
	rec     *flow.RunRecord
	state   flow.State
	history []flow.State
	ops     []int // indexes of the state ops folded in, for errors
}

type batch struct {
	db      *DB
	tx      *sql.Tx
	errs    []error
	pending map[string]*taskRow
	order   []*taskRow
}

// Record implements store.Runs. Task runs created in the batch are
// written with one multi-row insert holding their final state and
// history; everything else goes through the same checked transitions as
// the other methods.
func (db *DB) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	var errs []error
	err := db.tx(ctx, func(tx *sql.Tx) error {
		b := &batch{db: db, tx: tx, errs: make([]error, len(ops)), pending: make(map[string]*taskRow)}
		for i := range ops {
			if err := b.apply(ctx, i, &ops[i]); err != nil {
				if !opError(err) {
					return err
				}
				b.errs[i] = err
			}
		}
		if err := b.writeTasks(ctx); err != nil {
			return err
		}
		if err := db.insertLogs(ctx, tx, logs); err != nil {
			return err
		}
		errs = b.errs
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record %d run events and %d log records: %w", len(ops), len(logs), err)
	}
	return errs, nil
}

func (b *batch) apply(ctx context.Context, i int, op *store.Op) error {
	if rec := op.Create; rec != nil {
		if rec.ID == "" {
			return invalid("id", "empty")
		}
		switch rec.Kind {
		case flow.KindTask:
			if _, dup := b.pending[rec.ID]; dup {
				return invalid("id", "task run "+rec.ID+" created twice in one batch")
			}
			t := &taskRow{rec: rec}
			b.pending[rec.ID] = t
			b.order = append(b.order, t)
			return nil
		case flow.KindFlow:
			return b.db.upsertFlowRun(ctx, b.tx, rec)
		default:
			return invalid("kind", fmt.Sprintf("%q", rec.Kind))
		}
	}
	s := op.State
	if s.Timestamp.IsZero() {
		s.Timestamp = b.db.now()
	}
	if t := b.pending[op.RunID]; t != nil {
		if err := flow.CheckTransition(t.state, s); err != nil {
			return fmt.Errorf("task run %s: %w", op.RunID, err)
		}
		t.state = s
		t.history = append(t.history, s)
		t.ops = append(t.ops, i)
		if op.Result != nil {
			return b.db.putResult(ctx, b.tx, op.Result)
		}
		return nil
	}
	done, err := b.db.setTaskState(ctx, b.tx, op.RunID, s, op.Result)
	if done || err != nil {
		return err
	}
	_, err = b.db.setRunState(ctx, b.tx, op.RunID, s, op.Result)
	return err
}

// setTaskState moves a stored task run to s. found is false when no task
// run has the ID.
func (db *DB) setTaskState(ctx context.Context, tx *sql.Tx, id string, s flow.State, res *flow.Result) (found bool, err error) {
	var stateJSON, histJSON string
	err = tx.QueryRowContext(ctx, `SELECT state, history FROM task_runs WHERE id = $1`+db.d.LockRows, id).Scan(&stateJSON, &histJSON)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("read task run %s: %w", id, err)
	}
	var cur flow.State
	var hist []flow.State
	if err := json.Unmarshal([]byte(stateJSON), &cur); err != nil {
		return true, fmt.Errorf("task run %s: decode state: %w", id, err)
	}
	if err := json.Unmarshal([]byte(histJSON), &hist); err != nil {
		return true, fmt.Errorf("task run %s: decode history: %w", id, err)
	}
	if err := flow.CheckTransition(cur, s); err != nil {
		return true, fmt.Errorf("task run %s: %w", id, err)
	}
	hist = append(hist, s)
	if _, err := tx.ExecContext(ctx, `UPDATE task_runs SET state = $2, history = $3, updated = $4 WHERE id = $1`,
		id, mustJSON(s), mustJSON(hist), micros(db.now())); err != nil {
		return true, fmt.Errorf("update task run %s: %w", id, err)
	}
	if res != nil {
		return true, db.putResult(ctx, tx, res)
	}
	return true, nil
}

func (db *DB) upsertFlowRun(ctx context.Context, tx *sql.Tx, rec *flow.RunRecord) error {
	params, err := jsonText("parameters", rec.Parameters)
	if err != nil {
		return err
	}
	created := rec.Created
	if created.IsZero() {
		created = db.now()
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO flow_runs (id, flow, flow_version, name, parameters, tags, parent_id, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (id) DO UPDATE SET
			flow = excluded.flow,
			flow_version = excluded.flow_version,
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE flow_runs.name END,
			parameters = excluded.parameters,
			tags = excluded.tags,
			parent_id = CASE WHEN excluded.parent_id <> '' THEN excluded.parent_id ELSE flow_runs.parent_id END,
			updated = excluded.updated`,
		rec.ID, rec.Name, rec.Version, rec.RunName, params, tagsJSON(rec.Tags), rec.ParentID, micros(created), micros(db.now()))
	if err != nil {
		return fmt.Errorf("record flow run %s: %w", rec.ID, err)
	}
	return nil
}

// taskChunk is how many task runs one INSERT writes (12 parameters each).
const taskChunk = 64

func (b *batch) writeTasks(ctx context.Context) error {
	now := micros(b.db.now())
	for start := 0; start < len(b.order); start += taskChunk {
		rows := b.order[start:min(start+taskChunk, len(b.order))]
		args := make([]any, 0, len(rows)*12)
		for _, t := range rows {
			r := t.rec
			created := micros(r.Created)
			if created == 0 {
				created = now
			}
			hist := t.history
			if hist == nil {
				hist = []flow.State{}
			}
			args = append(args, r.ID, r.FlowRunID, r.ParentID, r.Name, r.RunName, r.Version, r.TaskKey,
				tagsJSON(r.Tags), mustJSON(t.state), mustJSON(hist), created, now)
		}
		q := `INSERT INTO task_runs (id, flow_run_id, parent_id, name, run_name, version, task_key, tags, state, history, created, updated)
			VALUES ` + placeholders(len(rows), 12) + ` ON CONFLICT (id) DO NOTHING RETURNING id`
		res, err := b.tx.QueryContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("record task runs: %w", err)
		}
		inserted := make(map[string]bool, len(rows))
		for res.Next() {
			var id string
			if err := res.Scan(&id); err != nil {
				res.Close()
				return fmt.Errorf("record task runs: %w", err)
			}
			inserted[id] = true
		}
		res.Close()
		if err := res.Err(); err != nil {
			return fmt.Errorf("record task runs: %w", err)
		}
		for _, t := range rows {
			if !inserted[t.rec.ID] {
				if err := b.updateExisting(ctx, t); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// updateExisting records a task run whose ID was already stored (created
// again, as the Recorder contract allows): its record is updated and the
// states of the batch applied one by one from the stored state.
func (b *batch) updateExisting(ctx context.Context, t *taskRow) error {
	r := t.rec
	if _, err := b.tx.ExecContext(ctx, `UPDATE task_runs SET name = $2, run_name = $3, version = $4, task_key = $5, tags = $6 WHERE id = $1`,
		r.ID, r.Name, r.RunName, r.Version, r.TaskKey, tagsJSON(r.Tags)); err != nil {
		return fmt.Errorf("update task run %s: %w", r.ID, err)
	}
	for k, s := range t.history {
		if _, err := b.db.setTaskState(ctx, b.tx, r.ID, s, nil); err != nil {
			if !opError(err) {
				return err
			}
			b.errs[t.ops[k]] = err
		}
	}
	return nil
}

// logChunk is how many log records one INSERT writes (6 parameters each).
const logChunk = 100

func (db *DB) insertLogs(ctx context.Context, tx *sql.Tx, logs []flow.LogRecord) error {
	if len(logs) == 0 {
		return nil
	}
	if db.d.SerializeLogs != "" {
		if _, err := tx.ExecContext(ctx, db.d.SerializeLogs); err != nil {
			return fmt.Errorf("lock log sequence: %w", err)
		}
	}
	for start := 0; start < len(logs); start += logChunk {
		rows := logs[start:min(start+logChunk, len(logs))]
		args := make([]any, 0, len(rows)*7)
		for _, l := range rows {
			var attrs any
			if len(l.Attrs) > 0 {
				attrs = string(l.Attrs)
			}
			flowRun := l.FlowRunID
			if flowRun == "" {
				flowRun = l.RunID
			}
			args = append(args, l.RunID, flowRun, micros(l.Time), int64(l.Level), l.Message, attrs)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO logs (run_id, flow_run_id, time, level, message, attrs) VALUES `+placeholders(len(rows), 6), args...); err != nil {
			return fmt.Errorf("store log records: %w", err)
		}
	}
	return nil
}

// AppendLogs implements store.Runs.
func (db *DB) AppendLogs(ctx context.Context, recs []flow.LogRecord) error {
	_, err := db.Record(ctx, nil, recs)
	return err
}

// Logs implements store.Runs.
func (db *DB) Logs(ctx context.Context, q store.LogQuery) ([]store.LogEntry, int64, error) {
	if q.FlowRunID == "" {
		return nil, q.After, invalid("flow_run_id", "empty")
	}
	w := where{}
	w.add("flow_run_id = ?", q.FlowRunID)
	if q.RunID != "" {
		w.add("run_id = ?", q.RunID)
	}
	w.add("id > ?", q.After)
	limit := pageSize(q.Limit, 1000, 10000)
	rows, err := db.r.QueryContext(ctx, `SELECT id, run_id, flow_run_id, time, level, message, COALESCE(attrs, '')
		FROM logs`+w.String()+` ORDER BY id LIMIT `+fmt.Sprint(limit), w.args...)
	if err != nil {
		return nil, q.After, fmt.Errorf("read logs of run %s: %w", q.FlowRunID, err)
	}
	defer rows.Close()
	next := q.After
	var out []store.LogEntry
	for rows.Next() {
		var (
			e     store.LogEntry
			t, lv int64
			attrs string
		)
		if err := rows.Scan(&e.ID, &e.RunID, &e.FlowRunID, &t, &lv, &e.Message, &attrs); err != nil {
			return nil, q.After, fmt.Errorf("read logs of run %s: %w", q.FlowRunID, err)
		}
		e.Time = fromMicros(t)
		e.Level = slog.Level(lv)
		if attrs != "" {
			e.Attrs = json.RawMessage(attrs)
		}
		out = append(out, e)
		next = e.ID
	}
	if err := rows.Err(); err != nil {
		return nil, q.After, fmt.Errorf("read logs of run %s: %w", q.FlowRunID, err)
	}
	return out, next, nil
}

// TaskRuns implements store.Runs.
func (db *DB) TaskRuns(ctx context.Context, flowRunID string) ([]store.TaskRun, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT id, flow_run_id, parent_id, name, run_name, version, task_key, tags, state, history, created, updated
		FROM task_runs WHERE flow_run_id = $1 ORDER BY created, id`, flowRunID)
	if err != nil {
		return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
	}
	defer rows.Close()
	var out []store.TaskRun
	for rows.Next() {
		var (
			t                 store.TaskRun
			tags, state, hist string
			created, updated  int64
		)
		if err := rows.Scan(&t.ID, &t.FlowRunID, &t.ParentID, &t.Name, &t.RunName, &t.Version, &t.TaskKey, &tags, &state, &hist, &created, &updated); err != nil {
			return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
		}
		t.Kind = flow.KindTask
		if err := errors.Join(json.Unmarshal([]byte(tags), &t.Tags), json.Unmarshal([]byte(state), &t.State), json.Unmarshal([]byte(hist), &t.History)); err != nil {
			return nil, fmt.Errorf("task run %s: decode: %w", t.ID, err)
		}
		t.Created, t.Updated = fromMicros(created), fromMicros(updated)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
	}
	return out, nil
}
