package source_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// hookEnvLauncher is a launcher whose runs get settings of their own, as
// the docker launcher's job template gives them.
type hookEnvLauncher struct {
	worker.Launcher
}

func (hookEnvLauncher) HookEnv(context.Context, store.FlowRun) ([]string, error) {
	return []string{"HOOK_SETTING=from-template"}, nil
}

const hookFlow = `package main

import (
	"context"
	"fmt"
	"os"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
)

var greet = flow.New("greet", func(ctx context.Context, p struct{}) (string, error) {
	return "hi", nil
}, flow.OnCompletion(func(ctx context.Context, ev flow.HookEvent) error {
	fmt.Printf("hook: setting=%s db=%s key=%s\n", os.Getenv("HOOK_SETTING"), os.Getenv("NETAUTO_DB"), os.Getenv("NETAUTO_API_KEY"))
	return nil
}))

func main() { agent.Main(greet) }
`

// The hooks of a Git-sourced run, run by the worker for a run the runtime
// ended, get the settings the run's launcher gives its runs, and nothing
// of the worker's own environment: not its database URL, not its API key
// (the binary is the repository's code).
func TestHooksGetTheRunsSettingsNotTheWorkers(t *testing.T) {
	t.Setenv("NETAUTO_DB", "postgres://netauto:hunter2@db/netauto")
	t.Setenv("NETAUTO_API_KEY", "worker-key-hunter2")
	repo := newTestRepo(t)
	commit := repo.Commit(hookFlow, "flow with a completion hook")
	h := newHarness(t, "")
	h.deploy("hooked", store.Source{Repository: repo.url(), Ref: commit, Entrypoint: "./cmd/flows"}, "")
	run := h.run("hooked", "")
	if run.State.Name != "Completed" {
		t.Fatalf("run %s: %s", run.ID, run.State)
	}
	l := &source.Launcher{Next: hookEnvLauncher{h.next}, Cache: h.cache, Store: h.st,
		Env: func(_ context.Context, r store.FlowRun) ([]string, error) {
			tok, _, err := h.srv.MintRunToken(context.Background(), store.FenceOf(r), time.Hour)
			return []string{"NETAUTO_API_URL=" + h.url, "NETAUTO_RUN_TOKEN=" + tok}, err
		}}
	if err := l.RunHooks(t.Context(), run); err != nil {
		t.Fatal(err)
	}
	logs := h.waitLogs(run.ID, "setting=from-template")
	if !strings.Contains(logs, "hook: setting=from-template db= key=") {
		t.Errorf("hook output:\n%s\nwant the template's setting and neither the worker's database URL nor its key", logs)
	}
	if strings.Contains(logs, "hunter2") {
		t.Errorf("the worker's credentials reached the hook:\n%s", logs)
	}
}
