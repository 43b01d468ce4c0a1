package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// An in-process worker executes a deployment's run on the embedded store.
func ExampleWorker() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "netauto")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	_ = st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"})
	_, _ = st.ApplyDeployment(ctx, store.Deployment{Name: "hello", Flow: "hello", Pool: "default"})

	type params struct {
		Name string `json:"name"`
	}
	hello := flow.New("hello", func(_ context.Context, p params) (string, error) { return "hello " + p.Name, nil })
	reg, _ := worker.NewRegistry(hello)
	l := worker.NewInProcess(st, reg, store.RecorderOptions{}, store.LimiterOptions{})
	defer l.Close()
	w, err := worker.New(st, worker.Options{Pool: "default", Launcher: l, LauncherType: "in-process",
		Poll: 10 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		fmt.Println(err)
		return
	}
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- w.Run(wctx) }()

	run, _, _ := st.CreateRun(ctx, store.RunSpec{Deployment: "hello", Parameters: json.RawMessage(`{"name": "netauto"}`)})
	w.Wake()
	for {
		cur, _ := st.GetRun(ctx, run.ID)
		if cur.State.Final() {
			res, _, _ := st.RunResult(ctx, run.ID)
			fmt.Println(cur.State.Name, string(res))
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	// Output:
	// Completed "hello netauto"
}
