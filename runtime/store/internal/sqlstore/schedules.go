package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// ScheduleStates implements store.Runs.
func (db *DB) ScheduleStates(ctx context.Context) (map[string]map[string]time.Time, error) {
	rows, err := db.r.QueryContext(ctx, `SELECT deployment, through FROM schedule_states`)
	if err != nil {
		return nil, fmt.Errorf("read planning states: %w", err)
	}
	defer rows.Close()
	out := map[string]map[string]time.Time{}
	for rows.Next() {
		var name, raw string
		if err := rows.Scan(&name, &raw); err != nil {
			return nil, fmt.Errorf("read planning states: %w", err)
		}
		m, err := decodeThrough(raw)
		if err != nil {
			return nil, fmt.Errorf("planning state of deployment %q: %w", name, err)
		}
		out[name] = m
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
		if p.Deployment == "" {
			return nil, invalid(fmt.Sprintf("plans[%d].deployment", i), "empty")
		}
	}
	var out []store.PlanResult
	err := db.tx(ctx, func(tx *sql.Tx) error {
		out = make([]store.PlanResult, len(plans))
		for i, p := range plans {
			var raw string
			err := tx.QueryRowContext(ctx, `SELECT through FROM schedule_states WHERE deployment = $1`+db.d.LockRows, p.Deployment).Scan(&raw)
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
			if !sameThrough(stored, p.Expect) {
				out[i].Err = conflict
				continue
			}
			if !exists {
				// Take the row first: a replica planning the same new
				// deployment at once waits here, then finds it taken.
				res, err := tx.ExecContext(ctx, `INSERT INTO schedule_states (deployment, through, updated) VALUES ($1, '{}', $2)
					ON CONFLICT (deployment) DO NOTHING`, p.Deployment, micros(db.now()))
				if err != nil {
					return fmt.Errorf("plans[%d]: store planning state of %q: %w", i, p.Deployment, err)
				}
				if n, _ := res.RowsAffected(); n == 0 {
					out[i].Err = conflict
					continue
				}
			}
			for j, spec := range p.Runs {
				if spec.Deployment != p.Deployment {
					return invalid(fmt.Sprintf("plans[%d].runs[%d].deployment", i, j), "not the plan's deployment")
				}
				if spec.State.Type != flow.TypeScheduled {
					return invalid(fmt.Sprintf("plans[%d].runs[%d].state", i, j), "a scheduled run needs a Scheduled or Late state")
				}
				r, ok, err := db.createRun(ctx, tx, spec, createOpts{slot: true, throttle: true})
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
				r, ok, err := db.createRun(ctx, tx, spec, createOpts{slot: true, throttle: true})
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
			if _, err := tx.ExecContext(ctx, `UPDATE schedule_states SET through = $2, updated = $3 WHERE deployment = $1`,
				p.Deployment, mustJSON(nonZero(p.Through)), micros(db.now())); err != nil {
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
	rows, err := tx.QueryContext(ctx, `SELECT r.id FROM flow_runs r WHERE r.deployment = $1 AND r.schedule_slot IS NOT NULL
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
