package worker_test

import (
	"context"
	"os"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// A process worker: each run executes as `BINARY execute --run-id ID`,
// which reports over the API with the token the Env hook hands it; its
// output lines become the run's logs. Four children wait ahead of demand
// (`execute --warm`), each for exactly one run, handed its variables
// (token included) on its standard input.
func ExampleProcess() {
	var st store.Store // the worker's store (or the API client, for logs)
	mintToken := func(ctx context.Context, runID string) (string, error) { return "run-scoped-token", nil }
	l := &worker.Process{
		Logs:  st,
		Grace: 15 * time.Second,
		Env: func(ctx context.Context, run store.FlowRun) ([]string, error) {
			tok, err := mintToken(ctx, run.ID)
			if err != nil {
				return nil, err
			}
			return []string{"NETAUTO_API_URL=" + os.Getenv("NETAUTO_API_URL"), "NETAUTO_API_KEY=" + tok}, nil
		},
		Warm: 4,
	}
	defer l.Close() // kills the children still waiting
	_, _ = worker.New(st, worker.Options{Pool: "process-pool", Launcher: l, LauncherType: "process", Concurrency: 8})
}
