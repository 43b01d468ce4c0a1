// Package sqlstore is the SQL implementation of store.Store that the
// sqlite and postgres drivers share. The drivers differ only in how they
// connect, their schema file and a [Dialect]; every query is written once
// here, with $N placeholders both databases accept.
package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// Dialect is what differs between the databases.
type Dialect struct {
	// Name names the database in messages.
	Name string
	// LockRows is appended to a SELECT whose rows the transaction will
	// update: " FOR UPDATE" on Postgres, "" on SQLite, where the single
	// writer connection already excludes other writers.
	LockRows string
	// SkipLocked is appended to the claim's candidate SELECT.
	SkipLocked string
	// SerializeLogs runs in a transaction before it inserts log records,
	// so that log IDs commit in ascending order and a reader following a
	// cursor never skips a record committed late ("" on SQLite).
	SerializeLogs string
	// LockSlots runs before concurrency slots are counted and taken, so
	// that two acquisitions cannot both see the last free slot ("" on
	// SQLite).
	LockSlots string
	// MigrateLock runs first in the migration transaction, so that
	// processes starting together migrate once ("" on SQLite).
	MigrateLock string
	// Prepare keeps statements prepared, once per connection of each
	// pool, and reuses them (for drivers without a statement cache of
	// their own, such as modernc SQLite, which otherwise parses every
	// query again; pgx caches prepared statements per connection itself).
	Prepare bool
	// Notify, when set, announces the runs a transaction changed to the
	// other processes on the database: it runs in the transaction, before
	// its commit, with the IDs comma-separated as $1 (PostgreSQL: SELECT
	// pg_notify(channel, $1), delivered at commit).
	Notify string
	// Listen, when set, receives the other processes' announcements: it
	// calls publish with each run ID until ctx ends, reconnecting as
	// needed. It runs from the first NotifyRuns subscription to Close.
	Listen func(ctx context.Context, publish func(runID string))
	// Retryable reports errors after which a whole transaction may be run
	// again (serialization failures, deadlocks, a busy database).
	Retryable func(error) bool
	// Combine runs concurrent write transactions as one, each in a
	// savepoint (see combiner): for a database with a single writer.
	Combine bool
	// Pipeline, when set, sends stmts in order in one round trip on
	// driverConn (a connection of the write pool, as sql.Conn.Raw hands
	// it over), calling each statement's Row for the rows it returns, and
	// returns the first error; statements after a failed one are not run.
	// Record then writes a batch of task-run events in one or two round
	// trips (BEGIN ... COMMIT sent as statements) instead of one per
	// statement (PostgreSQL: a pgx batch).
	Pipeline func(ctx context.Context, driverConn any, stmts []PipeStmt) error
}

// DB implements store.Store on database/sql.
type DB struct {
	w, r  *sql.DB
	stmts map[string]*sql.Stmt // Record's, prepared on w at Open, read-only after
	ws    stmtCache            // the other statements, prepared on w when first run
	rs    stmtCache            // prepared on r when first run
	hub   hub                  // announces committed changes of runs
	comb  combiner             // write transactions run together (Dialect.Combine)
	known knownTasks           // task runs the pipelined Record wrote last
	d     Dialect
	keys  store.Keyring
	now   func() time.Time
	cals  calendarCache // compiled change calendars (windows.go)
}

var _ store.Store = (*DB)(nil)

// Open applies the migrations in migrations (files NNNN_name.sql, applied
// in order, each once, recorded in schema_migrations) on w and returns the
// store. w is used for every write transaction, r for reads (they may be
// the same pool). It refuses a store holding encrypted values when
// opts.Key is nil.
func Open(ctx context.Context, w, r *sql.DB, d Dialect, migrations fs.FS, opts store.Options) (*DB, error) {
	db := &DB{w: w, r: r, d: d, keys: store.Keyring{Current: opts.Key, Previous: opts.PreviousKeys}, now: opts.Now}
	db.hub.listen, db.hub.origin = d.Listen, flow.NewID()
	if db.now == nil {
		db.now = time.Now
	}
	if err := db.migrate(ctx, migrations); err != nil {
		return nil, err
	}
	if d.Prepare {
		db.ws.pool, db.rs.pool = w, r
		db.stmts = make(map[string]*sql.Stmt)
		for _, q := range hotStatements() {
			st, err := w.PrepareContext(ctx, positional(q))
			if err != nil {
				db.closeStmts()
				return nil, fmt.Errorf("prepare statement: %w", err)
			}
			db.stmts[q] = st
		}
	}
	if db.keys.Current == nil {
		n, err := db.countEncrypted(ctx)
		if err != nil {
			db.closeStmts()
			return nil, err
		}
		if n > 0 {
			db.closeStmts()
			return nil, &store.KeyRequiredError{Encrypted: n}
		}
	}
	return db, nil
}

func (db *DB) closeStmts() {
	for _, st := range db.stmts {
		st.Close()
	}
	db.ws.close()
	db.rs.close()
}

// maxCached bounds each pool's statement cache: statements built from
// filters (lists with optional conditions) have many texts, of which
// those beyond the bound are prepared for each use, as without a cache.
const maxCached = 512

// stmtCache holds the statements prepared on one pool, by query text.
// A *sql.Stmt prepares itself on each connection of the pool the first
// time it runs there, and then reuses that connection's statement.
type stmtCache struct {
	pool *sql.DB // nil: no cache
	mu   sync.RWMutex
	m    map[string]*sql.Stmt
	want map[string]bool // met in a transaction, to prepare after it
}

// get returns the statement of q, preparing it if need be, or nil when q
// is to run unprepared (no cache, cache full, or preparing failed: then
// the query itself reports the error). Inside a transaction (inTx) a
// statement is not prepared on the pool, whose only connection may be
// the transaction's: it is noted, and prepared by [stmtCache.prepareWanted]
// once the transaction is over. No lock is held while a statement is
// prepared, which waits for a connection of the pool.
func (c *stmtCache) get(ctx context.Context, q string, inTx bool) *sql.Stmt {
	c.mu.RLock()
	st, ok := c.m[q]
	full := c.pool == nil || len(c.m)+len(c.want) >= maxCached
	c.mu.RUnlock()
	if ok || full {
		return st
	}
	if inTx {
		c.mu.Lock()
		if c.want == nil {
			c.want = make(map[string]bool)
		}
		c.want[q] = true
		c.mu.Unlock()
		return nil
	}
	return c.prepare(ctx, q)
}

// prepare prepares q on the pool and keeps it, unless another goroutine
// did so meanwhile.
func (c *stmtCache) prepare(ctx context.Context, q string) *sql.Stmt {
	c.mu.RLock()
	pool := c.pool
	c.mu.RUnlock()
	if pool == nil {
		return nil
	}
	st, err := pool.PrepareContext(ctx, q)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, ok := c.m[q]; ok || c.pool == nil {
		st.Close()
		return prev
	}
	if c.m == nil {
		c.m = make(map[string]*sql.Stmt)
	}
	c.m[q] = st
	return st
}

// prepareWanted prepares the statements met in transactions.
func (c *stmtCache) prepareWanted(ctx context.Context) {
	c.mu.Lock()
	var qs []string
	for q := range c.want {
		if _, ok := c.m[q]; !ok {
			qs = append(qs, q)
		}
	}
	c.want = nil
	c.mu.Unlock()
	for _, q := range qs {
		c.prepare(ctx, q)
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		st.Close()
	}
	c.m, c.want, c.pool = nil, nil, nil
}

// Close closes both pools.
func (db *DB) Close() error {
	db.hub.stopListening()
	db.closeStmts()
	err := db.w.Close()
	if db.r != db.w {
		err = errors.Join(err, db.r.Close())
	}
	return err
}

func (db *DB) migrate(ctx context.Context, migrations fs.FS) error {
	names, err := fs.Glob(migrations, "*.sql")
	if err != nil {
		return fmt.Errorf("list migrations: %w", err)
	}
	slices.Sort(names)
	return db.tx(ctx, func(tx *sql.Tx) error {
		if db.d.MigrateLock != "" {
			if _, err := tx.ExecContext(ctx, db.d.MigrateLock); err != nil {
				return fmt.Errorf("lock for migration: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("create schema_migrations: %w", err)
		}
		var current int64
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("read schema version: %w", err)
		}
		for _, name := range names {
			num, _, ok := strings.Cut(path.Base(name), "_")
			version, err := strconv.ParseInt(num, 10, 64)
			if !ok || err != nil || version < 1 {
				return fmt.Errorf("migration %s: name must start with a positive version number and _", name)
			}
			if version <= current {
				continue
			}
			body, err := fs.ReadFile(migrations, name)
			if err != nil {
				return fmt.Errorf("read migration %s: %w", name, err)
			}
			for _, stmt := range splitSQL(string(body)) {
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("migration %s: %w", name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name, applied) VALUES ($1, $2, $3)`, version, name, micros(db.now())); err != nil {
				return fmt.Errorf("record migration %s: %w", name, err)
			}
			current = version
		}
		return nil
	})
}

// splitSQL splits a migration into statements at semicolons ending a line.
// Migrations hold no semicolons inside literals.
func splitSQL(s string) []string {
	var out []string
	for part := range strings.SplitSeq(s, ";\n") {
		var lines []string
		for l := range strings.SplitSeq(part, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				lines = append(lines, l)
			}
		}
		if stmt := strings.TrimSuffix(strings.TrimSpace(strings.Join(lines, "\n")), ";"); stmt != "" {
			out = append(out, stmt)
		}
	}
	return out
}

func (db *DB) countEncrypted(ctx context.Context) (int, error) {
	var n int
	err := db.r.QueryRowContext(ctx, `SELECT (SELECT COUNT(*) FROM secrets) + (SELECT COUNT(*) FROM blocks WHERE secrets IS NOT NULL)`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("count encrypted values: %w", err)
	}
	return n, nil
}

// tx runs fn in a write transaction, committing if it returns nil. A
// transaction failing with a retryable error is run again, a few times.
// An error saying the database is unavailable (unreachable, restarting,
// busy beyond the retries) is returned as a *store.UnavailableError, whose
// message is the root cause only: a batch's transaction may fail while it
// handles one of several runs, and its error must not blame that run.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer db.ws.prepareWanted(context.WithoutCancel(ctx))
	for attempt := 0; ; attempt++ {
		err := db.tx1(ctx, fn)
		retryable := err != nil && db.d.Retryable != nil && db.d.Retryable(err)
		if err == nil || attempt == 4 || !retryable {
			if retryable || errors.Is(err, driver.ErrBadConn) {
				return &store.UnavailableError{Err: err}
			}
			return store.Unavailable(err)
		}
		t := time.NewTimer(time.Duration(1<<attempt) * 5 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return errors.Join(err, context.Cause(ctx))
		case <-t.C:
		}
	}
}

func (db *DB) tx1(ctx context.Context, fn func(*sql.Tx) error) (err error) {
	if db.d.Combine {
		return db.combine(ctx, fn)
	}
	defer func() {
		// database/sql rolls back when ctx ends and reports only that the
		// transaction is done: say why.
		if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
			err = fmt.Errorf("%w: %w", context.Cause(ctx), err)
		}
	}()
	tx, err := db.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		db.hub.done(tx, false)
		return err
	}
	if err := db.notifyOthers(ctx, tx); err != nil {
		_ = tx.Rollback()
		db.hub.done(tx, false)
		return err
	}
	if err := tx.Commit(); err != nil {
		db.hub.done(tx, false)
		return fmt.Errorf("commit: %w", err)
	}
	db.hub.done(tx, true)
	return nil
}

// positional rewrites $1, $2, ... as anonymous ? parameters, which SQLite
// binds without looking their names up. The parameters of q must appear
// once each, in order.
func positional(q string) string {
	var b strings.Builder
	next := 1
	for i := 0; i < len(q); i++ {
		if q[i] != '$' {
			b.WriteByte(q[i])
			continue
		}
		j := i + 1
		for j < len(q) && q[j] >= '0' && q[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(q[i+1 : j]); err != nil || n != next {
			panic(fmt.Sprintf("sqlstore: parameter %s out of order in %q", q[i:j], q))
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}

// stmt returns the prepared statement of q for tx (nil: the read pool),
// or nil to run q unprepared.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, q string) *sql.Stmt {
	if tx == nil {
		return db.rs.get(ctx, q, false)
	}
	st := db.stmts[q]
	if st == nil {
		st = db.ws.get(ctx, q, true)
	}
	if st == nil {
		return nil
	}
	// The write pool's statement, already prepared on the transaction's
	// connection after its first use there.
	return tx.StmtContext(ctx, st)
}

// execTx runs q in tx (nil: on the write pool outside a transaction),
// with its prepared statement if there is one.
func (db *DB) execTx(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if tx == nil {
		if st := db.ws.get(ctx, q, false); st != nil {
			return st.ExecContext(ctx, args...)
		}
		return db.w.ExecContext(ctx, q, args...)
	}
	ctx = db.stmtCtx(ctx, tx)
	if st := db.stmt(ctx, tx, q); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// queryTx runs q in tx (nil: on the read pool), with its prepared
// statement if there is one.
func (db *DB) queryTx(ctx context.Context, tx *sql.Tx, q string, args ...any) (*sql.Rows, error) {
	ctx = db.stmtCtx(ctx, tx)
	if st := db.stmt(ctx, tx, q); st != nil {
		return st.QueryContext(ctx, args...)
	}
	if tx == nil {
		return db.r.QueryContext(ctx, q, args...)
	}
	return tx.QueryContext(ctx, q, args...)
}

// row runs q, which returns at most one row, in tx (nil: on the read
// pool), with its prepared statement if there is one.
func (db *DB) row(ctx context.Context, tx *sql.Tx, q string, args ...any) *sql.Row {
	ctx = db.stmtCtx(ctx, tx)
	if st := db.stmt(ctx, tx, q); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	if tx == nil {
		return db.r.QueryRowContext(ctx, q, args...)
	}
	return tx.QueryRowContext(ctx, q, args...)
}

// micros is a time as stored: Unix microseconds, 0 for the zero time.
func micros(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMicro()
}

// fromMicros is the inverse of micros, in UTC.
func fromMicros(us int64) time.Time {
	if us == 0 {
		return time.Time{}
	}
	return time.UnixMicro(us).UTC()
}

func notFound(kind, name string) error { return &store.NotFoundError{Kind: kind, Name: name} }

func invalid(field, reason string) error { return &store.InvalidError{Field: field, Reason: reason} }

// placeholders returns "($k+1, ..., $k+cols), ..." for rows rows.
func placeholders(rows, cols int) string {
	var b strings.Builder
	n := 1
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		for c := range cols {
			if c > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			n++
		}
		b.WriteByte(')')
	}
	return b.String()
}
