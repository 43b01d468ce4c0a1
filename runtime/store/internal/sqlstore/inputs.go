package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Approval gates (store.Inputs): the run_inputs table of migration 5.

const inputCols = `i.run_id, i.input_key, i.prompt, i.input_schema, i.answerers, i.on_timeout, i.deadline, i.created,
	i.answered, i.answered_by, i.approved, i.timed_out, i.answer, i.reason`

type inputRow struct {
	info                         store.InputInfo
	prompt, schema, who, onTO    string
	deadline, created, answered  int64
	by, answer, reason           string
	approved, timedOut           int
	origin, stateJSON, stateType string
}

func (r *inputRow) dest() []any {
	return []any{&r.info.RunID, &r.info.Key, &r.prompt, &r.schema, &r.who, &r.onTO, &r.deadline, &r.created,
		&r.answered, &r.by, &r.approved, &r.timedOut, &r.answer, &r.reason}
}

func (r *inputRow) decode() (store.InputInfo, error) {
	in := r.info
	if err := json.Unmarshal([]byte(r.prompt), &in.Prompt); err != nil {
		return in, fmt.Errorf("decode prompt of run %s input %s: %w", in.RunID, in.Key, err)
	}
	if err := json.Unmarshal([]byte(r.who), &in.Answerers); err != nil {
		return in, fmt.Errorf("decode answerers of run %s input %s: %w", in.RunID, in.Key, err)
	}
	in.Schema = json.RawMessage(r.schema)
	in.OnTimeout = flow.OnTimeout(r.onTO)
	if r.deadline != 0 {
		in.Deadline = fromMicros(r.deadline)
	}
	in.Created = fromMicros(r.created)
	if r.answered != 0 {
		a := &flow.Answer{Approved: r.approved != 0, TimedOut: r.timedOut != 0, By: r.by, Reason: r.reason, At: fromMicros(r.answered)}
		if r.answer != "" {
			a.Input = json.RawMessage(r.answer)
		}
		in.Answer = a
	}
	if r.stateJSON != "" {
		if err := json.Unmarshal([]byte(r.stateJSON), &in.State); err != nil {
			return in, fmt.Errorf("decode state of run %s: %w", in.RunID, err)
		}
	}
	if r.origin != "" && r.origin != "null" {
		var o store.Origin
		if err := json.Unmarshal([]byte(r.origin), &o); err == nil {
			in.Creator = o.APIKey
		}
	}
	return in, nil
}

// inputWithRun selects a request joined with its run.
const inputWithRun = `SELECT ` + inputCols + `, r.flow, r.deployment, r.name, r.origin, r.state, r.state_type
	FROM run_inputs i JOIN flow_runs r ON r.id = i.run_id`

func scanInput(row interface{ Scan(...any) error }) (store.InputInfo, error) {
	var r inputRow
	dest := append(r.dest(), &r.info.Flow, &r.info.Deployment, &r.info.RunName, &r.origin, &r.stateJSON, &r.stateType)
	if err := row.Scan(dest...); err != nil {
		return store.InputInfo{}, err
	}
	return r.decode()
}

func (db *DB) getInput(ctx context.Context, tx *sql.Tx, runID, key string) (store.InputInfo, error) {
	var (
		in  store.InputInfo
		err error
	)
	if key == "" {
		// The oldest waiting request, else the latest one.
		in, err = scanInput(db.row(ctx, tx, inputWithRun+` WHERE i.run_id = $1 AND i.answered = 0 ORDER BY i.created, i.input_key LIMIT 1`, runID))
		if errors.Is(err, sql.ErrNoRows) {
			in, err = scanInput(db.row(ctx, tx, inputWithRun+` WHERE i.run_id = $1 ORDER BY i.created DESC, i.input_key DESC LIMIT 1`, runID))
		}
	} else {
		in, err = scanInput(db.row(ctx, tx, inputWithRun+` WHERE i.run_id = $1 AND i.input_key = $2`, runID, key))
	}
	if errors.Is(err, sql.ErrNoRows) {
		name := runID
		if key != "" {
			name += " " + key
		}
		return in, notFound("input request", name)
	}
	if err != nil {
		return in, fmt.Errorf("read input request of run %s: %w", runID, err)
	}
	return in, nil
}

// RequestInput implements store.Inputs.
func (db *DB) RequestInput(ctx context.Context, req flow.InputRequest) (flow.InputRequest, *flow.Answer, error) {
	switch {
	case req.RunID == "":
		return req, nil, invalid("run_id", "empty")
	case req.Key == "":
		return req, nil, invalid("key", "empty")
	case req.OnTimeout != flow.TimeoutFail && req.OnTimeout != flow.TimeoutCancel:
		return req, nil, invalid("on_timeout", fmt.Sprintf("%q: want fail or cancel", req.OnTimeout))
	}
	schema, err := jsonText("schema", req.Schema)
	if err != nil {
		return req, nil, err
	}
	var (
		out flow.InputRequest
		ans *flow.Answer
	)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.ctxFence(ctx, tx); err != nil {
			return err
		}
		if _, err := db.getRun(ctx, tx, req.RunID, ""); err != nil {
			return err
		}
		in, err := db.getInput(ctx, tx, req.RunID, req.Key)
		if err == nil {
			out, ans = in.InputRequest, in.Answer
			return nil
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		deadline := int64(0)
		if !req.Deadline.IsZero() {
			deadline = micros(req.Deadline)
		}
		created := req.Created
		if created.IsZero() {
			created = db.now()
		}
		if _, err := db.execTx(ctx, tx, `INSERT INTO run_inputs (run_id, input_key, prompt, input_schema, answerers, on_timeout, deadline, created)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, req.RunID, req.Key, mustJSON(req.Prompt), schema, mustJSON(req.Answerers),
			string(req.OnTimeout), deadline, micros(created)); err != nil {
			return fmt.Errorf("insert input request: %w", err)
		}
		out = req
		out.Created = created
		return nil
	})
	if err != nil {
		return req, nil, fmt.Errorf("request input %s of run %s: %w", req.Key, req.RunID, err)
	}
	return out, ans, nil
}

// GetInput implements store.Inputs.
func (db *DB) GetInput(ctx context.Context, runID, key string) (store.InputInfo, error) {
	return db.getInput(ctx, nil, runID, key)
}

// ListInputs implements store.Inputs.
func (db *DB) ListInputs(ctx context.Context, f store.InputFilter) ([]store.InputInfo, error) {
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	q := inputWithRun + ` WHERE i.answered = 0`
	args := []any{}
	if f.Deployment != "" {
		q += ` AND r.deployment = $1`
		args = append(args, f.Deployment)
	}
	q += fmt.Sprintf(` ORDER BY i.created, i.run_id, i.input_key LIMIT %d`, limit)
	rows, err := db.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list input requests: %w", err)
	}
	defer rows.Close()
	var out []store.InputInfo
	for rows.Next() {
		in, err := scanInput(rows)
		if err != nil {
			return nil, fmt.Errorf("list input requests: %w", err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list input requests: %w", err)
	}
	return out, nil
}

// InputAnswer implements store.Inputs.
func (db *DB) InputAnswer(ctx context.Context, runID, key string) (*flow.Answer, error) {
	in, err := db.getInput(ctx, nil, runID, key)
	if err != nil {
		return nil, err
	}
	return in.Answer, nil
}

// answer records a on the request, read in tx; ErrAnswered when it has
// one.
func (db *DB) answer(ctx context.Context, tx *sql.Tx, in store.InputInfo, a flow.Answer) error {
	if a.At.IsZero() {
		a.At = db.now()
	}
	text := ""
	if len(a.Input) > 0 {
		t, err := jsonText("input", a.Input)
		if err != nil {
			return err
		}
		text = t
	}
	res, err := db.execTx(ctx, tx, `UPDATE run_inputs SET answered = $3, answered_by = $4, approved = $5, timed_out = $6, answer = $7, reason = $8
		WHERE run_id = $1 AND input_key = $2 AND answered = 0`, in.RunID, in.Key, max(micros(a.At), 1), a.By, boolInt(a.Approved),
		boolInt(a.TimedOut), text, a.Reason)
	if err != nil {
		return fmt.Errorf("record answer: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return store.ErrAnswered
	}
	return nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// resume moves a suspended run (Paused, no lease) to Resuming with msg.
func (db *DB) resume(ctx context.Context, tx *sql.Tx, runID, msg string) (bool, error) {
	cur, err := db.getRun(ctx, tx, runID, db.d.LockRows)
	if err != nil {
		return false, err
	}
	if cur.State.Name != flow.NameAwaitingInput || !cur.LeaseExpires.IsZero() {
		return false, nil // held by an execution, which reads the answer
	}
	now := db.now()
	// Due at once: at the time the run was due in the first place.
	to := flow.State{Type: flow.TypeScheduled, Name: flow.NameResuming, Message: msg, ScheduledAt: cur.ScheduledAt, Timestamp: now}
	if _, err := db.moveRun(ctx, tx, cur, to, nil); err != nil {
		return false, err
	}
	return true, nil
}

func answerText(a flow.Answer) string {
	switch {
	case a.TimedOut:
		return "timed out"
	case a.Approved:
		return "approved by " + a.By
	default:
		return "rejected by " + a.By + ": " + a.Reason
	}
}

// AnswerInput implements store.Inputs.
func (db *DB) AnswerInput(ctx context.Context, runID, key string, a flow.Answer) (store.InputInfo, error) {
	var out store.InputInfo
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.getRun(ctx, tx, runID, db.d.LockRows); err != nil {
			return err
		}
		in, err := db.getInput(ctx, tx, runID, key)
		if err != nil {
			return err
		}
		if in.Answer != nil {
			return store.ErrAnswered
		}
		if err := db.answer(ctx, tx, in, a); err != nil {
			return err
		}
		if _, err := db.resume(ctx, tx, runID, "input "+in.Key+" "+answerText(a)); err != nil {
			return err
		}
		out, err = db.getInput(ctx, tx, runID, in.Key)
		return err
	})
	if err != nil {
		return out, fmt.Errorf("answer input of run %s: %w", runID, err)
	}
	return out, nil
}

// ExpireInput implements store.Inputs.
func (db *DB) ExpireInput(ctx context.Context, runID, key string, now time.Time) (*flow.Answer, error) {
	var out *flow.Answer
	err := db.tx(ctx, func(tx *sql.Tx) error {
		in, err := db.getInput(ctx, tx, runID, key)
		if err != nil {
			return err
		}
		if in.Answer == nil {
			if err := db.answer(ctx, tx, in, flow.Answer{TimedOut: true, At: now}); err != nil {
				return err
			}
			if in, err = db.getInput(ctx, tx, runID, key); err != nil {
				return err
			}
		}
		out = in.Answer
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("expire input %s of run %s: %w", key, runID, err)
	}
	return out, nil
}

// SuspendRun implements store.Inputs.
func (db *DB) SuspendRun(ctx context.Context, f store.Fence) (store.FlowRun, error) {
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
		if cur.State.Name != flow.NameAwaitingInput {
			run = cur
			return nil
		}
		if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET worker = '', lease_expires = 0 WHERE id = $1`, f.RunID); err != nil {
			return fmt.Errorf("release run %s: %w", f.RunID, err)
		}
		if _, err := db.execTx(ctx, tx, `DELETE FROM slots WHERE holder LIKE $1 ESCAPE '\'`, likeEscape(store.SlotHolderPrefix(f.RunID))+"%"); err != nil {
			return fmt.Errorf("free slots of run %s: %w", f.RunID, err)
		}
		// Answered while the execution gave up: resume at once.
		var answered int
		if err := db.row(ctx, tx, `SELECT COUNT(*) FROM run_inputs WHERE run_id = $1 AND answered = 0`, f.RunID).Scan(&answered); err != nil {
			return fmt.Errorf("read input requests of run %s: %w", f.RunID, err)
		}
		if answered == 0 {
			if _, err := db.resume(ctx, tx, f.RunID, "answered while suspending"); err != nil {
				return err
			}
		}
		run, err = db.getRun(ctx, tx, f.RunID, "")
		return err
	})
	if err != nil {
		return store.FlowRun{}, fmt.Errorf("suspend run %s: %w", f.RunID, err)
	}
	return run, nil
}

// ResumeDueInputs implements store.Inputs.
func (db *DB) ResumeDueInputs(ctx context.Context, now time.Time) ([]string, error) {
	var ids []string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		ids = ids[:0]
		rows, err := db.queryTx(ctx, tx, `SELECT i.run_id, i.input_key FROM run_inputs i JOIN flow_runs r ON r.id = i.run_id
			WHERE i.answered = 0 AND i.deadline > 0 AND i.deadline <= $1 AND r.state_type = 'PAUSED' AND r.lease_expires = 0
			ORDER BY i.deadline LIMIT 100`, micros(now))
		if err != nil {
			return fmt.Errorf("find passed deadlines: %w", err)
		}
		type due struct{ run, key string }
		var dues []due
		for rows.Next() {
			var d due
			if err := rows.Scan(&d.run, &d.key); err != nil {
				rows.Close()
				return fmt.Errorf("find passed deadlines: %w", err)
			}
			dues = append(dues, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find passed deadlines: %w", err)
		}
		for _, d := range dues {
			in, err := db.getInput(ctx, tx, d.run, d.key)
			if err != nil {
				return err
			}
			if err := db.answer(ctx, tx, in, flow.Answer{TimedOut: true, At: now}); err != nil {
				return err
			}
			ok, err := db.resume(ctx, tx, d.run, "input "+d.key+" timed out")
			if err != nil {
				return err
			}
			if ok {
				ids = append(ids, d.run)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("resume runs past their input deadline: %w", err)
	}
	return ids, nil
}

var _ store.Inputs = (*DB)(nil)
