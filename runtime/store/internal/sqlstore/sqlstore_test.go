package sqlstore

import (
	"database/sql"
	"slices"
	"testing"
)

func TestChunks(t *testing.T) {
	prepared, direct := &DB{d: Dialect{Prepare: true}}, &DB{}
	tests := []struct {
		n                int
		prepared, direct []int
	}{
		{0, nil, nil},
		{1, []int{1}, []int{1}},
		{7, []int{4, 2, 1}, []int{7}},
		{64, []int{64}, []int{64}},
		{200, []int{64, 64, 64, 8}, []int{64, 64, 64, 8}},
		{130, []int{64, 64, 2}, []int{64, 64, 2}},
		{100, []int{64, 32, 4}, []int{64, 36}},
	}
	for _, tc := range tests {
		if got := prepared.chunks(tc.n); !slices.Equal(got, tc.prepared) {
			t.Errorf("prepared chunks(%d) = %v, want %v", tc.n, got, tc.prepared)
		}
		if got := direct.chunks(tc.n); !slices.Equal(got, tc.direct) {
			t.Errorf("direct chunks(%d) = %v, want %v", tc.n, got, tc.direct)
		}
	}
}

func TestPositional(t *testing.T) {
	if got := positional("INSERT INTO t VALUES ($1, $2), ($3, $4)"); got != "INSERT INTO t VALUES (?, ?), (?, ?)" {
		t.Fatalf("positional = %q", got)
	}
	for _, q := range hotStatements() {
		positional(q) // panics on a statement whose parameters are out of order
	}
	defer func() {
		if recover() == nil {
			t.Fatal("out-of-order parameters accepted")
		}
	}()
	positional("UPDATE t SET a = $2 WHERE id = $1")
}

// FuzzDecodeCursor: cursors come from API clients; any string decodes or
// fails with an InvalidError, never panics, and valid ones round-trip.
func FuzzDecodeCursor(f *testing.F) {
	f.Add(encodeCursor(1700000000000000, "0190-id"))
	f.Add(encodeCursor(0, "a", "b"))
	f.Add("")
	f.Add("!!!")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := decodeCursor(s, 1)
		if err != nil {
			return
		}
		back, err := decodeCursor(encodeCursor(c.T, c.Keys...), 1)
		if err != nil || back.T != c.T || !slices.Equal(back.Keys, c.Keys) {
			t.Fatalf("cursor %q does not round-trip: %+v vs %+v (%v)", s, c, back, err)
		}
	})
}

// A subscription taken while a transaction is open hears of that
// transaction's commit: the API's state followers subscribe lazily, and a
// change noted while nobody listened was lost, so that a follower
// arriving between the change and its commit waited for its poll.
func TestNotifyHearsTransactionsOpenBeforeSubscribing(t *testing.T) {
	db := &DB{}
	var tx *sql.Tx // the hub keys open transactions by pointer only
	db.touch(tx, "r1")
	var heard []string
	cancel := db.NotifyRuns(func(id string) { heard = append(heard, id) })
	defer cancel()
	db.hub.done(tx, true)
	if !slices.Equal(heard, []string{"r1"}) {
		t.Fatalf("heard %v, want [r1]", heard)
	}
	db.touch(tx, "r2")
	db.hub.done(tx, false)
	if !slices.Equal(heard, []string{"r1"}) {
		t.Fatalf("after a rollback heard %v, want only [r1]", heard)
	}
}
