package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// A generic event source signs each body with a shared secret; the
// server stores the event and the runs its triggers start in one
// transaction. A redelivery answers 200 with the same runs.
func ExampleHMACVerifier() {
	dir, _ := os.MkdirTemp("", "netauto-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	_ = st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"})
	_, _ = st.ApplyDeployment(ctx, store.Deployment{Name: "sync-device", Flow: "sync", Pool: "p"})

	secret := []byte("shared secret")
	srv, _ := api.New(st, api.Options{
		Sources: map[string]api.Verifier{"cmdb": &api.HMACVerifier{Secret: secret}},
		// The trigger table's matcher goes here; this one starts one run
		// per event.
		Match: func(ev store.Event) ([]store.RunSpec, error) {
			return []store.RunSpec{{Deployment: "sync-device", Parameters: json.RawMessage(`{}`)}}, nil
		},
	})
	ts := httptest.NewServer(srv)
	defer ts.Close()

	body := []byte(`{"id":"evt-1","type":"device.updated","data":{"kind":"Device"}}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	sig := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	var first []string
	for range 2 {
		req, _ := http.NewRequest("POST", ts.URL+"/api/v1/events/cmdb", bytes.NewReader(body))
		req.Header.Set("X-Netauto-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			log.Fatal(err)
		}
		var ans wire.EventAccepted
		_ = json.NewDecoder(resp.Body).Decode(&ans)
		resp.Body.Close()
		if first == nil {
			first = ans.RunIDs
		}
		fmt.Println(resp.StatusCode, ans.EventID, len(ans.RunIDs), ans.Duplicate, ans.RunIDs[0] == first[0])
	}
	// Output:
	// 202 evt-1 1 false true
	// 200 evt-1 1 true true
}
