package runtime_test

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
)

// TestWorkerWithWorkerKey: a standalone worker with the process launcher
// runs with a worker key bound to its pool (no admin key): it mints its
// children's run tokens, and its children get only the variables it
// passes (FAULTAPP_DIR here), and complete.
func TestWorkerWithWorkerKey(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	bin := proctest.Build(t, "./internal/faultapp")
	side := t.TempDir()
	const admin, workerKey = "na_YWRtaW4ta2V5LW9mLXRoZS10ZXN0LTAxMjM0", "na_d29ya2VyLWtleS1vZi10aGUtdGVzdC01Njc4"
	env := []string{"NETAUTO_DB=" + filepath.Join(t.TempDir(), "netauto.db"), "FAULTAPP_DIR=" + side,
		"NETAUTO_API_KEYS=root:admin:" + admin + ",w1:worker@default:" + workerKey}
	srv := proctest.StartServer(t, env, bin, "--no-worker")
	env = append(env, "NETAUTO_API_URL="+srv.URL)
	if out, code := proctest.Run(t, append(env, "NETAUTO_API_KEY="+admin), bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	w := proctest.Start(t, append(env, "NETAUTO_API_KEY="+workerKey), bin, "worker", "--pool", "default", "--launcher", "process",
		"--child-env", "FAULTAPP_DIR", "--poll", "50ms", "--lease", "5s")
	c, err := client.New(srv.URL, client.Options{Token: admin})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	run, _, err := c.CreateRun(ctx, "side", wire.CreateRun{Parameters: json.RawMessage(`{"sleep_ms":1}`)})
	if err != nil {
		t.Fatal(err)
	}
	var got wire.RunDetail
	waitFor(t, 60*time.Second, "the run to end", func() bool {
		got, err = c.Run(ctx, run.ID)
		return err == nil && got.Run.State.Final()
	})
	if got.Run.State.Name != flow.NameCompleted {
		t.Fatalf("run ended %s: %s\nworker output:\n%s", got.Run.State.Name, got.Run.State.Message, w.Output())
	}
	if len(got.TaskRuns) != 2 {
		t.Fatalf("task runs %+v", got.TaskRuns)
	}
}
