package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// ScheduleStates implements store.Runs.
func (db *DB) ScheduleStates(ctx context.Context) (map[string]store.ScheduleState, error) {
	rows, err := db.queryTx(ctx, nil, `SELECT deployment, through, gen FROM schedule_states`)
	if err != nil {
		return nil, fmt.Errorf("read planning states: %w", err)
	}
	defer rows.Close()
	out := map[string]store.ScheduleState{}
	for rows.Next() {
		var (
			name, raw string
			gen       int64
		)
		if err := rows.Scan(&name, &raw, &gen); err != nil {
			return nil, fmt.Errorf("read planning states: %w", err)
		}
		m, err := decodeThrough(raw)
		if err != nil {
			return nil, fmt.Errorf("planning state of deployment %q: %w", name, err)
		}
		out[name] = store.ScheduleState{Through: m, Generation: gen}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read planning states: %w", err)
	}
	return out, nil
}

func decodeThrough(raw string) (map[string]time.Time, error) {
	m := map[string]time.Time{}
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	return m, nil
}

// sameThrough compares planning states, ignoring zero instants and time
// zones.
func sameThrough(a, b map[string]time.Time) bool {
	a, b = nonZero(a), nonZero(b)
	if len(a) != len(b) {
		return false
	}
	for k, t := range a {
		if u, ok := b[k]; !ok || !u.Equal(t) {
			return false
		}
	}
	return true
}

func nonZero(m map[string]time.Time) map[string]time.Time {
	out := maps.Clone(m)
	maps.DeleteFunc(out, func(_ string, t time.Time) bool { return t.IsZero() })
	return out
}

// PlanSchedules implements store.Runs.
func (db *DB) PlanSchedules(ctx context.Context, plans []store.SchedulePlan) ([]store.PlanResult, error) {
	for i, p := range plans {
		switch {
		case p.Deployment == "":
			return nil, invalid(fmt.Sprintf("plans[%d].deployment", i), "empty")
		case p.Generation < 1:
			return nil, invalid(fmt.Sprintf("plans[%d].generation", i), "want the deployment's generation (≥ 1)")
		}
	}
	var out []store.PlanResult
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = make([]store.PlanResult, len(plans))
		for i, p := range plans {
			var (
				raw       string
				storedGen int64
			)
			err := db.row(ctx, tx, `SELECT through, gen FROM schedule_states WHERE deployment = $1`+db.d.LockRows, p.Deployment).Scan(&raw, &storedGen)
			stored := map[string]time.Time{}
			exists := err == nil
			switch {
			case errors.Is(err, sql.ErrNoRows):
			case err != nil:
				return fmt.Errorf("plans[%d]: read planning state of %q: %w", i, p.Deployment, err)
			default:
				if stored, err = decodeThrough(raw); err != nil {
					return fmt.Errorf("plans[%d]: planning state of %q: %w", i, p.Deployment, err)
				}
			}
			conflict := &store.ConflictError{What: fmt.Sprintf("planning state of deployment %q", p.Deployment)}
			if !sameThrough(stored, p.Expect) || storedGen != p.ExpectGeneration {
				out[i].Err = conflict
				continue
			}
			// The deployment's generation, read without a lock: changed
			// by a transaction committing after this read, it makes the
			// runs created here stale, and the next plan replaces them.
			var depGen int64
			err = db.row(ctx, tx, `SELECT plan_gen FROM deployments WHERE name = $1`, p.Deployment).Scan(&depGen)
			switch {
			case errors.Is(err, sql.ErrNoRows):
				return fmt.Errorf("plans[%d]: %w", i, notFound("deployment", p.Deployment))
			case err != nil:
				return fmt.Errorf("plans[%d]: read deployment %q: %w", i, p.Deployment, err)
			case depGen != p.Generation || storedGen > p.Generation:
				out[i].Err = &store.ConflictError{What: fmt.Sprintf("generation of deployment %q (planned for %d, now %d)", p.Deployment, p.Generation, depGen)}
				continue
			}
			if !exists {
				// Take the row first: a replica planning the same new
				// deployment at once waits here, then finds it taken.
				res, err := db.execTx(ctx, tx, `INSERT INTO schedule_states (deployment, through, gen, updated) VALUES ($1, '{}', 0, $2)
					ON CONFLICT (deployment) DO NOTHING`, p.Deployment, micros(db.now()))
				if err != nil {
					return fmt.Errorf("plans[%d]: store planning state of %q: %w", i, p.Deployment, err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					out[i].Err = conflict
					continue
				}
			}
			replace := exists && storedGen < p.Generation
			if !exists {
				// Planned for the first time: only runs made without a
				// plan (CreateScheduledRuns) under an older generation
				// can be there; usually nothing is.
				err := db.row(ctx, tx, `SELECT EXISTS (SELECT 1 FROM flow_runs WHERE deployment = $1 AND schedule_slot IS NOT NULL AND plan_gen < $2)`,
					p.Deployment, p.Generation).Scan(&replace)
				if err != nil {
					return fmt.Errorf("plans[%d]: look for planned runs of %q: %w", i, p.Deployment, err)
				}
			}
			if replace {
				// The first plan of a new generation: what the older one
				// planned and did not start is replaced, before the new
				// runs take their slots.
				keys := make(map[string]bool, len(p.Through))
				for k, t := range p.Through {
					if !t.IsZero() {
						keys[k] = true
					}
				}
				deleted, err := db.replacePlanned(ctx, tx, p.Deployment, p.Generation, p.ReplanFrom, keys)
				if err != nil {
					return fmt.Errorf("plans[%d]: %w", i, err)
				}
				out[i].Deleted = deleted
			}
			for j, spec := range p.Runs {
				if spec.Deployment != p.Deployment {
					return invalid(fmt.Sprintf("plans[%d].runs[%d].deployment", i, j), "not the plan's deployment")
				}
				if spec.State.Type != flow.TypeScheduled {
					return invalid(fmt.Sprintf("plans[%d].runs[%d].state", i, j), "a scheduled run needs a Scheduled or Late state")
				}
				if spec.Origin.Kind == "" {
					spec.Origin.Kind = store.OriginSchedule
				}
				r, ok, err := db.createRun(ctx, tx, spec, createOpts{slot: true, throttle: true, planGen: p.Generation})
				if err != nil {
					return fmt.Errorf("plans[%d].runs[%d]: %w", i, j, err)
				}
				if ok {
					out[i].Created = append(out[i].Created, r.ID)
				}
			}
			for j, sk := range p.Skipped {
				spec := sk.Spec
				if spec.Deployment != p.Deployment {
					return invalid(fmt.Sprintf("plans[%d].skipped[%d].deployment", i, j), "not the plan's deployment")
				}
				if spec.State.Type != flow.TypeScheduled || spec.State.ScheduledAt.IsZero() {
					return invalid(fmt.Sprintf("plans[%d].skipped[%d].state", i, j), "a skipped run needs a Scheduled state with its time")
				}
				if spec.Origin.Kind == "" {
					spec.Origin.Kind = store.OriginSchedule
				}
				r, ok, err := db.createRun(ctx, tx, spec, createOpts{slot: true, throttle: true, planGen: p.Generation})
				if err != nil {
					return fmt.Errorf("plans[%d].skipped[%d]: %w", i, j, err)
				}
				if !ok {
					continue
				}
				if _, err := db.moveRun(ctx, tx, r, flow.Cancelled(sk.Reason), nil); err != nil {
					return fmt.Errorf("plans[%d].skipped[%d]: %w", i, j, err)
				}
				out[i].Created = append(out[i].Created, r.ID)
			}
			if !p.LateBefore.IsZero() {
				if err := db.applyLatePolicy(ctx, tx, p.Deployment, p.LateBefore); err != nil {
					return fmt.Errorf("plans[%d]: %w", i, err)
				}
			}
			if _, err := db.execTx(ctx, tx, `UPDATE schedule_states SET through = $2, gen = $3, updated = $4 WHERE deployment = $1`,
				p.Deployment, mustJSON(nonZero(p.Through)), p.Generation, micros(db.now())); err != nil {
				return fmt.Errorf("plans[%d]: store planning state of %q: %w", i, p.Deployment, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("plan schedules: %w", err)
	}
	return out, nil
}

// applyLatePolicy applies deployment name's late policy, in tx, to its
// runs created ahead by its schedules that are still waiting (Scheduled or
// Late) and due before lateBefore: created before they were late, they
// escaped the policy the scheduler applies when it creates runs (the
// deployment was paused, or no worker claimed them in time).
func (db *DB) applyLatePolicy(ctx context.Context, tx *sql.Tx, name string, lateBefore time.Time) error {
	d, err := db.deployment(ctx, tx, name)
	if err != nil {
		return fmt.Errorf("late policy of deployment %q: %w", name, err)
	}
	if d.LatePolicy != store.LateSkip && d.LatePolicy != store.LateRunLatest {
		return nil
	}
	// Runs being claimed are locked: skipped here, they start.
	rows, err := db.queryTx(ctx, tx, `SELECT r.id FROM flow_runs r WHERE r.deployment = $1 AND r.schedule_slot IS NOT NULL
		AND r.state_type = 'SCHEDULED' AND r.scheduled_at < $2 ORDER BY r.scheduled_at, r.id`+db.d.SkipLocked, name, micros(lateBefore))
	if err != nil {
		return fmt.Errorf("find late runs of deployment %q: %w", name, err)
	}
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return fmt.Errorf("find late runs of deployment %q: %w", name, err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("find late runs of deployment %q: %w", name, err)
	}
	var late []store.FlowRun
	for _, id := range ids {
		r, err := db.getRun(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if r.State.Name == flow.NameScheduled || r.State.Name == flow.NameLate {
			late = append(late, r) // not AwaitingRetry: a retry is no occurrence
		}
	}
	if d.LatePolicy == store.LateRunLatest && len(late) > 0 {
		late = late[:len(late)-1] // the latest runs
	}
	for _, r := range late {
		msg := fmt.Sprintf("skipped by late policy %q: due %s, not started before %s", d.LatePolicy,
			r.ScheduledAt.UTC().Format(time.RFC3339), lateBefore.UTC().Format(time.RFC3339))
		if _, err := db.moveRun(ctx, tx, r, flow.Cancelled(msg), nil); err != nil {
			return err
		}
	}
	return nil
}

// replacePlanned deletes, in tx, the runs deployment name's schedules
// planned that have not started (Scheduled or Late, first attempt, no
// lease) and are due at or after from, or none of whose schedules is in
// keys; with keys nil, all of them. With gen > 0, the runs it keeps are
// stamped with gen, which makes them claimable again. It returns the IDs
// deleted.
//
// The candidates are locked, waiting for a claim that holds one: once the
// claim commits, the run is Pending and no longer a candidate. A claim
// never waits for this transaction (it skips locked runs), so the two
// cannot deadlock.
func (db *DB) replacePlanned(ctx context.Context, tx *sql.Tx, name string, gen int64, from time.Time, keys map[string]bool) ([]string, error) {
	// A run held for its change window (AwaitingWindow) was planned too:
	// it is compared by its slot, its occurrence, not by when it is due.
	rows, err := db.queryTx(ctx, tx, `SELECT r.id, r.schedule_slot, r.state, r.origin FROM flow_runs r
		WHERE r.deployment = $1 AND r.schedule_slot IS NOT NULL AND r.state_type = 'SCHEDULED'
		AND r.lease_expires = 0 AND r.attempt = 1 ORDER BY r.scheduled_at`+db.d.LockRows, name)
	if err != nil {
		return nil, fmt.Errorf("find planned runs of deployment %q: %w", name, err)
	}
	var ids []any
	var deleted []string
	for rows.Next() {
		var (
			id, state, origin string
			at                int64
		)
		if err := rows.Scan(&id, &at, &state, &origin); err != nil {
			rows.Close()
			return nil, fmt.Errorf("find planned runs of deployment %q: %w", name, err)
		}
		var st flow.State
		var o store.Origin
		if json.Unmarshal([]byte(state), &st) != nil || json.Unmarshal([]byte(origin), &o) != nil {
			rows.Close()
			return nil, fmt.Errorf("planned run %s of deployment %q: undecodable state or origin", id, name)
		}
		if st.Name != flow.NameScheduled && st.Name != flow.NameLate && st.Name != flow.NameAwaitingWindow {
			continue // AwaitingRetry: an execution waits in it; WindowOverridden: let through
		}
		stale := keys == nil || !fromMicros(at).Before(from)
		if !stale {
			stale = !slices.ContainsFunc(o.Schedules, func(k string) bool { return keys[k] })
		}
		if stale {
			ids = append(ids, id)
			deleted = append(deleted, id)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find planned runs of deployment %q: %w", name, err)
	}
	for len(ids) > 0 {
		n := min(len(ids), 500)
		in := strings.TrimSuffix(strings.TrimPrefix(placeholders(1, n), "("), ")")
		for _, q := range []string{
			`DELETE FROM flow_run_states WHERE run_id IN (` + in + `)`,
			`DELETE FROM flow_runs WHERE id IN (` + in + `)`,
		} {
			if _, err := db.execTx(ctx, tx, q, ids[:n]...); err != nil {
				return nil, fmt.Errorf("delete planned runs of deployment %q: %w", name, err)
			}
		}
		ids = ids[n:]
	}
	if gen > 0 {
		if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET plan_gen = $2 WHERE deployment = $1 AND schedule_slot IS NOT NULL AND plan_gen < $2`, name, gen); err != nil {
			return nil, fmt.Errorf("keep planned runs of deployment %q: %w", name, err)
		}
	}
	return deleted, nil
}
