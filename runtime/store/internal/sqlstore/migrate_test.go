package sqlstore

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	_ "modernc.org/sqlite"

	"github.com/netauto-dev/netauto/runtime/store"
)

// base is the smallest schema Open needs (it counts encrypted values).
const base = `CREATE TABLE secrets (name TEXT PRIMARY KEY, value BLOB);
CREATE TABLE blocks (name TEXT PRIMARY KEY, secrets BLOB);
`

func TestMigrate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "m.db")
	open := func(files fstest.MapFS) (*sql.DB, error) {
		t.Helper()
		db, err := sql.Open("sqlite", "file:"+path)
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		t.Cleanup(func() { db.Close() })
		_, err = Open(context.Background(), db, db, Dialect{Name: "sqlite"}, files, store.Options{})
		return db, err
	}
	versions := func(db *sql.DB) string {
		rows, err := db.Query(`SELECT version FROM schema_migrations ORDER BY version`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var v string
			_ = rows.Scan(&v)
			out = append(out, v)
		}
		return strings.Join(out, ",")
	}
	v1 := fstest.MapFS{"0001_init.sql": {Data: []byte(base + "CREATE TABLE a (x INTEGER);\n")}}
	db, err := open(v1)
	if err != nil {
		t.Fatal(err)
	}
	if got := versions(db); got != "1" {
		t.Fatalf("versions = %s", got)
	}
	// A failing migration applies nothing of itself, and records nothing.
	broken := fstest.MapFS{
		"0001_init.sql":  v1["0001_init.sql"],
		"0002_more.sql":  {Data: []byte("CREATE TABLE b (y INTEGER);\nTHIS IS NOT SQL;\n")},
		"0003_after.sql": {Data: []byte("CREATE TABLE c (z INTEGER);\n")},
	}
	if db, err = open(broken); err == nil || !strings.Contains(err.Error(), "0002_more.sql") {
		t.Fatalf("broken migration: %v, want an error naming it", err)
	}
	if got := versions(db); got != "1" {
		t.Fatalf("after a failed migration versions = %s, want 1", got)
	}
	if _, err := db.Exec(`INSERT INTO b VALUES (1)`); err == nil {
		t.Fatal("a failed migration left its table behind")
	}
	// Fixed, it applies once; reopening applies nothing again.
	fixed := fstest.MapFS{
		"0001_init.sql":  v1["0001_init.sql"],
		"0002_more.sql":  {Data: []byte("CREATE TABLE b (y INTEGER);\n-- a comment; with a semicolon\nINSERT INTO b VALUES (1);\n")},
		"0003_after.sql": broken["0003_after.sql"],
	}
	for range 2 {
		if db, err = open(fixed); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT COUNT(*) FROM b`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("rows in b = %d (%v), want 1: migration 2 ran once", n, err)
	}
	if got := versions(db); got != "1,2,3" {
		t.Fatalf("versions = %s", got)
	}
	if _, err := open(fstest.MapFS{"init.sql": {Data: []byte(base)}}); err == nil {
		t.Fatal("a migration without a version number was accepted")
	}
}
