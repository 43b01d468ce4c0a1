package postgres_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// EnvDSN names the database the tests use; .ci/run sets it.
const EnvDSN = "NETAUTO_TEST_POSTGRES_DSN"

func dsn(t testing.TB) string {
	d := os.Getenv(EnvDSN)
	if d == "" {
		t.Skipf("%s is not set: skipping the PostgreSQL store tests (.ci/run sets it)", EnvDSN)
	}
	return d
}

// opener gives each test a schema of its own, dropped when it ends.
func opener(t testing.TB) storetest.OpenFunc {
	base := dsn(t)
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "netauto_test_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
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
	u := withParam(t, base, "search_path", schema)
	return func(opts store.Options) (store.Store, error) {
		return postgres.Open(context.Background(), u, opts)
	}
}

func withParam(t testing.TB, dsn, k, v string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			t.Fatalf("%s: not a URL", EnvDSN)
		}
		q := u.Query()
		q.Set(k, v)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return dsn + " " + k + "=" + v
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, opener)
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@[::1", store.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open with a malformed DSN = %v, want an error without the password", err)
	}
}
