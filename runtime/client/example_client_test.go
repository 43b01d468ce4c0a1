package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// startServer runs an API server with one deployment, "vlan-prod", on a
// SQLite store in a temporary directory, for the examples.
func startServer() (url string, stop func()) {
	dir, err := os.MkdirTemp("", "netauto-example")
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		log.Fatal(err)
	}
	type params struct {
		Device string `json:"device"`
		VLAN   int    `json:"vlan"`
	}
	_ = st.ApplyPool(ctx, store.Pool{Name: "default", Type: "process"})
	_ = st.RegisterFlow(ctx, store.Flow{Name: "vlan", Parameters: flow.SchemaFor[params]()})
	_, _ = st.ApplyDeployment(ctx, store.Deployment{Name: "vlan-prod", Flow: "vlan", Pool: "default"})
	srv, err := api.New(st, api.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	return ts.URL, func() { ts.Close(); st.Close(); os.RemoveAll(dir) }
}

// Create a run of a deployment; a retried request with the same
// idempotency key returns the same run.
func ExampleClient_CreateRun() {
	url, stop := startServer()
	defer stop()
	c, err := client.New(url, client.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	req := wire.CreateRun{Parameters: json.RawMessage(`{"device":"sw1","vlan":10}`), IdempotencyKey: "change-4711"}
	run, created, err := c.CreateRun(ctx, "vlan-prod", req)
	if err != nil {
		log.Fatal(err)
	}
	again, createdAgain, err := c.CreateRun(ctx, "vlan-prod", req)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(run.State.Name, created, createdAgain, again.ID == run.ID)
	// Output: Scheduled true false true
}

// Bad parameters come back as an *client.Error naming the field.
func ExampleError() {
	url, stop := startServer()
	defer stop()
	c, _ := client.New(url, client.Options{})
	_, _, err := c.CreateRun(context.Background(), "vlan-prod", wire.CreateRun{Parameters: json.RawMessage(`{"device":"sw1","vlan":"ten"}`)})
	var apiErr *client.Error
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.Status, apiErr.Field)
	}
	// Output: 422 parameters.vlan
}

// Follow a run's logs until it is final.
func ExampleClient_FollowLogs() {
	url, stop := startServer()
	defer stop()
	c, _ := client.New(url, client.Options{})
	ctx := context.Background()
	run, _, _ := c.CreateRun(ctx, "vlan-prod", wire.CreateRun{Parameters: json.RawMessage(`{"device":"sw1","vlan":10}`)})
	// Somebody cancels the run: a run no worker holds is Cancelled at once.
	if _, err := c.CancelRun(ctx, run.ID, "change window closed"); err != nil {
		log.Fatal(err)
	}
	final, err := c.FollowLogs(ctx, run.ID, 0, func(e store.LogEntry) error {
		fmt.Println(e.Message)
		return nil
	})
	fmt.Println(final.Name, err)
	// Output: Cancelled <nil>
}
