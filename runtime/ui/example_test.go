package ui_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/ui"
)

// ExampleMount serves the web UI beside the API: "/" redirects to "/ui/",
// whose pages ask for an API key first.
func ExampleMount() {
	dir, _ := os.MkdirTemp("", "netauto-ui")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	keys, _, err := api.ParseKeys("ops:operator:na_example-operator-key-0123456789")
	if err != nil {
		log.Fatal(err)
	}
	srv, err := api.New(st, api.Options{Keys: keys})
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ui.Mount(srv, st, ui.Options{}); err != nil {
		log.Fatal(err)
	}
	for _, path := range []string{"/", "/ui/runs"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(path, rec.Code, rec.Header().Get("Location"))
	}
	// Output:
	// / 303 /ui/
	// /ui/runs 303 /ui/signin?next=%2Fui%2Fruns
}
