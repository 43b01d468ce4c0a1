package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
)

func ExampleOpen() {
	key, err := store.KeyFromEnv()
	if err != nil {
		log.Fatal(err)
	}
	s, err := postgres.Open(context.Background(), os.Getenv("NETAUTO_DATABASE_URL"), store.Options{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
}
