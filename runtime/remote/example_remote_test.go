package remote_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/remote"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// An `execute` process runs one flow run and reports it to the server
// with the run token its worker minted.
func ExampleNewRecorder() {
	// The server side: an orchestrator with one deployment and a claimed run.
	dir, _ := os.MkdirTemp("", "netauto-example")
	defer os.RemoveAll(dir)
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	_ = st.ApplyPool(ctx, store.Pool{Name: "p", Type: "process"})
	_ = st.RegisterFlow(ctx, store.Flow{Name: "hello"})
	_, _ = st.ApplyDeployment(ctx, store.Deployment{Name: "hello", Flow: "hello", Pool: "p"})
	srv, _ := api.New(st, api.Options{})
	ts := httptest.NewServer(srv)
	defer ts.Close()
	admin, _ := client.New(ts.URL, client.Options{})
	_, _, _ = admin.CreateRun(ctx, "hello", wire.CreateRun{Parameters: json.RawMessage(`{}`)})
	run, _, _ := st.ClaimRun(ctx, store.Claim{Pool: "p", Worker: "w", Lease: time.Minute, Now: time.Now()})
	tok, _ := admin.MintRunToken(ctx, run.ID, 0)

	// The execute process: only the API URL, the run ID and the token.
	c, _ := client.New(ts.URL, client.Options{Token: tok.Token})
	rec := remote.NewRecorder(c, run.ID, store.RecorderOptions{})
	hello := flow.New("hello", func(ctx context.Context, _ struct{}) (string, error) {
		flow.Logger(ctx).Info("saying hello")
		return "hello", nil
	})
	out, err := hello.Execute(flow.WithEngine(ctx, &flow.Engine{Recorder: rec, Results: rec}),
		flow.Execution{RunID: run.ID, State: run.State, Attempt: 1})
	if err := rec.Close(); err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(out), err)

	stored, _ := admin.Run(ctx, run.ID)
	fmt.Println(stored.Run.State.Name)
	// Output:
	// "hello" <nil>
	// Completed
}
