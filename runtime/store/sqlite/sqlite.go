// Package sqlite is the embedded store driver: [store.Store] on a SQLite
// file through modernc.org/sqlite (pure Go, no cgo), the orchestrator's
// default, with nothing to install.
//
// The database runs in WAL mode with a busy timeout. All writes go through
// one connection (SQLite has one writer at a time; queueing them in the Go
// pool avoids lock contention and SQLITE_BUSY), each transaction starting
// with BEGIN IMMEDIATE; reads use a pool of read-only connections that
// never wait for the writer. The schema is migrated at Open.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"runtime"
	"strings"

	sqlite "modernc.org/sqlite"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Option tunes the SQLite driver.
type Option func(*config)

type config struct {
	sync    string
	readers int
}

// WithFullSync makes every commit wait for the disk (synchronous=FULL):
// a commit survives a power loss, at a large cost in commits per second.
// The default (synchronous=NORMAL in WAL mode) survives a crash of the
// process or the operating system's processes but may lose the last
// commits on power loss.
func WithFullSync() Option { return func(c *config) { c.sync = "FULL" } }

// WithReaders sets how many read connections are open at most (default:
// the number of CPUs, at least 4).
func WithReaders(n int) Option { return func(c *config) { c.readers = n } }

// Open opens (creating if needed) the store in the SQLite file at path and
// applies pending migrations. It fails with a *[store.KeyRequiredError]
// when the file holds encrypted values and opts.Key is nil.
func Open(ctx context.Context, path string, opts store.Options, options ...Option) (store.Store, error) {
	cfg := config{sync: "NORMAL", readers: max(4, runtime.NumCPU())}
	for _, o := range options {
		o(&cfg)
	}
	if strings.TrimSpace(path) == "" {
		return nil, &store.InvalidError{Field: "path", Reason: "empty"}
	}
	if path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, &store.InvalidError{Field: "path", Reason: fmt.Sprintf("%q: want a file path", path)}
	}
	if err := privateFile(path); err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	// A file: URI, so that the parameters below reach the driver; the
	// path is escaped, so that any file name works.
	uri := "file:" + (&url.URL{Path: path}).EscapedPath()
	pragmas := url.Values{}
	for _, p := range []string{
		"busy_timeout(10000)", // wait up to 10 s for another process's lock
		"journal_mode(WAL)",
		"synchronous(" + cfg.sync + ")",
		"foreign_keys(ON)",
		"cache_size(-32000)", // 32 MB page cache per connection
		"temp_store(MEMORY)",
	} {
		pragmas.Add("_pragma", p)
	}
	w, err := sql.Open("sqlite", uri+"?"+pragmas.Encode()+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	pragmas.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", uri+"?"+pragmas.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(cfg.readers)
	r.SetMaxIdleConns(cfg.readers)
	d := sqlstore.Dialect{Name: "sqlite", Prepare: true, Retryable: busy, Combine: true}
	sub, _ := fs.Sub(migrations, "migrations")
	db, err := sqlstore.Open(ctx, w, r, d, sub, opts)
	if err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	return db, nil
}

// busy reports SQLITE_BUSY and SQLITE_LOCKED: another process held the
// database longer than the busy timeout.
func busy(err error) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) {
		return false
	}
	switch se.Code() & 0xff {
	case 5, 6: // SQLITE_BUSY, SQLITE_LOCKED
		return true
	}
	return false
}

// privateFile creates the database file readable by its owner only
// (0600), before SQLite would create it with the process's umask: the
// store holds run parameters, results and logs. SQLite gives its -wal
// and -shm files the database file's mode. An existing file others may
// read is narrowed to 0600 (its -wal and -shm files too).
func privateFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		return f.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		return err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm()&0o077 == 0 || !fi.Mode().IsRegular() {
			continue
		}
		if err := os.Chmod(p, fi.Mode().Perm()&0o700); err != nil {
			return fmt.Errorf("narrow the mode of %s to its owner: %w", p, err)
		}
	}
	return nil
}
