package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// SetTagLimit implements store.Slots.
func (db *DB) SetTagLimit(ctx context.Context, tag string, limit int) error {
	switch {
	case strings.TrimSpace(tag) == "" || tag == "*":
		return invalid("tag", fmt.Sprintf("%q: empty", tag))
	case limit < 0:
		return invalid("limit", "negative")
	}
	if err := checkInt32("limit", limit); err != nil {
		return err
	}
	if err := checkText("tag", tag); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		if limit == 0 {
			_, err = db.execTx(ctx, tx, `DELETE FROM tag_limits WHERE tag = $1`, tag)
		} else {
			_, err = db.execTx(ctx, tx, `INSERT INTO tag_limits (tag, lim) VALUES ($1, $2) ON CONFLICT (tag) DO UPDATE SET lim = excluded.lim`, tag, limit)
		}
		if err != nil {
			return fmt.Errorf("set limit of tag %q: %w", tag, err)
		}
		return nil
	})
}

// TagLimits implements store.Slots.
func (db *DB) TagLimits(ctx context.Context) (map[string]int, error) {
	return db.tagLimits(ctx, nil)
}

func (db *DB) tagLimits(ctx context.Context, tx *sql.Tx) (map[string]int, error) {
	rows, err := db.queryTx(ctx, tx, `SELECT tag, lim FROM tag_limits`)
	if err != nil {
		return nil, fmt.Errorf("read tag limits: %w", err)
	}
	defer rows.Close()
	out := make(map[string]int)
	for rows.Next() {
		var (
			tag string
			n   int
		)
		if err := rows.Scan(&tag, &n); err != nil {
			return nil, fmt.Errorf("read tag limits: %w", err)
		}
		out[tag] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read tag limits: %w", err)
	}
	return out, nil
}

// AcquireSlots implements store.Slots.
func (db *DB) AcquireSlots(ctx context.Context, holder string, tags []string, until time.Time) (bool, error) {
	if holder == "" {
		return false, invalid("holder", "empty")
	}
	var ok bool
	err := db.tx(ctx, func(tx *sql.Tx) error {
		ok = false
		if db.d.LockSlots != "" {
			if _, err := db.execTx(ctx, tx, db.d.LockSlots); err != nil {
				return fmt.Errorf("lock slots: %w", err)
			}
		}
		limits, err := db.tagLimits(ctx, tx)
		if err != nil {
			return err
		}
		var limited []string
		for _, t := range tags {
			if store.TagLimit(limits, t) > 0 && !slices.Contains(limited, t) {
				limited = append(limited, t)
			}
		}
		now := micros(db.now())
		for _, t := range limited {
			var used int
			if err := db.row(ctx, tx, `SELECT COUNT(*) FROM slots WHERE tag = $1 AND expires > $2 AND holder <> $3`, t, now, holder).Scan(&used); err != nil {
				return fmt.Errorf("count slots of tag %q: %w", t, err)
			}
			if used >= store.TagLimit(limits, t) {
				return nil
			}
		}
		for _, t := range limited {
			if _, err := db.execTx(ctx, tx, `INSERT INTO slots (holder, tag, expires) VALUES ($1, $2, $3)
				ON CONFLICT (holder, tag) DO UPDATE SET expires = excluded.expires`, holder, t, micros(until)); err != nil {
				return fmt.Errorf("take slot of tag %q: %w", t, err)
			}
		}
		if _, err := db.execTx(ctx, tx, `DELETE FROM slots WHERE expires <= $1`, now); err != nil {
			return fmt.Errorf("drop expired slots: %w", err)
		}
		ok = true
		return nil
	})
	return ok, err
}

// RenewSlots implements store.Slots.
func (db *DB) RenewSlots(ctx context.Context, holder string, until time.Time) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.execTx(ctx, tx, `UPDATE slots SET expires = $2 WHERE holder = $1`, holder, micros(until)); err != nil {
			return fmt.Errorf("renew slots of %q: %w", holder, err)
		}
		return nil
	})
}

// ReleaseSlots implements store.Slots.
func (db *DB) ReleaseSlots(ctx context.Context, holder string) error {
	return db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.execTx(ctx, tx, `DELETE FROM slots WHERE holder = $1`, holder); err != nil {
			return fmt.Errorf("release slots of %q: %w", holder, err)
		}
		return nil
	})
}

// SlotsInUse implements store.Slots.
func (db *DB) SlotsInUse(ctx context.Context, tag string, now time.Time) (int, error) {
	var n int
	if err := db.row(ctx, nil, `SELECT COUNT(*) FROM slots WHERE tag = $1 AND expires > $2`, tag, micros(now)).Scan(&n); err != nil {
		return 0, fmt.Errorf("count slots of tag %q: %w", tag, err)
	}
	return n, nil
}
