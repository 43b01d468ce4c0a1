package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

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
	rows, err := db.queryTx(ctx, nil, `SELECT id, run_id, flow_run_id, time, level, message, COALESCE(attrs, '')
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
	rows, err := db.queryTx(ctx, nil, `SELECT id, flow_run_id, parent_id, name, run_name, version, task_key, tags, history, created, updated
		FROM task_runs WHERE flow_run_id = $1 ORDER BY created, id`, flowRunID)
	if err != nil {
		return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
	}
	defer rows.Close()
	var out []store.TaskRun
	for rows.Next() {
		var (
			t                store.TaskRun
			tags, hist       string
			created, updated int64
		)
		if err := rows.Scan(&t.ID, &t.FlowRunID, &t.ParentID, &t.Name, &t.RunName, &t.Version, &t.TaskKey, &tags, &hist, &created, &updated); err != nil {
			return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
		}
		t.Kind = flow.KindTask
		if err := errors.Join(json.Unmarshal([]byte(tags), &t.Tags), json.Unmarshal([]byte(hist), &t.History)); err != nil {
			return nil, fmt.Errorf("task run %s: decode: %w", t.ID, err)
		}
		if len(t.History) > 0 {
			t.State = t.History[len(t.History)-1]
		}
		t.Created, t.Updated = fromMicros(created), fromMicros(updated)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read task runs of run %s: %w", flowRunID, err)
	}
	return out, nil
}
