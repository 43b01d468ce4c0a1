package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// AcceptEvent implements store.Events.
func (db *DB) AcceptEvent(ctx context.Context, ev store.Event, match func(store.Event) ([]store.RunSpec, error)) (store.Accepted, error) {
	switch {
	case strings.TrimSpace(ev.ID) == "":
		return store.Accepted{}, invalid("id", "empty")
	case strings.TrimSpace(ev.Source) == "":
		return store.Accepted{}, invalid("source", "empty")
	}
	if err := checkText("id", ev.ID, "source", ev.Source, "type", ev.Type); err != nil {
		return store.Accepted{}, err
	}
	payload, err := jsonText("payload", ev.Payload)
	if err != nil {
		return store.Accepted{}, err
	}
	if ev.Received.IsZero() {
		ev.Received = db.now()
	}
	ev.RunIDs = nil
	var acc store.Accepted
	err = db.tx(ctx, func(tx *sql.Tx) error {
		acc = store.Accepted{RunIDs: []string{}}
		res, err := db.execTx(ctx, tx, `INSERT INTO events (source, id, type, payload, received) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			ev.Source, ev.ID, ev.Type, payload, micros(ev.Received))
		if err != nil {
			return fmt.Errorf("store event: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var ids string
			if err := db.row(ctx, tx, `SELECT run_ids FROM events WHERE source = $1 AND id = $2`, ev.Source, ev.ID).Scan(&ids); err != nil {
				return fmt.Errorf("read accepted event: %w", err)
			}
			acc.Duplicate = true
			return json.Unmarshal([]byte(ids), &acc.RunIDs)
		}
		specs, err := match(ev)
		if err != nil {
			return fmt.Errorf("match event: %w", err)
		}
		for i, spec := range specs {
			if spec.Origin.Kind == "" {
				spec.Origin.Kind = store.OriginTrigger
			}
			run, created, err := db.createRun(ctx, tx, spec, createOpts{eventID: ev.ID, throttle: true})
			if err != nil {
				return fmt.Errorf("run %d of event: %w", i, err)
			}
			if created || run.ID != "" {
				acc.RunIDs = append(acc.RunIDs, run.ID)
			}
		}
		if _, err := db.execTx(ctx, tx, `UPDATE events SET run_ids = $3, matched = $4 WHERE source = $1 AND id = $2`,
			ev.Source, ev.ID, mustJSON(acc.RunIDs), b2i(len(acc.RunIDs) > 0)); err != nil {
			return fmt.Errorf("record runs of event: %w", err)
		}
		return nil
	})
	if err != nil {
		return store.Accepted{}, fmt.Errorf("accept event %s/%s: %w", ev.Source, ev.ID, err)
	}
	return acc, nil
}

// ListEvents implements store.Events.
func (db *DB) ListEvents(ctx context.Context, f store.EventFilter) ([]store.Event, string, error) {
	var w where
	if f.Source != "" {
		w.add("source = ?", f.Source)
	}
	if f.Type != "" {
		w.add("type = ?", f.Type)
	}
	if f.Unmatched {
		w.add("matched = 0")
	}
	if f.Cursor != "" {
		c, err := decodeCursor(f.Cursor, 2)
		if err != nil {
			return nil, "", err
		}
		w.add("(received, source, id) < (?, ?, ?)", c.T, c.Keys[0], c.Keys[1])
	}
	limit := pageSize(f.Limit, 100, 1000)
	out, err := queryAll(ctx, db, "list events", func(s scanner) (store.Event, error) {
		var (
			e            store.Event
			payload, ids string
			received     int64
		)
		if err := s.Scan(&e.Source, &e.ID, &e.Type, &payload, &received, &ids); err != nil {
			return e, err
		}
		e.Payload, e.Received = rawJSON(payload), fromMicros(received)
		return e, json.Unmarshal([]byte(ids), &e.RunIDs)
	}, `SELECT source, id, type, payload, received, run_ids FROM events`+w.String()+` ORDER BY received DESC, source DESC, id DESC LIMIT `+strconv.Itoa(limit+1), w.args...)
	if err != nil {
		return nil, "", err
	}
	var next string
	if len(out) > limit {
		out = out[:limit]
		last := out[limit-1]
		next = encodeCursor(micros(last.Received), last.Source, last.ID)
	}
	return out, next, nil
}

// PruneEvents implements store.Events.
func (db *DB) PruneEvents(ctx context.Context, before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := db.tx(ctx, func(tx *sql.Tx) error {
			res, err := db.execTx(ctx, tx, `DELETE FROM events WHERE (source, id) IN
				(SELECT source, id FROM events WHERE received < $1 ORDER BY received LIMIT `+strconv.Itoa(pruneBatch)+`)`, micros(before))
			if err != nil {
				return fmt.Errorf("prune events: %w", err)
			}
			n, err = res.RowsAffected()
			return err
		})
		if err != nil {
			return total, err
		}
		total += int(n)
		if n < pruneBatch {
			return total, nil
		}
	}
}
