package sqlstore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ApplyPool implements store.Workers.
func (db *DB) ApplyPool(ctx context.Context, p store.Pool) error {
	switch {
	case strings.TrimSpace(p.Name) == "":
		return invalid("name", "empty")
	case strings.TrimSpace(p.Type) == "":
		return invalid("type", "empty")
	case p.ConcurrencyLimit < 0:
		return invalid("concurrency_limit", "negative")
	}
	if err := checkText("name", p.Name, "type", p.Type, "description", p.Description); err != nil {
		return err
	}
	if err := checkInt32("concurrency_limit", p.ConcurrencyLimit); err != nil {
		return err
	}
	switch {
	case p.Lease < 0 || (p.Lease > 0 && p.Lease < store.MinLease):
		return invalid("lease", fmt.Sprintf("%s: want 0 (the default, %s) or at least %s", p.Lease, store.DefaultLease, store.MinLease))
	case p.Heartbeat < 0:
		return invalid("heartbeat", "negative")
	case p.Heartbeat > 0 && 2*p.Heartbeat > cmp.Or(p.Lease, store.DefaultLease):
		return invalid("heartbeat", fmt.Sprintf("%s: at most half the lease (%s)", p.Heartbeat, cmp.Or(p.Lease, store.DefaultLease)))
	}
	tmpl, err := jsonText("job_template", p.JobTemplate)
	if err != nil {
		return err
	}
	now := micros(db.now())
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO pools (name, type, description, job_template, paused, concurrency_limit, lease, heartbeat, created, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9)
			ON CONFLICT (name) DO UPDATE SET type = excluded.type, description = excluded.description, job_template = excluded.job_template,
				paused = excluded.paused, concurrency_limit = excluded.concurrency_limit, lease = excluded.lease, heartbeat = excluded.heartbeat,
				updated = excluded.updated`,
			p.Name, p.Type, p.Description, tmpl, b2i(p.Paused), p.ConcurrencyLimit, p.Lease.Microseconds(), p.Heartbeat.Microseconds(), now)
		if err != nil {
			return fmt.Errorf("apply pool %q: %w", p.Name, err)
		}
		return nil
	})
}

const poolCols = `name, type, description, job_template, paused, concurrency_limit, lease, heartbeat, created, updated`

func scanPool(s scanner) (store.Pool, error) {
	var (
		p                store.Pool
		tmpl             string
		paused           int
		lease, heartbeat int64
		created, upd     int64
	)
	if err := s.Scan(&p.Name, &p.Type, &p.Description, &tmpl, &paused, &p.ConcurrencyLimit, &lease, &heartbeat, &created, &upd); err != nil {
		return p, err
	}
	p.Lease, p.Heartbeat = time.Duration(lease)*time.Microsecond, time.Duration(heartbeat)*time.Microsecond
	p.JobTemplate = rawJSON(tmpl)
	p.Paused = paused != 0
	p.Created, p.Updated = fromMicros(created), fromMicros(upd)
	return p, nil
}

// GetPool implements store.Workers.
func (db *DB) GetPool(ctx context.Context, name string) (store.Pool, error) {
	p, err := scanPool(db.row(ctx, nil, `SELECT `+poolCols+` FROM pools WHERE name = $1`, name))
	if errors.Is(err, sql.ErrNoRows) {
		return p, notFound("pool", name)
	}
	if err != nil {
		return p, fmt.Errorf("read pool %q: %w", name, err)
	}
	return p, nil
}

// ListPools implements store.Workers.
func (db *DB) ListPools(ctx context.Context) ([]store.Pool, error) {
	return queryAll(ctx, db, "list pools", scanPool, `SELECT `+poolCols+` FROM pools ORDER BY name`)
}

// queryAll runs q and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, what string, scan func(scanner) (T, error), q string, args ...any) ([]T, error) {
	rows, err := db.queryTx(ctx, nil, q, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// ApplyQueue implements store.Workers.
func (db *DB) ApplyQueue(ctx context.Context, q store.Queue) error {
	if strings.TrimSpace(q.Name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", q.Name, "pool", q.Pool); err != nil {
		return err
	}
	if err := checkInt32("priority", q.Priority); err != nil {
		return err
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		var one int
		err := db.row(ctx, tx, `SELECT 1 FROM pools WHERE name = $1`, q.Pool).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("pool", q.Pool)
		}
		if err != nil {
			return fmt.Errorf("read pool %q: %w", q.Pool, err)
		}
		_, err = db.execTx(ctx, tx, `INSERT INTO queues (pool, name, priority, paused) VALUES ($1, $2, $3, $4)
			ON CONFLICT (pool, name) DO UPDATE SET priority = excluded.priority, paused = excluded.paused`,
			q.Pool, q.Name, q.Priority, b2i(q.Paused))
		if err != nil {
			return fmt.Errorf("apply queue %q of pool %q: %w", q.Name, q.Pool, err)
		}
		return nil
	})
}

// ListQueues implements store.Workers.
func (db *DB) ListQueues(ctx context.Context, pool string) ([]store.Queue, error) {
	return queryAll(ctx, db, "list queues", func(s scanner) (store.Queue, error) {
		var (
			q      store.Queue
			paused int
		)
		err := s.Scan(&q.Pool, &q.Name, &q.Priority, &paused)
		q.Paused = paused != 0
		return q, err
	}, `SELECT pool, name, priority, paused FROM queues WHERE pool = $1 ORDER BY priority, name`, pool)
}

// Heartbeat implements store.Workers.
func (db *DB) Heartbeat(ctx context.Context, w store.Worker) error {
	if strings.TrimSpace(w.Name) == "" {
		return invalid("name", "empty")
	}
	if err := checkText("name", w.Name, "pool", w.Pool); err != nil {
		return err
	}
	info, err := jsonText("info", w.Info)
	if err != nil {
		return err
	}
	if w.LastSeen.IsZero() {
		w.LastSeen = db.now()
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.execTx(ctx, tx, `INSERT INTO workers (name, pool, info, last_seen) VALUES ($1, $2, $3, $4)
			ON CONFLICT (name) DO UPDATE SET pool = excluded.pool, info = excluded.info, last_seen = excluded.last_seen`,
			w.Name, w.Pool, info, micros(w.LastSeen))
		if err != nil {
			return fmt.Errorf("heartbeat of worker %q: %w", w.Name, err)
		}
		return nil
	})
}

// ListWorkers implements store.Workers.
func (db *DB) ListWorkers(ctx context.Context, pool string) ([]store.Worker, error) {
	return queryAll(ctx, db, "list workers", func(s scanner) (store.Worker, error) {
		var (
			w    store.Worker
			info string
			seen int64
		)
		err := s.Scan(&w.Name, &w.Pool, &info, &seen)
		w.Info, w.LastSeen = rawJSON(info), fromMicros(seen)
		return w, err
	}, `SELECT name, pool, info, last_seen FROM workers WHERE $1 = '' OR pool = $1 ORDER BY name`, pool)
}
