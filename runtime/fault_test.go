package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// killRuns is how many runs the kill-the-worker test executes. The issue
// asks for 1,000; on the 2 shared cores of CI, 1,000 runs with a worker
// killed and its runs reaped take well over a minute, so the test runs
// fewer (the mechanics — claim, lease, reap, retry with reused results —
// are the same for every run).
const killRuns = 1000

// killWorkers is how many worker processes share the store.
const killWorkers = 4

// faultDB returns the store of a fault test: a SQLite file, or a fresh
// schema of the Postgres database NETAUTO_TEST_POSTGRES_DSN names.
func faultDB(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("NETAUTO_TEST_POSTGRES_DSN")
	if dsn == "" {
		return filepath.Join(t.TempDir(), "netauto.db")
	}
	return postgresSchema(t, dsn)
}

func listAll(t *testing.T, c *client.Client, deployment string) []store.FlowRun {
	t.Helper()
	var all []store.FlowRun
	f := store.RunFilter{Deployment: deployment, Limit: 1000}
	for {
		page, err := c.Runs(context.Background(), f)
		if err != nil {
			t.Fatalf("list runs: %v", err)
		}
		all = append(all, page.Runs...)
		if page.Next == "" {
			return all
		}
		f.Cursor = page.Next
	}
}

// sideTable reads the side table: executions per flow run and task, and
// the processes that executed them.
func sideTable(t *testing.T, dir string) (execs map[string]map[string]int, pids map[string]bool) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	execs, pids = map[string]map[string]int{}, map[string]bool{}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "release" {
			continue // locks, conflicts, pids, hooks; hold's release marker
		}
		parts := strings.SplitN(e.Name(), ".", 3)
		if len(parts) != 3 {
			t.Fatalf("side table: odd file %q", e.Name())
		}
		if execs[parts[0]] == nil {
			execs[parts[0]] = map[string]int{}
		}
		execs[parts[0]][parts[1]]++
		pids[strings.SplitN(parts[2], "-", 2)[0]] = true
	}
	return execs, pids
}

// waitFor polls cond every 100ms until it holds or d passes.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func countFinal(runs []store.FlowRun) int {
	n := 0
	for _, r := range runs {
		if r.State.Final() {
			n++
		}
	}
	return n
}

// TestKillWorker: killWorkers worker processes share one store; one is
// SIGKILLed while it executes runs. Its runs are reaped Crashed when
// their 2s lease expires, retried elsewhere, and resume with the results
// of the tasks they completed. The side table written by the flow shows
// every run executed to completion exactly once: each run Completed, each
// task executed, a task executed again only in a retried run (at most
// once per lost attempt: the one in flight when the worker died).
func TestKillWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	bin := proctest.Build(t, "./internal/faultapp")
	side := t.TempDir()
	db := faultDB(t)
	env := []string{"NETAUTO_DB=" + db, "FAULTAPP_DIR=" + side}
	srv := proctest.StartServer(t, env, bin, "--no-worker", "--reap-interval", "300ms")
	env = append(env, "NETAUTO_API_URL="+srv.URL)
	if out, code := proctest.Run(t, env, bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	var workers []*proctest.Proc
	for range killWorkers {
		workers = append(workers, proctest.Start(t, env, bin, "worker", "--pool", "default", "--lease", "2s", "--poll", "50ms", "--concurrency", "4"))
	}
	c, err := client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range killRuns {
		if _, _, err := c.CreateRun(ctx, "side", wire.CreateRun{IdempotencyKey: fmt.Sprint("k", i), Parameters: json.RawMessage(`{"sleep_ms":150}`)}); err != nil {
			t.Fatalf("create run %d: %v", i, err)
		}
	}

	// Kill worker 0 while it holds runs, a third of the way in.
	victim := workers[0]
	tag := fmt.Sprintf("-%d-", victim.Cmd.Process.Pid)
	waitFor(t, 60*time.Second, "a third of the runs done and the victim holding runs", func() bool {
		runs := listAll(t, c, "side")
		if countFinal(runs) < killRuns/3 {
			return false
		}
		for _, r := range runs {
			if !r.State.Final() && strings.Contains(r.Worker, tag) {
				return true
			}
		}
		return false
	})
	victim.Signal(t, syscall.SIGKILL)
	_ = victim.Wait(t, 10*time.Second)

	waitFor(t, 90*time.Second, "every run final", func() bool { return countFinal(listAll(t, c, "side")) == killRuns })
	runs := listAll(t, c, "side")
	execs, pids := sideTable(t, side)
	retried := 0
	for _, r := range runs {
		if r.State.Name != flow.NameCompleted {
			t.Errorf("run %s ended %s (attempt %d)", r.ID, r.State, r.Attempt)
			continue
		}
		extra := 0
		for _, task := range []string{"step1", "step2"} {
			n := execs[r.ID][task]
			if n == 0 {
				t.Errorf("run %s completed but task %s never executed", r.ID, task)
			}
			extra += max(n-1, 0)
		}
		if extra > r.Attempt-1 {
			t.Errorf("run %s: %d task re-executions in %d attempts: completed task results were not reused", r.ID, extra, r.Attempt)
		}
		if r.Attempt > 1 {
			retried++
			d, err := c.Run(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.ContainsFunc(d.History, func(s flow.State) bool { return s.Type == flow.TypeCrashed }) {
				t.Errorf("run %s was retried (attempt %d) without being reaped Crashed: %v", r.ID, r.Attempt, d.History)
			}
		}
	}
	known := map[string]bool{}
	for _, r := range append(runs, listAll(t, c, "tick")...) { // a tick may fall due meanwhile
		known[r.ID] = true
	}
	for id := range execs {
		if !known[id] {
			t.Errorf("side table holds run %s, which the store does not know", id)
		}
	}
	if retried == 0 {
		t.Errorf("no run was retried: the killed worker held none")
	}
	if !pids[fmt.Sprint(victim.Cmd.Process.Pid)] {
		t.Errorf("the killed worker executed no task")
	}
	t.Logf("%d runs, %d retried after the kill", len(runs), retried)
	for _, w := range workers[1:] {
		w.Signal(t, syscall.SIGTERM)
		if err := w.Wait(t, 30*time.Second); err != nil {
			t.Errorf("worker after SIGTERM: %v", err)
		}
	}
}

// TestRestartServer: a server holding scheduled runs (the "tick"
// deployment's interval schedule, planned an hour ahead) and queued runs
// (due a few seconds later, one of them while the server is down) is
// stopped with SIGTERM and restarted on the same store. The queued runs
// still exist and complete; the scheduled runs are the same runs as
// before the restart, one per slot: none lost, none duplicated.
func TestRestartServer(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	bin := proctest.Build(t, "./internal/faultapp")
	env := []string{"NETAUTO_DB=" + faultDB(t), "FAULTAPP_DIR=" + t.TempDir()}
	args := []string{"--schedule-interval", "200ms", "--reap-interval", "300ms", "--poll", "100ms", "--lease", "2s", "--grace", "5s"}
	srv := proctest.StartServer(t, env, bin, args...)
	if out, code := proctest.Run(t, append(env, "NETAUTO_API_URL="+srv.URL), bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	c, err := client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var queued []string
	for _, in := range []time.Duration{0, 1500 * time.Millisecond, 4 * time.Second} {
		r, _, err := c.CreateRun(ctx, "side", wire.CreateRun{ScheduledAt: time.Now().Add(in)})
		if err != nil {
			t.Fatal(err)
		}
		queued = append(queued, r.ID)
	}
	var before []store.FlowRun
	waitFor(t, 30*time.Second, "the tick schedule planned and the first queued run completed", func() bool {
		before = listAll(t, c, "tick")
		d, err := c.Run(ctx, queued[0])
		return len(before) >= 30 && err == nil && d.Run.State.Name == flow.NameCompleted
	})
	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 30*time.Second); err != nil {
		t.Fatalf("server after SIGTERM: %v", err)
	}
	time.Sleep(2 * time.Second) // the second queued run falls due while no server runs

	srv = proctest.StartServer(t, env, bin, args...)
	c, err = client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 30*time.Second, "every queued run completed", func() bool {
		for _, id := range queued {
			d, err := c.Run(ctx, id)
			if err != nil {
				t.Fatalf("queued run %s after the restart: %v", id, err)
			}
			if d.Run.State.Name != flow.NameCompleted {
				return false
			}
		}
		return true
	})
	after := listAll(t, c, "tick")
	slots := map[int64]string{}
	for _, r := range after {
		k := r.ScheduledAt.UnixNano()
		if other, dup := slots[k]; dup {
			t.Errorf("slot %s has two runs: %s and %s", r.ScheduledAt, other, r.ID)
		}
		slots[k] = r.ID
	}
	for _, r := range before {
		if id, ok := slots[r.ScheduledAt.UnixNano()]; !ok || id != r.ID {
			t.Errorf("scheduled run %s at %s: after the restart the slot holds %q", r.ID, r.ScheduledAt, id)
		}
	}
	srv.Signal(t, syscall.SIGTERM)
	if err := srv.Wait(t, 30*time.Second); err != nil {
		t.Errorf("server after SIGTERM: %v", err)
	}
}
