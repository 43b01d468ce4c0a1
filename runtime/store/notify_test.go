package store_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// Both drivers announce committed state changes and logs of flow runs,
// and nothing of a refused change; a cancelled subscription hears
// nothing more.
func TestNotifyRuns(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) {
		s := openSQLite(t)
		testNotifyRuns(t, s)
	})
	t.Run("postgres", func(t *testing.T) {
		s := openPostgres(t)
		testNotifyRuns(t, s)
	})
}

func testNotifyRuns(t *testing.T, s store.Store) {
	ctx := context.Background()
	n, ok := s.(store.RunNotifier)
	if !ok {
		t.Fatalf("%T does not implement store.RunNotifier", s)
	}
	var (
		mu   sync.Mutex
		seen []string
	)
	cancel := n.NotifyRuns(func(id string) {
		mu.Lock()
		seen = append(seen, id)
		mu.Unlock()
	})
	heard := func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
	a, _, err := s.CreateRun(ctx, store.RunSpec{Flow: "f", State: flow.Pending()})
	if err != nil {
		t.Fatal(err)
	}
	heard()
	if _, err := s.SetRunState(ctx, a.ID, flow.Running(), nil); err != nil {
		t.Fatal(err)
	}
	if got := heard(); !slices.Equal(got, []string{a.ID}) {
		t.Errorf("after Running: heard %v, want [%s]", got, a.ID)
	}
	if _, err := s.SetRunState(ctx, a.ID, flow.Scheduled(a.Created), nil); err == nil {
		t.Fatal("Running → Scheduled accepted")
	}
	if got := heard(); len(got) != 0 {
		t.Errorf("after a refused move: heard %v, want nothing", got)
	}
	if _, err := s.Record(ctx, nil, []flow.LogRecord{{RunID: a.ID, FlowRunID: a.ID, Message: "hello"}}); err != nil {
		t.Fatal(err)
	}
	if got := heard(); !slices.Contains(got, a.ID) {
		t.Errorf("after a log record: heard %v, want %s", got, a.ID)
	}
	cancel()
	cancel()
	if _, err := s.SetRunState(ctx, a.ID, flow.Completed(), nil); err != nil {
		t.Fatal(err)
	}
	if got := heard(); len(got) != 0 {
		t.Errorf("after cancel: heard %v, want nothing", got)
	}
}

// On PostgreSQL a change committed by one process reaches the
// subscribers of another on the same database (LISTEN/NOTIFY).
func TestNotifyRunsAcrossProcesses(t *testing.T) {
	dsn := storetest.TempSchema(t, storetest.PostgresDSN(t))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := postgres.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := postgres.Open(ctx, dsn, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	heard := make(chan string, 16)
	stop := b.(store.RunNotifier).NotifyRuns(func(id string) {
		select {
		case heard <- id:
		default:
		}
	})
	defer stop()
	run, _, err := a.CreateRun(ctx, store.RunSpec{Flow: "f", State: flow.Pending()})
	if err != nil {
		t.Fatal(err)
	}
	// b's listener may connect after a's first change: change the run
	// until b hears it (each change is announced at its commit).
	for _, s := range []flow.State{flow.Running(), flow.Paused(""), flow.Running(), flow.Completed()} {
		if _, err := a.SetRunState(ctx, run.ID, s, nil); err != nil {
			t.Fatal(err)
		}
		// The channel is the database's: stores of other schemas (other
		// tests, run in parallel) announce their own runs on it too.
		wait := time.After(2 * time.Second)
		for {
			select {
			case id := <-heard:
				if id != run.ID {
					continue
				}
				return
			case <-ctx.Done():
				t.Fatal("no announcement heard")
			case <-wait:
			}
			break
		}
	}
	t.Fatal("no announcement heard across processes")
}
