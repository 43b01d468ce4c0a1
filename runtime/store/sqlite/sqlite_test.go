package sqlite_test

import (
	"context"
	"errors"
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

func TestOpenInvalidPath(t *testing.T) {
	for _, p := range []string{"", ":memory:", "db?mode=ro"} {
		_, err := sqlite.Open(context.Background(), p, store.Options{})
		var ie *store.InvalidError
		if !errors.As(err, &ie) || ie.Field != "path" {
			t.Errorf("Open(%q) = %v, want *store.InvalidError for path", p, err)
		}
	}
}
