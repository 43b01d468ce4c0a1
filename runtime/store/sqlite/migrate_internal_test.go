package sqlite

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"testing/fstest"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/internal/sqlstore"
)

// A store of schema version 1 kept the scheduler's planning state in
// variables; version 2 moves it into schedule_states.
func TestMigrateScheduleStates(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "netauto.db")
	v1, err := fs.ReadFile(migrations, "migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	w, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	w.SetMaxOpenConns(1)
	old, err := sqlstore.Open(ctx, w, w, sqlstore.Dialect{Name: "sqlite"}, fstest.MapFS{"0001_init.sql": {Data: v1}}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	through := `{"cron:0 * * * *":"2026-03-02T16:00:00Z"}`
	if err := old.SetVariable(ctx, "netauto.scheduler.through/inv", []byte(through)); err != nil {
		t.Fatal(err)
	}
	if err := old.SetVariable(ctx, "kept", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	old.Close()

	s, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	states, err := s.ScheduleStates(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := states["inv"].Through["cron:0 * * * *"]; !got.Equal(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)) {
		t.Fatalf("migrated states %v", states)
	}
	vars, err := s.ListVariables(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := vars["netauto.scheduler.through/inv"]; ok || len(vars) != 1 {
		t.Fatalf("variables after migration %v, want only kept", vars)
	}
}
