// Package postgres is the scale-out store driver: [store.Store] on
// PostgreSQL through github.com/jackc/pgx/v5, for several servers and
// many workers sharing one database. Semantics are the sqlite driver's:
// the storetest conformance suite runs against both.
//
// Claims lock candidate runs with FOR UPDATE SKIP LOCKED, so concurrent
// workers never wait on each other's rows; transactions failing on a
// serialization conflict or deadlock are retried. The schema is migrated
// at Open under an advisory lock, so servers starting together migrate
// once.
//
// A group commit of task-run events (store.Runs.Record) is sent as a pgx
// batch on the connection under database/sql's: BEGIN, its writes with
// the guards of what it assumed, COMMIT, in one round trip (two when it
// must read task runs another process wrote); see the store package's
// "write path".
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Advisory lock keys, arbitrary but fixed.
const (
	lockMigrate = 0x6e61_0001
	lockLogs    = 0x6e61_0002
)

// MaxConns is the default size of the connection pool.
const MaxConns = 16

// Open connects to the database dsn names (a postgres:// URL or a
// key=value string, as pgx accepts; a search_path parameter selects a
// schema) and applies pending migrations. It fails with a
// *[store.KeyRequiredError] when the database holds encrypted values and
// opts.Key is nil.
func Open(ctx context.Context, dsn string, opts store.Options) (store.Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN, password included.
		return nil, &store.InvalidError{Field: "dsn", Reason: "not a valid PostgreSQL connection string"}
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10_000_000_000 // 10 s
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("connect to postgres %s:%d/%s: %w", cfg.Host, cfg.Port, cfg.Database, err)
	}
	d := sqlstore.Dialect{
		Name:          "postgres",
		LockRows:      " FOR UPDATE",
		SkipLocked:    " FOR UPDATE OF r SKIP LOCKED",
		SerializeLogs: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockLogs),
		LockSlots:     "LOCK TABLE slots IN SHARE ROW EXCLUSIVE MODE",
		MigrateLock:   fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", lockMigrate),
		Notify:        "SELECT pg_notify('" + Channel + "', $1)",
		Listen:        listener(cfg),
		Retryable:     retryable,
		Pipeline:      pipeline,
	}
	sub, _ := fs.Sub(migrations, "migrations")
	s, err := sqlstore.Open(ctx, db, db, d, sub, opts)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	return s, nil
}

// retryable reports serialization failures and deadlocks.
// Channel is the LISTEN/NOTIFY channel on which every process sharing a
// database announces the runs its transactions changed (payload: run
// IDs, comma-separated), so that a run's watchers on another replica
// wake within milliseconds.
const Channel = "netauto_runs"

// listener returns the loop that receives the other processes'
// announcements on a connection of its own, reconnecting after a
// second when it breaks (watchers still read the store on their poll
// interval meanwhile).
func listener(cfg *pgx.ConnConfig) func(ctx context.Context, publish func(string)) {
	return func(ctx context.Context, publish func(string)) {
		for ctx.Err() == nil {
			conn, err := pgx.ConnectConfig(ctx, cfg)
			if err == nil {
				if _, err = conn.Exec(ctx, "LISTEN "+Channel); err == nil {
					for {
						n, err := conn.WaitForNotification(ctx)
						if err != nil {
							break
						}
						publish(n.Payload)
					}
				}
				_ = conn.Close(context.WithoutCancel(ctx))
			}
			t := time.NewTimer(time.Second)
			select {
			case <-ctx.Done():
				t.Stop()
			case <-t.C:
			}
		}
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// pipeline sends stmts in one round trip: a pgx batch on the pgx
// connection under database/sql's (see sqlstore.Dialect.Pipeline).
func pipeline(ctx context.Context, driverConn any, stmts []sqlstore.PipeStmt) error {
	c, ok := driverConn.(*stdlib.Conn)
	if !ok {
		return fmt.Errorf("pipeline: connection %T is not pgx's", driverConn)
	}
	var b pgx.Batch
	for _, st := range stmts {
		q := b.Queue(st.SQL, st.Args...)
		if row := st.Row; row != nil {
			q.Query(func(rows pgx.Rows) error {
				for rows.Next() {
					if err := row(rows.Scan); err != nil {
						return err
					}
				}
				return rows.Err()
			})
		}
	}
	return c.Conn().SendBatch(ctx, &b).Close()
}
