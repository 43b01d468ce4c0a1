package proctest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/netauto-dev/netauto/runtime/proctest"
)

// TestPostgresRestart: a test's own PostgreSQL answers, refuses
// connections while it is stopped and answers again after a restart.
func TestPostgresRestart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a PostgreSQL server")
	}
	pg := proctest.StartPostgres(t)
	ping := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, pg.DSN)
		if err != nil {
			return err
		}
		defer c.Close(ctx)
		return c.Ping(ctx)
	}
	if err := ping(); err != nil {
		t.Fatal(err)
	}
	pg.Stop(t, "fast")
	if err := ping(); err == nil {
		t.Fatal("a stopped PostgreSQL answered")
	}
	pg.Start(t)
	if err := ping(); err != nil {
		t.Fatal(err)
	}
}
