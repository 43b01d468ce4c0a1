package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite"
)

// Concurrent write transactions run as one (Dialect.Combine), each with
// the outcome it would have alone: a failing one is rolled back to its
// savepoint without its neighbours, one whose context ended before its
// turn does not run, and only the committed ones' runs are announced.
func TestCombinedTransactions(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "c.db")
	open := func() *sql.DB {
		d, err := sql.Open("sqlite", path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_txlock=immediate")
		if err != nil {
			t.Fatal(err)
		}
		d.SetMaxOpenConns(1)
		t.Cleanup(func() { d.Close() })
		return d
	}
	w, r := open(), open()
	db := &DB{w: w, r: r, d: Dialect{Combine: true}, now: time.Now}
	if _, err := w.Exec(`CREATE TABLE t (v TEXT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		heard []string
	)
	defer db.NotifyRuns(func(id string) { mu.Lock(); heard = append(heard, id); mu.Unlock() })()
	insert := func(v string, fail error) func(*sql.Tx) error {
		return func(tx *sql.Tx) error {
			if _, err := db.execTx(ctx, tx, `INSERT INTO t (v) VALUES ($1)`, v); err != nil {
				return err
			}
			db.touch(tx, "run-"+v)
			return fail
		}
	}

	// a holds the writer while the others queue behind it.
	started, release := make(chan struct{}), make(chan struct{})
	var wg sync.WaitGroup
	errs := map[string]error{}
	var errMu sync.Mutex
	do := func(name string, ctx context.Context, fn func(*sql.Tx) error) {
		wg.Go(func() {
			err := db.tx(ctx, fn)
			errMu.Lock()
			errs[name] = err
			errMu.Unlock()
		})
	}
	do("a", ctx, func(tx *sql.Tx) error {
		close(started)
		<-release
		return insert("a", nil)(tx)
	})
	<-started
	refused := errors.New("refused by c")
	var seenUncommitted bool
	gone, cancel := context.WithCancel(ctx)
	cancel()
	do("b", ctx, insert("b", nil))
	waitQueued(t, db, 1)
	do("c", ctx, insert("c", refused))
	waitQueued(t, db, 2)
	do("e", gone, insert("e", nil))
	waitQueued(t, db, 3)
	do("d", ctx, func(tx *sql.Tx) error {
		// b's row is in this transaction, not yet in the database.
		var n int
		if err := r.QueryRow(`SELECT COUNT(*) FROM t WHERE v = 'b'`).Scan(&n); err != nil {
			return err
		}
		seenUncommitted = n == 0
		return insert("d", nil)(tx)
	})
	waitQueued(t, db, 4)
	close(release)
	wg.Wait()

	for name, want := range map[string]error{"a": nil, "b": nil, "c": refused, "d": nil, "e": context.Canceled} {
		if got := errs[name]; !errors.Is(got, want) || (want == nil && got != nil) {
			t.Errorf("transaction %s: err = %v, want %v", name, got, want)
		}
	}
	rows, err := r.Query(`SELECT v FROM t ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var v string
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	rows.Close()
	if !slices.Equal(got, []string{"a", "b", "d"}) {
		t.Errorf("rows %v, want [a b d]", got)
	}
	if !seenUncommitted {
		t.Error("b's row was committed before d ran: b, c, d did not share a transaction")
	}
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(heard)
	if !slices.Equal(heard, []string{"run-a", "run-b", "run-d"}) {
		t.Errorf("announced %v, want [run-a run-b run-d]", heard)
	}
}

// waitQueued waits until n transactions wait behind the running batch.
func waitQueued(t *testing.T, db *DB, n int) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); ; runtime.Gosched() {
		db.comb.mu.Lock()
		q := len(db.comb.queue)
		db.comb.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d transactions queued, want %d", q, n)
		}
	}
}
