package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// calendarRetry is when a run held by a calendar that cannot be used (its
// block is missing or holds a bad calendar) is checked again: it fails
// closed, and starts once someone fixes the block.
const calendarRetry = time.Minute

// calendarQuiet is when a run is checked again whose calendar opens
// nowhere within window's search horizon.
const calendarQuiet = 24 * time.Hour

// validateCalendar checks a deployment's calendar when it is applied.
func validateCalendar(c *window.Calendar) error {
	if c == nil {
		return nil
	}
	if err := checkText("calendar.block", c.Block); err != nil {
		return err
	}
	if _, err := window.Compile(*c); err != nil {
		return fielderr.Under("calendar", err)
	}
	return nil
}

// calendar returns d's effective calendar, reading its block in tx; nil
// for a deployment without one.
func (db *DB) calendar(ctx context.Context, tx *sql.Tx, d store.Deployment) (*window.Compiled, error) {
	if d.Calendar == nil || d.Calendar.IsZero() {
		return nil, nil
	}
	var data json.RawMessage
	if d.Calendar.Block != "" {
		var text string
		err := db.row(ctx, tx, `SELECT data FROM blocks WHERE name = $1`, d.Calendar.Block).Scan(&text)
		switch {
		case err == nil:
			data = json.RawMessage(text)
		case !errors.Is(err, sql.ErrNoRows):
			return nil, fmt.Errorf("read calendar block %q: %w", d.Calendar.Block, err)
		}
	}
	key := mustJSON(d.Calendar) + "\x00" + string(data)
	if c, ok := db.cals.get(key); ok {
		return c, nil
	}
	c, err := store.EffectiveCalendar(d, data)
	if err == nil {
		db.cals.put(key, c)
	}
	return c, err
}

// calendarCache keeps compiled calendars by their declaration and block
// data, so that creating and claiming a run do not parse its cron
// expressions again. It is bounded: full, it starts afresh.
type calendarCache struct {
	mu sync.Mutex
	m  map[string]*window.Compiled
}

const calendarCacheSize = 256

func (c *calendarCache) get(key string) (*window.Compiled, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	return v, ok
}

func (c *calendarCache) put(key string, v *window.Compiled) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= calendarCacheSize {
		c.m = make(map[string]*window.Compiled)
	}
	c.m[key] = v
}

// windowHold returns the state that holds a run of deployment d, due at
// at, for its change window, or nil when its calendar is open then (or it
// has none). A calendar that cannot be used holds the run and is checked
// again after calendarRetry: a broken calendar must not open the gate.
func (db *DB) windowHold(ctx context.Context, tx *sql.Tx, d store.Deployment, at time.Time) (*flow.State, error) {
	cal, err := db.calendar(ctx, tx, d)
	var fe *fielderr.Error
	switch {
	case errors.As(err, &fe):
		return &flow.State{Type: flow.TypeScheduled, Name: flow.NameAwaitingWindow, ScheduledAt: at.Add(calendarRetry),
			Message: "change calendar unusable (" + err.Error() + "); checked again in " + calendarRetry.String()}, nil
	case err != nil:
		return nil, err
	case cal == nil:
		return nil, nil
	}
	st := cal.Open(at)
	if st.Open {
		return nil, nil
	}
	next := at.Add(calendarQuiet)
	msg := st.String() + "; no change window opens within " + "5 years, checked again in " + calendarQuiet.String()
	if o, ok := cal.Next(at); ok {
		next = o.Start
		msg = st.String() + "; waits for the change window opening " + next.UTC().Format(time.RFC3339)
		if o.Window != "" {
			msg += " (" + o.Window + ")"
		}
	}
	return &flow.State{Type: flow.TypeScheduled, Name: flow.NameAwaitingWindow, ScheduledAt: next, Message: msg}, nil
}

// windowGated reports whether a claim must check run r against its
// deployment's calendar: only its first start. A retry after a lost
// worker, a run resuming after an approval and a run an operator let
// through continue or start a change that was allowed to begin.
func windowGated(r store.FlowRun) bool {
	return r.Attempt <= 1 && r.State.Name != flow.NameResuming && r.State.Name != flow.NameWindowOverridden
}

// OverrideWindow implements store.WindowOverrider.
func (db *DB) OverrideWindow(ctx context.Context, id, by, reason string) (store.FlowRun, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return store.FlowRun{}, invalid("reason", "empty: say why the run may start outside its change window")
	}
	if err := checkText("reason", reason, "by", by); err != nil {
		return store.FlowRun{}, err
	}
	var run store.FlowRun
	err := db.tx(ctx, func(tx *sql.Tx) error {
		cur, err := db.getRun(ctx, tx, id, db.d.LockRows)
		if err != nil {
			return err
		}
		if cur.State.Name != flow.NameAwaitingWindow {
			return fmt.Errorf("run %s is %s: %w", id, cur.State.Name, store.ErrNotAwaitingWindow)
		}
		now := db.now()
		msg := "change window overridden by " + cmpOr(by, "(unknown)") + ": " + reason
		run, err = db.moveRun(ctx, tx, cur, flow.State{Type: flow.TypeScheduled, Name: flow.NameWindowOverridden, ScheduledAt: now, Message: msg}, nil)
		return err
	})
	if err != nil {
		return store.FlowRun{}, fmt.Errorf("override the change window of run %s: %w", id, err)
	}
	return run, nil
}

// recheckWindows makes the runs of deployments names that wait for their
// change window (AwaitingWindow, due later) due now, in tx, so that the
// next claim checks them against the calendar as it now stands: a freeze
// lifted or a window added brings them forward; a calendar still closed
// holds them again, recording why. Called when a deployment's calendar
// or a block a calendar names changes.
func (db *DB) recheckWindows(ctx context.Context, tx *sql.Tx, names []string, now time.Time) error {
	for _, name := range names {
		rows, err := db.queryTx(ctx, tx, `SELECT id, state FROM flow_runs WHERE deployment = $1 AND state_type = 'SCHEDULED'
			AND scheduled_at > $2 AND lease_expires = 0`, name, micros(now))
		if err != nil {
			return fmt.Errorf("find runs of deployment %q waiting for their window: %w", name, err)
		}
		var ids []string
		for rows.Next() {
			var id, state string
			if err := rows.Scan(&id, &state); err != nil {
				rows.Close()
				return fmt.Errorf("find runs of deployment %q waiting for their window: %w", name, err)
			}
			var st flow.State
			if json.Unmarshal([]byte(state), &st) == nil && st.Name == flow.NameAwaitingWindow {
				ids = append(ids, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("find runs of deployment %q waiting for their window: %w", name, err)
		}
		for _, id := range ids {
			if _, err := db.execTx(ctx, tx, `UPDATE flow_runs SET scheduled_at = $2 WHERE id = $1`, id, micros(now)); err != nil {
				return fmt.Errorf("recheck the window of run %s: %w", id, err)
			}
			db.touch(tx, id)
		}
	}
	return nil
}

// calendarUsers returns the names of the deployments whose calendar names
// block, read in tx.
func (db *DB) calendarUsers(ctx context.Context, tx *sql.Tx, block string) ([]string, error) {
	rows, err := db.queryTx(ctx, tx, `SELECT doc, paused, plan_gen FROM deployments`)
	if err != nil {
		return nil, fmt.Errorf("find the deployments whose calendar names block %q: %w", block, err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			return nil, fmt.Errorf("find the deployments whose calendar names block %q: %w", block, err)
		}
		if d.Calendar != nil && d.Calendar.Block == block {
			out = append(out, d.Name)
		}
	}
	return out, rows.Err()
}
