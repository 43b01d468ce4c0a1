package sqlite_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

func opener(t testing.TB) storetest.OpenFunc {
	path := filepath.Join(t.TempDir(), "netauto.db")
	return func(opts store.Options) (store.Store, error) {
		return sqlite.Open(context.Background(), path, opts)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, opener)
}

// TestOpenAnyFileName: spaces, percent signs and question marks in a path
// name a file, not URI syntax.
func TestOpenAnyFileName(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "my data%20?#x")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "net auto.db")
	s, err := sqlite.Open(context.Background(), path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.RegisterFlow(context.Background(), store.Flow{Name: "f"}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("store not at the path given: %v", err)
	}
}

func TestOpenInvalidPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "file:x.db?mode=ro"} {
		_, err := sqlite.Open(context.Background(), p, store.Options{})
		var ie *store.InvalidError
		if !errors.As(err, &ie) || ie.Field != "path" {
			t.Errorf("Open(%q) = %v, want *store.InvalidError for path", p, err)
		}
	}
}
