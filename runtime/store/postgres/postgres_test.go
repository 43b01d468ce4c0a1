package postgres_test

import (
	"context"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// opener gives each test a schema of its own.
func opener(t testing.TB) storetest.OpenFunc {
	dsn := storetest.TempSchema(t, storetest.PostgresDSN(t))
	return func(opts store.Options) (store.Store, error) {
		return postgres.Open(context.Background(), dsn, opts)
	}
}

func TestConformance(t *testing.T) {
	storetest.PostgresDSN(t)
	storetest.Run(t, opener)
}

func TestOpenBadDSN(t *testing.T) {
	_, err := postgres.Open(context.Background(), "postgres://u:s3cret@[::1", store.Options{})
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Open with a malformed DSN = %v, want an error without the password", err)
	}
}
