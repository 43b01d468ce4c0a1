package api_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// Serve the API with an API key, an Infrahub-style HMAC event source and
// a listen address check.
func ExampleNew() {
	dir, _ := os.MkdirTemp("", "netauto-example")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(context.Background(), filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// The operator configures the key's hash; the key itself stays with
	// the CLI user (NETAUTO_API_KEY).
	key := "na_example-key-0123456789abcdef"
	keys, err := api.NewKeySet(api.HashKey(key))
	if err != nil {
		log.Fatal(err)
	}
	srv, err := api.New(st, api.Options{
		Keys:    keys,
		Sources: map[string]api.Verifier{"generic": &api.HMACVerifier{Secret: []byte("shared secret")}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(api.CheckListenAddr("0.0.0.0:4200", srv.AuthEnabled()))
	fmt.Println(api.CheckListenAddr("0.0.0.0:4200", false) != nil)

	ts := httptest.NewServer(srv)
	defer ts.Close()
	for _, k := range []string{"", key} {
		req, _ := http.NewRequest("GET", ts.URL+"/api/v1/deployments", nil)
		if k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		resp.Body.Close()
		fmt.Println(resp.StatusCode)
	}
	// Output:
	// <nil>
	// true
	// 401
	// 200
}
