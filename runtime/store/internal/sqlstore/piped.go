package sqlstore

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// PipeStmt is one statement of a pipeline ([Dialect.Pipeline]).
type PipeStmt struct {
	SQL  string
	Args []any
	// Row, when set, is called for each row the statement returns, with
	// the function that scans it.
	Row func(scan func(dest ...any) error) error
}

// errNotPiped says that a batch needs what only the transaction of
// database/sql offers (a flow run's state, a cached result): Record
// writes it that way instead.
var errNotPiped = errors.New("sqlstore: batch needs a transaction of its own")

// recordPiped records a batch of task-run events in one round trip on
// one connection (Dialect.Pipeline): BEGIN, every write, COMMIT, with
// guards of what the batch assumed (its fences hold, the task runs
// knownTasks remembers are stored as remembered); two round trips when it
// must first read task runs it does not know (then its fences are read
// with them, the rows locked). The statements are Record's own, run in
// one transaction as there, so a failure writes nothing. ok is false when
// nothing was written and Record must write the batch through
// database/sql: the batch holds events only that path handles (flow runs,
// cached results), a task run created again, a guard failed, the fence of
// ctx refuses the whole batch, an op of a remembered task run was refused
// (its refusal rests on no reading), or the pipeline failed (that path
// then retries, classifies or reports the error; a pipeline whose COMMIT
// went through but whose answer was lost is a batch committed twice,
// which Record handles).
func (db *DB) recordPiped(ctx context.Context, ops []store.Op, logs []flow.LogRecord) (errs []error, ok bool) {
	for i := range ops {
		if c := ops[i].Create; c != nil && c.Kind != flow.KindTask {
			return nil, false
		}
		if r := ops[i].Result; r != nil && (r.CacheKey != "" || (r.TaskKey == "" && r.FlowRunID == ops[i].RunID)) {
			return nil, false
		}
		if f := ops[i].Fence; f != nil && ops[i].Create == nil && ops[i].Logs == nil && ops[i].RunID == f.RunID {
			// The state of the flow run the execution runs, not of a
			// task run: known without reading it.
			return nil, false
		}
	}
	conn, err := db.w.Conn(ctx)
	if err != nil {
		return nil, false
	}
	defer conn.Close()
	b := &batch{db: db, piped: true, errs: make([]error, len(ops)), tasks: make(map[string]*taskRow), results: make(map[resultKey]string)}
	committed := false
	defer func() { db.hub.done(b, committed) }()
	err = conn.Raw(func(dc any) error {
		err := db.runPiped(ctx, dc, b, ops, logs)
		if err != nil {
			db.known.forget(storedIDs(ops))
		}
		if err != nil {
			// Whatever was sent is undone; a connection that cannot say
			// so is dropped from the pool.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if rerr := db.d.Pipeline(rctx, dc, []PipeStmt{{SQL: "ROLLBACK"}}); rerr != nil {
				return errors.Join(err, rerr, driver.ErrBadConn)
			}
		}
		return err
	})
	if err != nil {
		return nil, false
	}
	committed = true
	db.known.wrote(b.tasks)
	return b.errs, true
}

// maxKnown bounds the task runs knownTasks remembers.
const maxKnown = 1 << 16

// knownTask is a task run as the pipelined Record last wrote it.
type knownTask struct {
	flowRun, taskKey string
	history          []flow.State
	text             string // history as stored
}

// knownTasks remembers the task runs that the pipelined Record wrote and
// that are not final yet, so that a later batch moving them need not read
// them first: its update applies only where the stored history is still
// the one remembered (guardedUpdateTasksSQL), else the whole batch goes
// the other way. Who else writes a task run (another process, the other
// way) therefore costs a retry, never a wrong move.
type knownTasks struct {
	mu sync.Mutex
	m  map[string]knownTask
}

func (k *knownTasks) get(id string) (knownTask, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	t, ok := k.m[id]
	return t, ok
}

// wrote remembers the task runs of a committed batch.
func (k *knownTasks) wrote(tasks map[string]*taskRow) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for id, t := range tasks {
		if t.text == "" {
			continue // not written
		}
		if t.state.Final() {
			delete(k.m, id)
			continue
		}
		if k.m == nil || len(k.m) >= maxKnown {
			k.m = make(map[string]knownTask)
		}
		k.m[id] = knownTask{flowRun: t.flowRun, taskKey: t.taskKey, history: t.history, text: t.text}
	}
}

// forget drops what a batch that failed assumed.
func (k *knownTasks) forget(ids []string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, id := range ids {
		delete(k.m, id)
	}
}

// guardFenceSQL fails the transaction (division by zero) unless execution
// ($1, $2, $3) of a run is current, locking the run's row as checkFence
// does.
func guardFenceSQL(lockRows string) string {
	return `SELECT 1 / (CASE WHEN count(*) = 1 THEN 1 ELSE 0 END) FROM (SELECT 1 FROM flow_runs WHERE id = $1 AND attempt = $2 AND ($3 = '' OR worker = $3)` + lockRows + `) AS f`
}

// runPiped runs a batch's pipelines on dc, a connection of the write pool.
// Task runs that knownTasks remembers are not read, nor are fences when
// nothing else must be: guards check them in the writing round trip.
func (db *DB) runPiped(ctx context.Context, dc any, b *batch, ops []store.Op, logs []flow.LogRecord) error {
	var ids []string
	for _, id := range storedIDs(ops) {
		k, ok := db.known.get(id)
		if !ok {
			ids = append(ids, id)
			continue
		}
		t := &taskRow{stored: true, known: true, flowRun: k.flowRun, taskKey: k.taskKey, history: slices.Clone(k.history), storedText: k.text}
		if len(t.history) > 0 {
			t.state = t.history[len(t.history)-1]
		}
		b.tasks[id] = t
	}
	var fences []store.Fence
	seen := make(map[store.Fence]bool)
	// The fence of ctx (an API request's run token) is read with the
	// others; it fences the whole batch.
	cf, ctxFenced := store.FenceFrom(ctx)
	if ctxFenced {
		seen[cf] = true
		fences = append(fences, cf)
	}
	for i := range ops {
		if f := ops[i].Fence; f != nil && !seen[*f] {
			seen[*f] = true
			fences = append(fences, *f)
		}
	}
	b.pipe = []PipeStmt{{SQL: "BEGIN"}}
	if len(ids) == 0 && len(fences) > 0 {
		// Every fence is assumed to hold, each checked by a guard; one
		// that does not fails the transaction, and the batch goes the
		// other way, where it fails alone.
		b.fences = make(map[store.Fence]error, len(fences))
		for _, f := range fences {
			b.fences[f] = nil
			b.pipe = append(b.pipe, PipeStmt{SQL: guardFenceSQL(db.d.LockRows), Args: []any{f.RunID, f.Attempt, f.Worker}})
		}
	}
	if len(ids) > 0 {
		for _, n := range db.chunks(len(ids)) {
			args := make([]any, n)
			for i := range n {
				args[i] = ids[i]
			}
			ids = ids[n:]
			b.pipe = append(b.pipe, PipeStmt{SQL: selectTasksSQL(n), Args: args, Row: b.scanTask})
		}
		type holder struct {
			worker  string
			attempt int
		}
		held := make(map[string]holder)
		for _, f := range fences {
			if _, ok := held[f.RunID]; ok {
				continue
			}
			held[f.RunID] = holder{attempt: -1}
			id := f.RunID
			b.pipe = append(b.pipe, PipeStmt{SQL: `SELECT worker, attempt FROM flow_runs WHERE id = $1` + db.d.LockRows, Args: []any{id},
				Row: func(scan func(...any) error) error {
					var h holder
					if err := scan(&h.worker, &h.attempt); err != nil {
						return fmt.Errorf("check fence of run %s: %w", id, err)
					}
					held[id] = h
					return nil
				}})
		}
		if err := db.d.Pipeline(ctx, dc, b.pipe); err != nil {
			return err
		}
		b.pipe = nil
		// As checkFence decides, from the rows read.
		b.fences = make(map[store.Fence]error, len(fences))
		for _, f := range fences {
			h := held[f.RunID]
			switch {
			case h.attempt == -1:
				b.fences[f] = notFound("run", f.RunID)
			case h.attempt != f.Attempt || (f.Worker != "" && h.worker != f.Worker):
				b.fences[f] = &store.FencedError{Fence: f, Worker: h.worker, Attempt: h.attempt}
			default:
				b.fences[f] = nil
			}
		}
		if ctxFenced && b.fences[cf] != nil {
			// The whole batch is refused: Record's other way says so.
			return errNotPiped
		}
	}
	for i := range ops {
		if err := b.apply(ctx, i, &ops[i]); err != nil {
			if errors.Is(err, errNotPiped) || !opError(err) {
				return err
			}
			b.errs[i] = err
		}
	}
	for _, t := range b.tasks {
		if t.known && !t.dirty {
			// Its ops were refused (or replays) on the state remembered:
			// no update guards that reading, so read it.
			return errNotPiped
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
	for _, p := range db.notifyPayloads(b) {
		b.pipe = append(b.pipe, PipeStmt{SQL: db.d.Notify, Args: []any{p}})
	}
	b.pipe = append(b.pipe, PipeStmt{SQL: "COMMIT"})
	return db.d.Pipeline(ctx, dc, b.pipe)
}
