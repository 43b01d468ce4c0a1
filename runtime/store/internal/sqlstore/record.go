package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// opError reports whether err concerns one op only (an illegal move, an
// unknown run, bad input), so that the rest of the batch may commit.
func opError(err error) bool {
	var te *flow.TransitionError
	var ie *store.InvalidError
	return errors.As(err, &te) || errors.As(err, &ie) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrFenced)
}

// maxChunk is the most rows one statement of Record writes or reads.
const maxChunk = 64

// chunks cuts n rows into the sizes of the statements that write them.
// With prepared statements (SQLite) the sizes are powers of two, largest
// first, so that a few statement texts serve every batch; otherwise
// (pgx caches statements itself, and each statement is a round trip)
// as few statements as possible.
func (db *DB) chunks(n int) []int {
	var out []int
	for n > 0 {
		k := min(n, maxChunk)
		if db.d.Prepare {
			k = maxChunk
			for k > n {
				k /= 2
			}
		}
		out = append(out, k)
		n -= k
	}
	return out
}

const taskCols = `id, flow_run_id, parent_id, name, run_name, version, task_key, tags, history, result, created, updated`

func insertTasksSQL(n int) string {
	return `INSERT INTO task_runs (` + taskCols + `) VALUES ` + placeholders(n, 12) + ` ON CONFLICT (id) DO NOTHING RETURNING id`
}

// insertNewTasksSQL inserts n task runs that must not exist yet.
func insertNewTasksSQL(n int) string {
	return `INSERT INTO task_runs (` + taskCols + `) VALUES ` + placeholders(n, 12)
}

func selectTasksSQL(n int) string {
	return `SELECT id, flow_run_id, task_key, history FROM task_runs WHERE id IN (` + strings.TrimSuffix(strings.TrimPrefix(placeholders(1, n), "("), ")") + `)`
}

func insertResultsSQL(n int) string {
	return `INSERT INTO results (flow_run_id, task_key, value) VALUES ` + placeholders(n, 3) +
		` ON CONFLICT (flow_run_id, task_key) DO UPDATE SET value = excluded.value`
}

func insertLogsSQL(n int) string {
	return `INSERT INTO logs (run_id, flow_run_id, time, level, message, attrs) VALUES ` + placeholders(n, 6)
}

const updateTaskSQL = `UPDATE task_runs SET history = $1, result = COALESCE($2, result), updated = $3 WHERE id = $4`

// updateTasksSQL updates n task runs: VALUES rows are (id, history,
// result), named column1... in both databases.
func updateTasksSQL(n int) string {
	// Parameters start at $2; $1 is the update time.
	var b strings.Builder
	k := 2
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d)", k, k+1, k+2)
		k += 3
	}
	return `UPDATE task_runs SET history = v.column2, result = COALESCE(v.column3, task_runs.result), updated = $1
		FROM (VALUES ` + b.String() + `) AS v WHERE task_runs.id = v.column1`
}

// guardedUpdateTasksSQL is updateTasksSQL for a pipelined transaction:
// VALUES rows are (id, history, result, history as stored), and a task
// run whose stored history is no longer the one given fails the
// transaction (division by zero: PostgreSQL has no other way to raise an
// error from plain SQL), so that nothing is written on a stale reading.
func guardedUpdateTasksSQL(n int) string {
	var b strings.Builder
	k := 2
	for r := range n {
		if r > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d)", k, k+1, k+2, k+3)
		k += 4
	}
	return `WITH u AS (UPDATE task_runs SET history = v.column2, result = COALESCE(v.column3, task_runs.result), updated = $1
		FROM (VALUES ` + b.String() + `) AS v WHERE task_runs.id = v.column1 AND task_runs.history = v.column4 RETURNING 1)
		SELECT 1 / (CASE WHEN count(*) = ` + strconv.Itoa(n) + ` THEN 1 ELSE 0 END) FROM u`
}

// hotStatements are the statements Record runs for every batch. Their
// parameters appear once each, in order, so that they can be prepared
// with anonymous ? parameters (see positional).
func hotStatements() []string {
	out := []string{updateTaskSQL}
	for n := 1; n <= maxChunk; n *= 2 {
		out = append(out, insertTasksSQL(n), selectTasksSQL(n), insertResultsSQL(n), insertLogsSQL(n), updateTasksSQL(n))
	}
	return out
}

// taskRow is a task run touched by the batch being recorded: created in
// it, or read once from the store. Its states are applied in memory and
// written once at the end, with its result: a task run's own result (its
// flow run and task key) is kept in its row, which saves an insert into
// the results index at a random place for every task run.
type taskRow struct {
	rec              *flow.RunRecord // the record, for a run created in the batch
	stored           bool            // read from the store: updated, not inserted
	flowRun, taskKey string
	state            flow.State
	history          []flow.State
	result           any // JSON text, or nil
	dirty            bool
	createOp         int   // index of the op creating it, for a run created in the batch
	ops              []int // indexes of the state ops applied, for errors
	// storedText is the history as stored, for a run read (or known) from
	// the store: a pipelined update applies only where it still is.
	storedText string
	// text is the history as the batch writes it.
	text string
	// known is set for a run taken from knownTasks, not read.
	known bool
}

type resultKey struct{ flowRun, taskKey string }

type batch struct {
	db      *DB
	tx      *sql.Tx
	errs    []error
	tasks   map[string]*taskRow
	created []*taskRow
	results map[resultKey]string
	order   []resultKey
	fences  map[store.Fence]error // fences checked in the batch
	logs    []flow.LogRecord      // of log ops whose fence holds
	// piped is set when the batch's writes are queued in pipe, to be sent
	// in one round trip (recordPiped), rather than run in tx.
	piped bool
	pipe  []PipeStmt
}

// exec runs a write of the batch in its transaction, or queues it.
func (b *batch) exec(ctx context.Context, q string, args ...any) error {
	if b.piped {
		b.pipe = append(b.pipe, PipeStmt{SQL: q, Args: args})
		return nil
	}
	_, err := b.db.execTx(ctx, b.tx, q, args...)
	return err
}

// txKey is what the batch's changed runs are noted under (db.touch).
func (b *batch) txKey() any {
	if b.piped {
		return b
	}
	return b.tx
}

// Record implements store.Runs. Task runs are read with one query per
// chunk, moved through their states in memory (each move checked with
// flow.CheckTransition) and written with one statement per chunk; flow
// runs go through the same checked transitions as the other methods.
func (db *DB) Record(ctx context.Context, ops []store.Op, logs []flow.LogRecord) ([]error, error) {
	if db.d.Pipeline != nil {
		if errs, ok := db.recordPiped(ctx, ops, logs); ok {
			return errs, nil
		}
	}
	var errs []error
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.ctxFence(ctx, tx); err != nil {
			return err
		}
		b := &batch{db: db, tx: tx, errs: make([]error, len(ops)), tasks: make(map[string]*taskRow), results: make(map[resultKey]string)}
		if err := b.loadTasks(ctx, ops); err != nil {
			return err
		}
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
		if err := b.writeResults(ctx); err != nil {
			return err
		}
		if b.logs != nil {
			logs = append(b.logs, logs...)
		}
		if err := b.insertLogs(ctx, logs); err != nil {
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

// scanTask reads a row of selectTasksSQL with scan and keeps it.
func (b *batch) scanTask(scan func(dest ...any) error) error {
	var id, hist string
	t := &taskRow{stored: true}
	if err := scan(&id, &t.flowRun, &t.taskKey, &hist); err != nil {
		return fmt.Errorf("read task runs: %w", err)
	}
	t.storedText = hist
	if err := json.Unmarshal([]byte(hist), &t.history); err != nil {
		return fmt.Errorf("task run %s: decode history: %w", id, err)
	}
	if len(t.history) > 0 {
		t.state = t.history[len(t.history)-1]
	}
	b.tasks[id] = t
	return nil
}

// storedIDs returns the runs whose states ops set that ops do not
// create: the task runs among them are read from the store.
func storedIDs(ops []store.Op) []string {
	created := make(map[string]bool)
	var ids []string
	seen := make(map[string]bool)
	for _, op := range ops {
		switch {
		case op.Logs != nil:
		case op.Create != nil:
			created[op.Create.ID] = true
		case checkText("run_id", op.RunID) != nil:
			// Refused as its op's error in apply; a database would fail
			// the whole batch's read on it.
		case !created[op.RunID] && !seen[op.RunID]:
			seen[op.RunID] = true
			ids = append(ids, op.RunID)
		}
	}
	return ids
}

// loadTasks reads the stored task runs whose states the batch sets.
func (b *batch) loadTasks(ctx context.Context, ops []store.Op) error {
	ids := storedIDs(ops)
	for _, n := range b.db.chunks(len(ids)) {
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		ids = ids[n:]
		rows, err := b.db.queryTx(ctx, b.tx, selectTasksSQL(n), args...)
		if err != nil {
			return fmt.Errorf("read task runs: %w", err)
		}
		for rows.Next() {
			if err := b.scanTask(rows.Scan); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("read task runs: %w", err)
		}
	}
	return nil
}

func (b *batch) apply(ctx context.Context, i int, op *store.Op) error {
	if f := op.Fence; f != nil {
		err, ok := b.fences[*f]
		if !ok && b.piped {
			return errNotPiped // read in the first round trip
		}
		if !ok {
			err = b.db.checkFence(ctx, b.tx, *f)
			if err != nil && !opError(err) {
				return err
			}
			if b.fences == nil {
				b.fences = make(map[store.Fence]error)
			}
			b.fences[*f] = err
		}
		if err != nil {
			return err
		}
	}
	if op.Logs != nil {
		b.logs = append(b.logs, op.Logs...)
		return nil
	}
	if rec := op.Create; rec != nil {
		if rec.ID == "" {
			return invalid("id", "empty")
		}
		if err := storableRecord(rec); err != nil {
			return err
		}
		switch rec.Kind {
		case flow.KindTask:
			if t := b.tasks[rec.ID]; t != nil && t.rec != nil {
				return invalid("id", "task run "+rec.ID+" created twice in one batch")
			}
			t := &taskRow{rec: rec, flowRun: rec.FlowRunID, taskKey: rec.TaskKey, createOp: i}
			b.tasks[rec.ID] = t
			b.created = append(b.created, t)
			return nil
		case flow.KindFlow:
			if b.piped {
				return errNotPiped
			}
			return b.db.upsertFlowRun(ctx, b.tx, rec)
		default:
			return invalid("kind", fmt.Sprintf("%q", rec.Kind))
		}
	}
	if err := checkText("run_id", op.RunID); err != nil {
		return err
	}
	if r := op.Result; r != nil {
		if err := checkText("result.flow_run_id", r.FlowRunID, "result.task_key", r.TaskKey, "result.cache_key", r.CacheKey); err != nil {
			return err
		}
	}
	s := op.State
	if s.Timestamp.IsZero() {
		s.Timestamp = b.db.now()
	}
	t := b.tasks[op.RunID]
	if t == nil && b.piped {
		return errNotPiped // a flow run, or no run
	}
	if t == nil {
		_, err := b.db.setRunState(ctx, b.tx, op.RunID, s, op.Result)
		var te *flow.TransitionError
		if errors.As(err, &te) {
			if seen, herr := b.db.hadState(ctx, b.tx, op.RunID, s); herr != nil {
				return herr
			} else if seen {
				return nil // a replay of a batch committed before
			}
		}
		return err
	}
	if err := flow.CheckTransition(t.state, s); err != nil {
		if hasState(t.history, s) {
			return nil // a replay of a batch committed before
		}
		return fmt.Errorf("task run %s: %w", op.RunID, err)
	}
	t.state = s
	t.history = append(t.history, s)
	t.dirty = true
	t.ops = append(t.ops, i)
	if r := op.Result; r != nil {
		if r.CacheKey != "" {
			if b.piped {
				return errNotPiped
			}
			if err := b.db.putResult(ctx, b.tx, &flow.Result{CacheKey: r.CacheKey, CacheExpires: r.CacheExpires, Value: r.Value, Sensitive: r.Sensitive}); err != nil {
				return err
			}
		}
		if r.FlowRunID != "" {
			v, err := b.db.resultText("result", r.Value, r.Sensitive, resultWhere(r.FlowRunID, r.TaskKey))
			if err != nil {
				return err
			}
			if r.FlowRunID == t.flowRun && r.TaskKey == t.taskKey && r.TaskKey != "" {
				t.result = v
				return nil
			}
			k := resultKey{r.FlowRunID, r.TaskKey}
			if _, ok := b.results[k]; !ok {
				b.order = append(b.order, k)
			}
			b.results[k] = v
		}
	}
	return nil
}

func (b *batch) writeTasks(ctx context.Context) error {
	now := micros(b.db.now())
	var updated []any // id, history, result of each stored task run moved
	var guarded []any // the same and the history as stored, pipelined
	for id, t := range b.tasks {
		if t.stored && t.dirty && t.rec == nil {
			t.text = mustJSON(t.history)
			if b.piped {
				guarded = append(guarded, id, t.text, t.result, t.storedText)
			} else {
				updated = append(updated, id, t.text, t.result)
			}
		}
	}
	for _, n := range b.db.chunks(len(guarded) / 4) {
		args := append([]any{now}, guarded[:4*n]...)
		guarded = guarded[4*n:]
		b.pipe = append(b.pipe, PipeStmt{SQL: guardedUpdateTasksSQL(n), Args: args})
	}
	for _, n := range b.db.chunks(len(updated) / 3) {
		args := append([]any{now}, updated[:3*n]...)
		updated = updated[3*n:]
		if err := b.exec(ctx, updateTasksSQL(n), args...); err != nil {
			return fmt.Errorf("update task runs: %w", err)
		}
	}
	rows := b.created
	for _, n := range b.db.chunks(len(rows)) {
		chunk := rows[:n]
		rows = rows[n:]
		args := make([]any, 0, n*12)
		for _, t := range chunk {
			r := t.rec
			created := micros(r.Created)
			if created == 0 {
				created = now
			}
			hist := t.history
			if hist == nil {
				hist = []flow.State{}
			}
			t.text = mustJSON(hist)
			args = append(args, r.ID, r.FlowRunID, r.ParentID, r.Name, r.RunName, r.Version, r.TaskKey,
				tagsJSON(r.Tags), t.text, t.result, created, now)
		}
		if b.piped {
			// A task run created again (its ID stored already) fails the
			// insert, and so the pipelined transaction: Record then runs
			// the batch again the other way, which updates it.
			b.pipe = append(b.pipe, PipeStmt{SQL: insertNewTasksSQL(n), Args: args})
			continue
		}
		res, err := b.db.queryTx(ctx, b.tx, insertTasksSQL(n), args...)
		if err != nil {
			return fmt.Errorf("record task runs: %w", err)
		}
		inserted := make(map[string]bool, n)
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
		for _, t := range chunk {
			if !inserted[t.rec.ID] {
				if err := b.updateExisting(ctx, t); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// updateExisting records a task run created in the batch whose ID was
// already stored (created again, as the Recorder contract allows): its
// record is updated and the batch's states applied from the stored state.
func (b *batch) updateExisting(ctx context.Context, t *taskRow) error {
	r := t.rec
	var hist, flowRun string
	if err := b.db.row(ctx, b.tx, `SELECT history, flow_run_id FROM task_runs WHERE id = $1`, r.ID).Scan(&hist, &flowRun); err != nil {
		return fmt.Errorf("read task run %s: %w", r.ID, err)
	}
	if flowRun != r.FlowRunID {
		// Created again only by its own flow run: an ID of another flow
		// run's task run must not let this batch move that run.
		err := invalid("id", "task run "+r.ID+" exists under another flow run")
		b.errs[t.createOp] = err
		for _, i := range t.ops {
			b.errs[i] = err
		}
		return nil
	}
	if _, err := b.db.execTx(ctx, b.tx, `UPDATE task_runs SET name = $2, run_name = $3, version = $4, task_key = $5, tags = $6 WHERE id = $1`,
		r.ID, r.Name, r.RunName, r.Version, r.TaskKey, tagsJSON(r.Tags)); err != nil {
		return fmt.Errorf("update task run %s: %w", r.ID, err)
	}
	var cur flow.State
	var h []flow.State
	if err := json.Unmarshal([]byte(hist), &h); err != nil {
		return fmt.Errorf("task run %s: decode history: %w", r.ID, err)
	}
	if len(h) > 0 {
		cur = h[len(h)-1]
	}
	for k, s := range t.history {
		if err := flow.CheckTransition(cur, s); err != nil {
			if hasState(h, s) {
				continue // a replay of a batch committed before
			}
			b.errs[t.ops[k]] = fmt.Errorf("task run %s: %w", r.ID, err)
			if s.Type == flow.TypeCompleted {
				t.result = nil // the result came with this refused state
			}
			continue
		}
		cur = s
		h = append(h, s)
	}
	if _, err := b.db.execTx(ctx, b.tx, updateTaskSQL, mustJSON(h), t.result, micros(b.db.now()), r.ID); err != nil {
		return fmt.Errorf("update task run %s: %w", r.ID, err)
	}
	return nil
}

func (b *batch) writeResults(ctx context.Context) error {
	keys := b.order
	for _, n := range b.db.chunks(len(keys)) {
		args := make([]any, 0, n*3)
		for _, k := range keys[:n] {
			args = append(args, k.flowRun, k.taskKey, b.results[k])
		}
		keys = keys[n:]
		if err := b.exec(ctx, insertResultsSQL(n), args...); err != nil {
			return fmt.Errorf("store task results: %w", err)
		}
	}
	return nil
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
	// A run the engine records first (nothing created it before) was
	// started by a flow run (a subflow) or by a program calling a flow.
	origin := store.Origin{Kind: store.OriginFlow}
	if rec.ParentID != "" {
		origin.Kind = store.OriginSubflow
	}
	_, err = db.execTx(ctx, tx, `INSERT INTO flow_runs (id, flow, flow_version, name, parameters, tags, parent_id, origin_kind, origin, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO UPDATE SET
			flow = excluded.flow,
			flow_version = excluded.flow_version,
			name = CASE WHEN excluded.name <> '' THEN excluded.name ELSE flow_runs.name END,
			parameters = excluded.parameters,
			tags = excluded.tags,
			parent_id = CASE WHEN excluded.parent_id <> '' THEN excluded.parent_id ELSE flow_runs.parent_id END,
			updated = excluded.updated`,
		rec.ID, rec.Name, rec.Version, rec.RunName, params, tagsJSON(rec.Tags), rec.ParentID, string(origin.Kind), mustJSON(origin), micros(created), micros(db.now()))
	if err != nil {
		return fmt.Errorf("record flow run %s: %w", rec.ID, err)
	}
	return nil
}

// storableRecord refuses a record with text a database column cannot
// hold, as an error of its op rather than of the whole batch.
func storableRecord(rec *flow.RunRecord) error {
	return checkText("id", rec.ID, "flow_run_id", rec.FlowRunID, "parent_id", rec.ParentID, "name", rec.Name,
		"run_name", rec.RunName, "version", rec.Version, "task_key", rec.TaskKey)
}

// maxKeyBytes bounds the text of names, IDs and keys: PostgreSQL refuses
// an index entry over about 2,700 bytes, and such a value in one op of a
// batch would fail the whole batch.
const maxKeyBytes = 1024

// checkText checks pairs of field name and value: each value must be
// text both databases store (valid UTF-8 without NUL) and, except a
// description, no longer than maxKeyBytes.
func checkText(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		v := pairs[i+1]
		if cleanText(v) != v {
			return invalid(pairs[i], "not valid UTF-8 text (or holds a NUL character)")
		}
		if len(v) > maxKeyBytes && pairs[i] != "description" {
			return invalid(pairs[i], fmt.Sprintf("%d bytes long; at most %d", len(v), maxKeyBytes))
		}
	}
	return nil
}

// checkInt32 checks that n fits the INTEGER column of field on every
// database (PostgreSQL's is 32 bits).
func checkInt32(field string, n int) error {
	if n > math.MaxInt32 || n < math.MinInt32 {
		return invalid(field, fmt.Sprintf("%d is out of range (at most %d)", n, math.MaxInt32))
	}
	return nil
}

// cleanText makes s storable in a text column of either database: valid
// UTF-8 without NUL bytes (PostgreSQL refuses both, and one bad log line
// must not fail a whole batch).
func cleanText(s string) string {
	if utf8.ValidString(s) && !strings.Contains(s, "\x00") {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

func (b *batch) insertLogs(ctx context.Context, logs []flow.LogRecord) error {
	if len(logs) == 0 {
		return nil
	}
	db := b.db
	if db.d.SerializeLogs != "" {
		if err := b.exec(ctx, db.d.SerializeLogs); err != nil {
			return fmt.Errorf("lock log sequence: %w", err)
		}
	}
	for _, n := range db.chunks(len(logs)) {
		args := make([]any, 0, n*6)
		for _, l := range logs[:n] {
			var attrs any
			if len(l.Attrs) > 0 {
				attrs = cleanText(string(l.Attrs))
			}
			flowRun := l.FlowRunID
			if flowRun == "" {
				flowRun = l.RunID
			}
			args = append(args, cleanText(l.RunID), cleanText(flowRun), micros(l.Time), int64(l.Level), cleanText(l.Message), attrs)
			db.touch(b.txKey(), flowRun)
		}
		logs = logs[n:]
		if err := b.exec(ctx, insertLogsSQL(n), args...); err != nil {
			return fmt.Errorf("store log records: %w", err)
		}
	}
	return nil
}

// A batch may be committed twice: its first commit succeeded but its
// answer was lost (the database restarted during COMMIT, an API server
// died before answering), and the recorder sends it again. A state that
// the run already went through, to the microsecond the store keeps, is
// then applied already: it is skipped, not refused as an illegal move
// (which would fail a run that did nothing wrong).

// sameState reports whether a and b are one state recorded twice.
func sameState(a, b flow.State) bool {
	return a.Type == b.Type && a.Name == b.Name && !a.Timestamp.IsZero() &&
		a.Timestamp.Truncate(time.Microsecond).Equal(b.Timestamp.Truncate(time.Microsecond))
}

// hasState reports whether history holds s.
func hasState(history []flow.State, s flow.State) bool {
	for _, h := range history {
		if sameState(h, s) {
			return true
		}
	}
	return false
}

// hadState reports whether flow run id went through state s.
func (db *DB) hadState(ctx context.Context, tx *sql.Tx, id string, s flow.State) (bool, error) {
	rows, err := db.queryTx(ctx, tx, `SELECT state FROM flow_run_states WHERE run_id = $1 ORDER BY seq DESC`, id)
	if err != nil {
		return false, fmt.Errorf("read history of run %s: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var text string
		if err := rows.Scan(&text); err != nil {
			return false, fmt.Errorf("read history of run %s: %w", id, err)
		}
		var h flow.State
		if json.Unmarshal([]byte(text), &h) == nil && sameState(h, s) {
			return true, nil
		}
	}
	return false, rows.Err()
}
