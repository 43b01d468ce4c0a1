package runtime

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// OpenStore opens the store that url names:
//
//	postgres://user:pass@host/db?sslmode=...   PostgreSQL (also postgresql://)
//	sqlite:PATH, sqlite:///abs/path            a SQLite file
//	PATH                                       a SQLite file (no scheme)
//
// A SQLite file's directory is created (mode 0700) when missing. opts
// carry the secret key ([store.KeyFromEnv] reads the command line's);
// the zero Options open a store without one. The caller closes the
// store. A bad url is an error naming the field "store url" that never
// repeats the URL, which may hold a password.
func OpenStore(ctx context.Context, url string, opts store.Options) (store.Store, error) {
	kind, path, err := parseStoreURL(url)
	if err != nil {
		return nil, err
	}
	if kind == "postgres" {
		st, err := postgres.Open(ctx, url, opts)
		if err != nil {
			return nil, fmt.Errorf("open postgres store: %w", err) // the DSN may hold a password: not repeated
		}
		return st, nil
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store directory: %w", err)
		}
	}
	return sqlite.Open(ctx, path, opts) // its errors name the path
}

// StoreURLError is a store URL [OpenStore] cannot open.
type StoreURLError struct{ Reason string }

func (e *StoreURLError) Error() string { return "store url: " + e.Reason }

// parseStoreURL returns "postgres" or "sqlite" and, for SQLite, the file
// path.
func parseStoreURL(s string) (kind, path string, err error) {
	switch {
	case strings.TrimSpace(s) == "":
		return "", "", &StoreURLError{Reason: "empty: want a SQLite path, sqlite:PATH or a postgres:// URL"}
	case isPostgres(s):
		return "postgres", "", nil
	case strings.HasPrefix(s, "sqlite:"):
		path = strings.TrimPrefix(s, "sqlite:")
		if rest, ok := strings.CutPrefix(path, "//"); ok {
			path = rest // sqlite:///abs/path, sqlite://relative.db
		}
		if u, err := url.PathUnescape(path); err == nil {
			path = u
		}
		if strings.TrimSpace(path) == "" {
			return "", "", &StoreURLError{Reason: "sqlite: without a file path"}
		}
		return "sqlite", path, nil
	}
	if i := strings.Index(s, "://"); i > 0 && !strings.ContainsAny(s[:i], `/\`) {
		return "", "", &StoreURLError{Reason: fmt.Sprintf("scheme %q: want a SQLite path, sqlite:PATH or a postgres:// URL", s[:i])}
	}
	return "sqlite", s, nil
}

// openStore opens the store db names with the secret keys of the
// environment, for the commands.
func openStore(ctx context.Context, db string) (store.Store, error) {
	key, err := store.KeyFromEnv()
	if err != nil {
		return nil, err
	}
	prev, err := store.PreviousKeysFromEnv()
	if err != nil {
		return nil, err
	}
	st, err := OpenStore(ctx, db, store.Options{Key: key, PreviousKeys: prev})
	var ue *StoreURLError
	if err != nil && (errors.Is(err, os.ErrPermission) || errors.As(err, &ue)) {
		return nil, fmt.Errorf("%w: set %s (or --db) to a writable SQLite path or a postgres:// URL", err, EnvDB)
	}
	return st, err
}
