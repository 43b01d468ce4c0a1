package storetest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvPostgresDSN names the PostgreSQL database the tests use; .ci/run
// sets it.
const EnvPostgresDSN = "NETAUTO_TEST_POSTGRES_DSN"

// PostgresDSN returns $NETAUTO_TEST_POSTGRES_DSN, or skips t when it is
// not set.
func PostgresDSN(t testing.TB) string {
	d := os.Getenv(EnvPostgresDSN)
	if d == "" {
		if os.Getenv("NETAUTO_CI") != "" {
			// CI provides PostgreSQL: a skip there would hide a broken setup.
			t.Fatalf("%s is not set, but NETAUTO_CI is: .ci/run failed to start PostgreSQL", EnvPostgresDSN)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL store tests (.ci/run sets it)", EnvPostgresDSN)
	}
	return d
}

// TempSchema creates a schema of its own for t in the database dsn names,
// dropped when t ends, and returns dsn with search_path set to it, so
// that tests sharing one database do not collide.
func TempSchema(t testing.TB, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "netauto_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgresDSN, err)
	}
	t.Cleanup(func() { admin.Close() })
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	if !strings.Contains(dsn, "://") {
		return dsn + " search_path=" + schema
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s: not a URL", EnvPostgresDSN)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
