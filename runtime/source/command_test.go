package source_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// TestGitServerCommand drives the orchestrator's own command line: a
// server whose embedded process worker runs a Git-sourced deployment
// (--source-allow-file, --source-cache), created through the API although
// the orchestrator does not contain the flow.
func TestGitServerCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs an orchestrator")
	}
	r := newTestRepo(t)
	c := r.commit(flowVersion{Greeting: "from the command"})
	bin := proctest.Build(t, "../internal/faultapp")
	dir := t.TempDir()
	srv := proctest.StartServer(t, []string{"NETAUTO_DB=" + filepath.Join(dir, "db"), "GOFLAGS=-mod=mod"}, bin,
		"--launcher", "process", "--pool", "git", "--poll", "50ms", "--source-allow-file", "--source-cache", filepath.Join(dir, "cache"))
	ctx := context.Background()
	cl, err := client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	must(t, err)
	_, err = cl.ApplyDeployment(ctx, store.Deployment{Name: "greet", Flow: "greet", Pool: "git",
		Source: &store.Source{Repository: r.url(), Ref: "master", Entrypoint: "cmd/flows"}})
	must(t, err)
	run, _, err := cl.CreateRun(ctx, "greet", wire.CreateRun{Parameters: json.RawMessage(`{"name":"cli"}`)})
	must(t, err)
	deadline := time.Now().Add(3 * time.Minute)
	var d wire.RunDetail
	for {
		d, err = cl.Run(ctx, run.ID)
		must(t, err)
		if d.Run.State.Final() || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if d.Run.State.Type != flow.TypeCompleted || d.Run.SourceCommit != c {
		t.Fatalf("run: %s commit %q (want %s)\n%s", d.Run.State, d.Run.SourceCommit, c, srv.Output())
	}
	raw, err := cl.RunResult(ctx, run.ID)
	if err != nil || string(raw) != `"from the command cli"` {
		t.Errorf("result %s %v", raw, err)
	}
}
