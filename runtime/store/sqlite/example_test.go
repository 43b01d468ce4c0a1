package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

func ExampleOpen() {
	dir, err := os.MkdirTemp("", "netauto")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	key, err := store.KeyFromEnv() // NETAUTO_SECRET_KEY or NETAUTO_SECRET_KEY_FILE; nil if unset
	if err != nil {
		log.Fatal(err)
	}
	s, err := sqlite.Open(context.Background(), filepath.Join(dir, "netauto.db"), store.Options{Key: key})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	flows, err := s.ListFlows(context.Background())
	fmt.Println(len(flows), err)
	// Output: 0 <nil>
}
