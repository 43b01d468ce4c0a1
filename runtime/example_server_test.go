package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A program embeds the orchestrator in its own main: its own HTTP
// routes and the orchestrator's API on one server, the scheduler and a
// worker running the program's flows in-process, on a SQLite store.
func ExampleServer() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "netauto-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	greet := flow.New("greet", func(_ context.Context, p struct {
		Name string `json:"name"`
	}) (string, error) {
		return "hello " + p.Name, nil
	})
	app := &runtime.App{Name: "hello", Flows: []flow.Definition{greet},
		Deployments: []store.Deployment{{Name: "greet", Flow: "greet", Pool: runtime.DefaultPool}}}

	st, err := runtime.OpenStore(ctx, "sqlite:"+filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	srv, err := runtime.NewServer(app, runtime.ServerOptions{
		Store:   st,
		Workers: []runtime.WorkerOptions{{Pool: runtime.DefaultPool, Concurrency: 2}},
	})
	if err != nil {
		panic(err)
	}

	// The program's routes next to the orchestrator's API (/api/v1/...).
	mux := http.NewServeMux()
	mux.HandleFunc("GET /hello", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "the program's own page") })
	mux.Handle("/api/", srv.Handler())
	ln, err := net.Listen("tcp", "127.0.0.1:0") // main would listen on its configured address
	if err != nil {
		panic(err)
	}
	hs := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()

	if err := srv.Start(ctx); err != nil {
		panic(err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		srv.Shutdown(sctx) // drains the worker: a program calls it on SIGTERM
	}()

	base := "http://" + ln.Addr().String()
	resp, err := http.Get(base + "/hello")
	if err != nil {
		panic(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(page))

	// No API key configured: the server made an admin key for the
	// program's own client.
	c, err := client.New(base, client.Options{Token: srv.LocalKey()})
	if err != nil {
		panic(err)
	}
	if _, err := c.ApplyDeployment(ctx, app.Deployments[0]); err != nil {
		panic(err)
	}
	run, _, err := c.CreateRun(ctx, "greet", wire.CreateRun{Parameters: json.RawMessage(`{"name":"world"}`)})
	if err != nil {
		panic(err)
	}
	state, err := c.FollowLogs(ctx, run.ID, 0, func(store.LogEntry) error { return nil }) // until the run ends
	if err != nil {
		panic(err)
	}
	result, err := c.RunResult(ctx, run.ID)
	if err != nil {
		panic(err)
	}
	fmt.Println(state.Name, string(result))
	// Output:
	// the program's own page
	// Completed "hello world"
}

// OpenStore takes the URL forms of NETAUTO_DB: a SQLite path (with or
// without sqlite:) or a postgres:// URL.
func ExampleOpenStore() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "netauto-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	st, err := runtime.OpenStore(ctx, "sqlite:"+filepath.Join(dir, "state", "netauto.db"), store.Options{})
	if err != nil {
		panic(err)
	}
	defer st.Close()
	if err := st.RegisterFlow(ctx, store.Flow{Name: "greet"}); err != nil {
		panic(err)
	}
	flows, err := st.ListFlows(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(flows), flows[0].Name)

	_, err = runtime.OpenStore(ctx, "mysql://root:secret@db/netauto", store.Options{})
	fmt.Println(err)
	// Output:
	// 1 greet
	// store url: scheme "mysql": want a SQLite path, sqlite:PATH or a postgres:// URL
}
