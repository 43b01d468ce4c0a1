package sqlstore

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

const runCols = `id, flow, flow_version, name, deployment, pool, queue, parameters, tags, state,
	scheduled_at, attempt, retries, retry_delay, parent_id, COALESCE(idempotency_key, ''), worker,
	lease_expires, infrastructure_id, source_commit, job_variables, event_id, origin, created, updated`

// runColsR are runCols of flow_runs r in a join.
const runColsR = `r.id, r.flow, r.flow_version, r.name, r.deployment, r.pool, r.queue, r.parameters, r.tags, r.state,
	r.scheduled_at, r.attempt, r.retries, r.retry_delay, r.parent_id, COALESCE(r.idempotency_key, ''), r.worker,
	r.lease_expires, r.infrastructure_id, r.source_commit, r.job_variables, r.event_id, r.origin, r.created, r.updated`

type scanner interface{ Scan(dest ...any) error }

func scanRun(s scanner) (store.FlowRun, error) {
	var (
		r                                    store.FlowRun
		params, tags, state, jobVars, origin string
		scheduled, delay, lease, cr, updated int64
	)
	err := s.Scan(&r.ID, &r.Flow, &r.FlowVersion, &r.Name, &r.Deployment, &r.Pool, &r.Queue, &params, &tags, &state,
		&scheduled, &r.Attempt, &r.Retries, &delay, &r.ParentID, &r.IdempotencyKey, &r.Worker,
		&lease, &r.InfrastructureID, &r.SourceCommit, &jobVars, &r.EventID, &origin, &cr, &updated)
	if err != nil {
		return r, err
	}
	// Most runs have no tags and a plain origin: not worth a decoder
	// (every state change reads its run).
	if !emptyJSON(origin) {
		if err := json.Unmarshal([]byte(origin), &r.Origin); err != nil {
			return r, fmt.Errorf("run %s: decode origin: %w", r.ID, err)
		}
	}
	r.Parameters = rawJSON(params)
	r.JobVariables = rawJSON(jobVars)
	if !emptyJSON(tags) {
		if err := json.Unmarshal([]byte(tags), &r.Tags); err != nil {
			return r, fmt.Errorf("run %s: decode tags: %w", r.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(state), &r.State); err != nil {
		return r, fmt.Errorf("run %s: decode state: %w", r.ID, err)
	}
	r.ScheduledAt = fromMicros(scheduled)
	r.RetryDelay = time.Duration(delay) * time.Microsecond
	r.LeaseExpires = fromMicros(lease)
	r.Created = fromMicros(cr)
	r.Updated = fromMicros(updated)
	return r, nil
}

// emptyJSON reports stored JSON text that decodes to a zero value.
func emptyJSON(s string) bool {
	return s == "" || s == "null" || s == "[]" || s == "{}"
}

// rawJSON turns stored JSON text into a RawMessage, nil for null.
func rawJSON(s string) json.RawMessage {
	if s == "" || s == "null" {
		return nil
	}
	return json.RawMessage(s)
}

// jsonText is the stored text of a JSON value, "null" for none.
func jsonText(field string, v json.RawMessage) (string, error) {
	if len(v) == 0 {
		return "null", nil
	}
	if !json.Valid(v) {
		return "", invalid(field, "not valid JSON")
	}
	if !utf8.Valid(v) {
		return "", invalid(field, "not valid UTF-8")
	}
	return string(v), nil
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("sqlstore: encode %T: %v", v, err)) // only plain data types are encoded
	}
	return string(b)
}

func tagsJSON(tags []string) string {
	if tags == nil {
		return "[]"
	}
	return mustJSON(tags)
}

// getRun reads a run in tx (nil: on the read pool).
func (db *DB) getRun(ctx context.Context, tx *sql.Tx, id, lock string) (store.FlowRun, error) {
	r, err := scanRun(db.row(ctx, tx, `SELECT `+runCols+` FROM flow_runs WHERE id = $1`+lock, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("run", id)
	}
	if err != nil {
		return r, fmt.Errorf("read run %s: %w", id, err)
	}
	return r, nil
}

// GetRun implements store.Runs.
func (db *DB) GetRun(ctx context.Context, id string) (store.FlowRun, error) {
	return db.getRun(ctx, nil, id, "")
}

// RunHistory implements store.Runs.
func (db *DB) RunHistory(ctx context.Context, id string) ([]flow.State, error) {
	rows, err := db.queryTx(ctx, nil, `SELECT state FROM flow_run_states WHERE run_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("read history of run %s: %w", id, err)
	}
	defer rows.Close()
	var out []flow.State
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, fmt.Errorf("read history of run %s: %w", id, err)
		}
		var st flow.State
		if err := json.Unmarshal([]byte(s), &st); err != nil {
			return nil, fmt.Errorf("run %s: decode state: %w", id, err)
		}
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read history of run %s: %w", id, err)
	}
	if out == nil {
		if _, err := db.GetRun(ctx, id); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// CreateRun implements store.Runs.
func (db *DB) CreateRun(ctx context.Context, spec store.RunSpec) (store.FlowRun, bool, error) {
	var (
		run     store.FlowRun
		created bool
	)
	err := db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		run, created, err = db.createRun(ctx, tx, spec, createOpts{})
		return err
	})
	return run, created, err
}

type createOpts struct {
	slot     bool   // a schedule's run: unique per (deployment, scheduled time)
	planGen  int64  // the deployment generation a schedule's run is planned under
	eventID  string // the event that creates it
	throttle bool   // skip (rather than return) a throttled spec
}

// checkOrigin refuses an origin of unknown kind or with text a column
// cannot hold.
func checkOrigin(o store.Origin) error {
	switch o.Kind {
	case "", store.OriginSchedule, store.OriginTrigger, store.OriginAPI, store.OriginSubflow, store.OriginFlow:
	default:
		return invalid("origin.kind", fmt.Sprintf("%q: want schedule, trigger, api, subflow or flow", o.Kind))
	}
	for i, k := range o.Schedules {
		if err := checkText(fmt.Sprintf("origin.schedules[%d]", i), k); err != nil {
			return err
		}
	}
	return checkText("origin.trigger", o.Trigger, "origin.api_key", o.APIKey)
}

// createRun creates a run in tx. created is false for a run that existed
// (same idempotency key or schedule slot) or was throttled; run is then
// the existing run (zero when skipped by slot or throttle).
func (db *DB) createRun(ctx context.Context, tx *sql.Tx, spec store.RunSpec, o createOpts) (store.FlowRun, bool, error) {
	now := db.now()
	if spec.ID == "" {
		spec.ID = flow.NewID()
	}
	if err := checkText("id", spec.ID, "deployment", spec.Deployment, "flow", spec.Flow, "name", spec.Name, "pool", spec.Pool,
		"queue", spec.Queue, "parent_id", spec.ParentID, "idempotency_key", spec.IdempotencyKey, "throttle_key", spec.ThrottleKey); err != nil {
		return store.FlowRun{}, false, err
	}
	if err := checkOrigin(spec.Origin); err != nil {
		return store.FlowRun{}, false, err
	}
	noRetries := spec.Retries < 0
	var dep store.Deployment
	if spec.Deployment != "" {
		d, err := db.deployment(ctx, tx, spec.Deployment)
		dep = d
		if err != nil {
			return store.FlowRun{}, false, fmt.Errorf("run of deployment %q: %w", spec.Deployment, err)
		}
		if o.slot && o.planGen == 0 {
			o.planGen = d.Generation // CreateScheduledRuns: planned under the current generation
		}
		spec.Flow = cmpOr(spec.Flow, d.Flow)
		spec.Pool = cmpOr(spec.Pool, d.Pool)
		spec.Queue = cmpOr(spec.Queue, d.Queue)
		if spec.Retries == 0 {
			spec.Retries, spec.RetryDelay = d.Retries, d.RetryDelay
		}
		if len(spec.JobVariables) == 0 {
			spec.JobVariables = d.JobVariables
		}
		tags := slices.Clone(d.Tags)
		for _, t := range spec.Tags {
			if !slices.Contains(tags, t) {
				tags = append(tags, t)
			}
		}
		spec.Tags = tags
	}
	if noRetries {
		spec.Retries, spec.RetryDelay = 0, 0
	}
	if err := checkInt32("retries", spec.Retries); err != nil {
		return store.FlowRun{}, false, err
	}
	if strings.TrimSpace(spec.Flow) == "" {
		return store.FlowRun{}, false, invalid("flow", "empty")
	}
	st := spec.State
	if st.IsZero() {
		st = flow.Scheduled(now)
	}
	if st.Type != flow.TypeScheduled && st.Type != flow.TypePending {
		return store.FlowRun{}, false, invalid("state", fmt.Sprintf("%s: a run starts Scheduled or Pending", st.Name))
	}
	if st.Type == flow.TypeScheduled && st.ScheduledAt.IsZero() {
		st.ScheduledAt = now
	}
	if st.Timestamp.IsZero() {
		st.Timestamp = now
	}
	// A run created late (its time passed: the scheduler catching up)
	// is Scheduled then Late in the one transaction, as the transition
	// table has it: nobody sees it Scheduled.
	var late *flow.State
	if st.Name == flow.NameLate {
		l := st
		late = &l
		st = flow.Scheduled(st.ScheduledAt)
		st.Timestamp = l.Timestamp
	}
	if err := flow.CheckTransition(flow.State{}, st); err != nil {
		return store.FlowRun{}, false, err
	}
	params, err := jsonText("parameters", spec.Parameters)
	if err != nil {
		return store.FlowRun{}, false, err
	}
	jobVars, err := jsonText("job_variables", spec.JobVariables)
	if err != nil {
		return store.FlowRun{}, false, err
	}
	if spec.ThrottleKey != "" && spec.Throttle > 0 {
		var recent string
		err := db.row(ctx, tx, `SELECT id FROM flow_runs WHERE deployment = $1 AND throttle_key = $2 AND created > $3 ORDER BY created DESC LIMIT 1`,
			spec.Deployment, spec.ThrottleKey, micros(now.Add(-spec.Throttle))).Scan(&recent)
		switch {
		case err == nil:
			if o.throttle {
				return store.FlowRun{}, false, nil
			}
			r, err := db.getRun(ctx, tx, recent, "")
			return r, false, err
		case !errors.Is(err, sql.ErrNoRows):
			return store.FlowRun{}, false, fmt.Errorf("check throttle %q: %w", spec.ThrottleKey, err)
		}
	}
	var slot, idem, throttle any
	if o.slot {
		if spec.Deployment == "" || st.Type != flow.TypeScheduled {
			return store.FlowRun{}, false, invalid("deployment", "a scheduled run needs a deployment and a Scheduled state")
		}
		slot = micros(st.ScheduledAt)
	}
	if spec.IdempotencyKey != "" {
		idem = spec.IdempotencyKey
	}
	if spec.ThrottleKey != "" {
		throttle = spec.ThrottleKey
	}
	stateJSON := mustJSON(st)
	// The run as stored comes back from the insert itself: no read after.
	r, err := scanRun(db.row(ctx, tx, `INSERT INTO flow_runs (id, flow, name, deployment, pool, queue, parameters, tags,
		state_type, state, state_seq, scheduled_at, schedule_slot, attempt, retries, retry_delay, parent_id,
		idempotency_key, throttle_key, job_variables, event_id, origin_kind, origin, plan_gen, created, updated)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, 1, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $23)
		ON CONFLICT DO NOTHING RETURNING `+runCols,
		spec.ID, spec.Flow, spec.Name, spec.Deployment, spec.Pool, spec.Queue, params, tagsJSON(spec.Tags),
		string(st.Type), stateJSON, micros(st.ScheduledAt), slot, spec.Retries, spec.RetryDelay.Microseconds(), spec.ParentID,
		idem, throttle, jobVars, o.eventID, string(spec.Origin.Kind), mustJSON(spec.Origin), o.planGen, micros(now)))
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return store.FlowRun{}, false, fmt.Errorf("create run: %w", err)
	}
	if err != nil {
		// A conflict: the same idempotency key or slot, or the same ID.
		if o.slot {
			return store.FlowRun{}, false, nil
		}
		if idem != nil {
			var id string
			err := db.row(ctx, tx, `SELECT id FROM flow_runs WHERE deployment = $1 AND idempotency_key = $2`, spec.Deployment, spec.IdempotencyKey).Scan(&id)
			if err == nil {
				r, err := db.getRun(ctx, tx, id, "")
				return r, false, err
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return store.FlowRun{}, false, fmt.Errorf("read run with idempotency key: %w", err)
			}
		}
		return store.FlowRun{}, false, invalid("id", fmt.Sprintf("run %s already exists", spec.ID))
	}
	if _, err := db.execTx(ctx, tx, `INSERT INTO flow_run_states (run_id, seq, state) VALUES ($1, 1, $2)`, spec.ID, stateJSON); err != nil {
		return store.FlowRun{}, false, fmt.Errorf("record state: %w", err)
	}
	if late != nil {
		if r, err = db.moveRun(ctx, tx, r, *late, nil); err != nil {
			return r, true, err
		}
	}
	// A run of a deployment with a change calendar, due while it is
	// closed, waits for the next opening from the start: its history and
	// expected start say so at once. The claim checks again.
	if dep.Calendar != nil && r.State.Type == flow.TypeScheduled {
		hold, err := db.windowHold(ctx, tx, dep, maxTime(r.ScheduledAt, now))
		if err != nil {
			return r, true, err
		}
		if hold != nil {
			r, err = db.moveRun(ctx, tx, r, *hold, nil)
		}
	}
	return r, true, err
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// CreateScheduledRuns implements store.Runs.
func (db *DB) CreateScheduledRuns(ctx context.Context, specs []store.RunSpec) ([]string, error) {
	var created []string
	err := db.tx(ctx, func(tx *sql.Tx) error {
		created = created[:0]
		for i, spec := range specs {
			if spec.State.IsZero() {
				return invalid(fmt.Sprintf("specs[%d].state", i), "a scheduled run needs a Scheduled state")
			}
			if spec.Origin.Kind == "" {
				spec.Origin.Kind = store.OriginSchedule
			}
			r, ok, err := db.createRun(ctx, tx, spec, createOpts{slot: true, throttle: true})
			if err != nil {
				return fmt.Errorf("specs[%d]: %w", i, err)
			}
			if ok {
				created = append(created, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return created, nil
}

// setRunState moves a flow run to s in tx, recording the state and the
// result. It returns the run as it is now.
func (db *DB) setRunState(ctx context.Context, tx *sql.Tx, id string, s flow.State, res *flow.Result) (store.FlowRun, error) {
	cur, err := db.getRun(ctx, tx, id, db.d.LockRows)
	if err != nil {
		return cur, err
	}
	return db.moveRun(ctx, tx, cur, s, res)
}

// moveRun moves cur, read and locked in tx, to s, after checking the move
// against the transition table. A final state ends the lease.
func (db *DB) moveRun(ctx context.Context, tx *sql.Tx, cur store.FlowRun, s flow.State, res *flow.Result) (store.FlowRun, error) {
	return db.moveRunLeased(ctx, tx, cur, s, res, nil)
}

// moveRunLeased is moveRun that also hands the run to claim's worker,
// in the same statement, when claim is set.
func (db *DB) moveRunLeased(ctx context.Context, tx *sql.Tx, cur store.FlowRun, s flow.State, res *flow.Result, claim *leaseTo) (store.FlowRun, error) {
	now := db.now()
	if s.Timestamp.IsZero() {
		s.Timestamp = now
	}
	if err := flow.CheckTransition(cur.State, s); err != nil {
		return cur, fmt.Errorf("run %s: %w", cur.ID, err)
	}
	scheduled := micros(cur.ScheduledAt)
	if !s.ScheduledAt.IsZero() {
		scheduled = micros(s.ScheduledAt)
	}
	lease := micros(cur.LeaseExpires)
	if s.Final() {
		lease = 0
	}
	stateJSON := mustJSON(s)
	q := `UPDATE flow_runs SET state_type = $2, state = $3, state_seq = state_seq + 1, scheduled_at = $4, lease_expires = $5, updated = $6`
	args := []any{cur.ID, string(s.Type), stateJSON, scheduled, lease, micros(now)}
	if claim != nil {
		q += `, worker = $7`
		args[4] = micros(claim.until)
		args = append(args, claim.worker)
	}
	// The run as it is now comes back from the update: no read after.
	var seq int64
	run, err := scanRun(withFirst(db.row(ctx, tx, q+` WHERE id = $1 RETURNING state_seq, `+runCols, args...), &seq))
	if err != nil {
		return cur, fmt.Errorf("update run %s: %w", cur.ID, err)
	}
	db.touch(tx, cur.ID)
	if _, err := db.execTx(ctx, tx, `INSERT INTO flow_run_states (run_id, seq, state) VALUES ($1, $2, $3)`, cur.ID, seq, stateJSON); err != nil {
		return cur, fmt.Errorf("record state of run %s: %w", cur.ID, err)
	}
	if res != nil {
		if err := db.putResult(ctx, tx, res); err != nil {
			return cur, err
		}
	}
	return run, nil
}

// leaseTo is a claim's lease, set by moveRunLeased with the Pending state.
type leaseTo struct {
	worker string
	until  time.Time
}

// withFirst scans the first column into first and the rest with the
// destinations given.
func withFirst(s scanner, first any) scanner { return firstScanner{s, first} }

type firstScanner struct {
	s     scanner
	first any
}

func (f firstScanner) Scan(dest ...any) error { return f.s.Scan(append([]any{f.first}, dest...)...) }

// SetRunState implements store.Runs.
func (db *DB) SetRunState(ctx context.Context, id string, s flow.State, res *flow.Result) (store.FlowRun, error) {
	var run store.FlowRun
	err := db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.ctxFence(ctx, tx); err != nil {
			return err
		}
		var err error
		run, err = db.setRunState(ctx, tx, id, s, res)
		return err
	})
	return run, err
}

// UpdateRunInfo implements store.Runs.
func (db *DB) UpdateRunInfo(ctx context.Context, id string, info store.RunInfo) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if err := db.ctxFence(ctx, tx); err != nil {
			return err
		}
		res, err := db.execTx(ctx, tx, `UPDATE flow_runs SET infrastructure_id = $2, source_commit = $3, updated = $4 WHERE id = $1`,
			id, info.InfrastructureID, info.SourceCommit, micros(db.now()))
		if err != nil {
			return fmt.Errorf("update run %s: %w", id, err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("run", id)
		}
		return nil
	})
}

// CancelRun implements store.Runs.
func (db *DB) CancelRun(ctx context.Context, id, reason string) (flow.State, error) {
	var st flow.State
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := db.getRun(ctx, tx, id, db.d.LockRows)
		if err != nil {
			return err
		}
		to := flow.Cancelling(reason)
		// A run no worker holds is cancelled at once; a held one (claimed,
		// or waiting in AwaitingRetry inside its execution) is stopped by
		// its worker, which sees Cancelling when it renews the lease.
		// So is a run suspended at an approval gate (Paused, no lease).
		if (cur.State.Type == flow.TypeScheduled && cur.LeaseExpires.IsZero()) || (cur.State.Type == flow.TypePending && cur.Worker == "") ||
			(cur.State.Type == flow.TypePaused && cur.LeaseExpires.IsZero()) {
			to = flow.Cancelled(reason)
		}
		run, err := db.moveRun(ctx, tx, cur, to, nil)
		st = run.State
		return err
	})
	return st, err
}

// RunResult implements store.Runs.
func (db *DB) RunResult(ctx context.Context, id string) (json.RawMessage, bool, error) {
	var v string
	err := db.row(ctx, nil, `SELECT value FROM results WHERE flow_run_id = $1 AND task_key = ''`, id).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read result of run %s: %w", id, err)
	}
	val, err := db.openResult(v, resultWhere(id, ""))
	if err != nil {
		return nil, false, fmt.Errorf("read result of run %s: %w", id, err)
	}
	return val, true, nil
}

func (db *DB) putResult(ctx context.Context, tx *sql.Tx, res *flow.Result) error {
	if res.FlowRunID != "" {
		v, err := db.resultText("result", res.Value, res.Sensitive, resultWhere(res.FlowRunID, res.TaskKey))
		if err != nil {
			return err
		}
		if _, err := db.execTx(ctx, tx, `INSERT INTO results (flow_run_id, task_key, value) VALUES ($1, $2, $3)
			ON CONFLICT (flow_run_id, task_key) DO UPDATE SET value = excluded.value`, res.FlowRunID, res.TaskKey, v); err != nil {
			return fmt.Errorf("store result %s/%s: %w", res.FlowRunID, res.TaskKey, err)
		}
	}
	if res.CacheKey != "" {
		v, err := db.resultText("result", res.Value, res.Sensitive, cacheWhere(res.CacheKey))
		if err != nil {
			return err
		}
		if _, err := db.execTx(ctx, tx, `INSERT INTO cache (key, value, expires) VALUES ($1, $2, $3)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires`, res.CacheKey, v, micros(res.CacheExpires)); err != nil {
			return fmt.Errorf("store cached result %q: %w", res.CacheKey, err)
		}
	}
	return nil
}

// RunResults implements flow.ResultStore.
func (db *DB) RunResults(ctx context.Context, flowRunID string) (map[string]json.RawMessage, error) {
	rows, err := db.queryTx(ctx, nil, `SELECT task_key, result FROM task_runs WHERE flow_run_id = $1 AND result IS NOT NULL
		UNION ALL SELECT task_key, value FROM results WHERE flow_run_id = $1 AND task_key <> ''`, flowRunID)
	if err != nil {
		return nil, fmt.Errorf("read results of run %s: %w", flowRunID, err)
	}
	defer rows.Close()
	out := make(map[string]json.RawMessage)
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, fmt.Errorf("read results of run %s: %w", flowRunID, err)
		}
		if out[k], err = db.openResult(v, resultWhere(flowRunID, k)); err != nil {
			return nil, fmt.Errorf("read results of run %s: %w", flowRunID, err)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read results of run %s: %w", flowRunID, err)
	}
	return out, nil
}

// CachedResult implements flow.ResultStore.
func (db *DB) CachedResult(ctx context.Context, key string, now time.Time) (json.RawMessage, bool, error) {
	var (
		v       string
		expires int64
	)
	err := db.row(ctx, nil, `SELECT value, expires FROM cache WHERE key = $1`, key).Scan(&v, &expires)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read cached result %q: %w", key, err)
	}
	if expires != 0 && now.UnixMicro() >= expires {
		return nil, false, nil
	}
	val, err := db.openResult(v, cacheWhere(key))
	if err != nil {
		return nil, false, fmt.Errorf("read cached result %q: %w", key, err)
	}
	return val, true, nil
}

// cursor is a page position: the sort key of the last row returned.
type cursor struct {
	T    int64    `json:"t"`
	Keys []string `json:"k"`
}

func encodeCursor(t int64, keys ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(mustJSON(cursor{T: t, Keys: keys})))
}

// decodeCursor decodes a cursor with n keys.
func decodeCursor(c string, n int) (cursor, error) {
	var cur cursor
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || json.Unmarshal(b, &cur) != nil || len(cur.Keys) != n {
		return cur, invalid("cursor", "malformed")
	}
	for _, k := range cur.Keys {
		if checkText("cursor", k) != nil {
			return cur, invalid("cursor", "malformed")
		}
	}
	return cur, nil
}

func pageSize(n, def, maxN int) int {
	if n <= 0 {
		return def
	}
	return min(n, maxN)
}

// where builds a WHERE clause with numbered placeholders.
type where struct {
	conds []string
	args  []any
}

func (w *where) add(cond string, args ...any) {
	for _, a := range args {
		w.args = append(w.args, a)
		cond = strings.Replace(cond, "?", "$"+strconv.Itoa(len(w.args)), 1)
	}
	w.conds = append(w.conds, cond)
}

func (w *where) String() string {
	if len(w.conds) == 0 {
		return ""
	}
	return " WHERE " + strings.Join(w.conds, " AND ")
}

// likeEscape escapes s for a LIKE pattern with ESCAPE '\'.
func likeEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListRuns implements store.Runs.
func (db *DB) ListRuns(ctx context.Context, f store.RunFilter) ([]store.FlowRun, string, error) {
	var w where
	if len(f.States) > 0 {
		ph := make([]string, len(f.States))
		for i := range ph {
			ph[i] = "?"
		}
		args := make([]any, len(f.States))
		for i, s := range f.States {
			args[i] = string(s)
		}
		w.add("state_type IN ("+strings.Join(ph, ", ")+")", args...)
	}
	if f.Deployment != "" {
		w.add("deployment = ?", f.Deployment)
	}
	if f.Flow != "" {
		w.add("flow = ?", f.Flow)
	}
	if f.Tag != "" {
		w.add(`tags LIKE ? ESCAPE '\'`, "%"+likeEscape(mustJSON(f.Tag))+"%")
	}
	if f.ParentID != "" {
		w.add("parent_id = ?", f.ParentID)
	}
	if f.Origin != "" {
		w.add("origin_kind = ?", string(f.Origin))
	}
	if !f.CreatedAfter.IsZero() {
		w.add("created >= ?", micros(f.CreatedAfter))
	}
	if !f.CreatedBefore.IsZero() {
		w.add("created < ?", micros(f.CreatedBefore))
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, 1)
		if err != nil {
			return nil, "", err
		}
		w.add("(created, id) < (?, ?)", c.T, c.Keys[0])
	}
	limit := pageSize(f.Limit, 100, 1000)
	rows, err := db.queryTx(ctx, nil, `SELECT `+runCols+` FROM flow_runs`+w.String()+` ORDER BY created DESC, id DESC LIMIT `+strconv.Itoa(limit+1), w.args...)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	defer rows.Close()
	var out []store.FlowRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list runs: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(micros(last.Created), last.ID)
	}
	return out, next, nil
}
