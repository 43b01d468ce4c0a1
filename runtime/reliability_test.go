package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
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

// faultEnv is a faultapp server (no embedded worker, quick reaper) on a
// store, with its side table directory.
type faultEnv struct {
	bin, side string
	env       []string
	srv       *proctest.Proc
	c         *client.Client
}

func newFaultEnv(t *testing.T, db string) *faultEnv {
	t.Helper()
	f := &faultEnv{bin: proctest.Build(t, "./internal/faultapp"), side: t.TempDir()}
	f.env = []string{"NETAUTO_DB=" + db, "FAULTAPP_DIR=" + f.side, "NETAUTO_CHILD_ENV=FAULTAPP_DIR"}
	f.srv = proctest.StartServer(t, f.env, f.bin, "--no-worker", "--reap-interval", "300ms")
	f.env = append(f.env, "NETAUTO_API_URL="+f.srv.URL)
	if out, code := proctest.Run(t, f.env, f.bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	c, err := client.New(f.srv.URL, client.Options{Token: client.LocalKey(f.srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	f.c = c
	return f
}

func (f *faultEnv) worker(t *testing.T, launcher string, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Start(t, f.env, f.bin, append([]string{"worker", "--pool", "default", "--launcher", launcher, "--poll", "50ms"}, args...)...)
}

func (f *faultEnv) create(t *testing.T, dep, params string) store.FlowRun {
	t.Helper()
	run, _, err := f.c.CreateRun(context.Background(), dep, wire.CreateRun{Parameters: json.RawMessage(params)})
	if err != nil {
		t.Fatalf("create run of %s: %v", dep, err)
	}
	return run
}

func (f *faultEnv) final(t *testing.T, id string, d time.Duration) wire.RunDetail {
	t.Helper()
	var det wire.RunDetail
	waitFor(t, d, "run "+id+" to end", func() bool {
		var err error
		det, err = f.c.Run(context.Background(), id)
		return err == nil && det.Run.State.Final()
	})
	return det
}

// pidsOf returns the processes hold recorded for run (its own and its
// grandchild's), waiting until want are there.
func (f *faultEnv) pidsOf(t *testing.T, run string, want int) []int {
	t.Helper()
	var pids []int
	waitFor(t, 60*time.Second, fmt.Sprintf("%d processes of run %s", want, run), func() bool {
		pids = pids[:0]
		entries, _ := os.ReadDir(filepath.Join(f.side, "pids"))
		for _, e := range entries {
			if id, pid, ok := strings.Cut(e.Name(), "."); ok && id == run {
				n, _ := strconv.Atoi(pid)
				pids = append(pids, n)
			}
		}
		return len(pids) >= want
	})
	return pids
}

// conflicts returns the steps that ran twice at once.
func (f *faultEnv) conflicts(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(f.side, "conflicts"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// alive reports whether pid runs (a zombie waiting for its reaper does
// not).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return syscall.Kill(pid, 0) == nil
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z' && s[i+2] != 'X'
	}
	return true
}

// childrenOf returns the processes whose parent is pid, and theirs.
func childrenOf(pid int) []int {
	entries, _ := os.ReadDir("/proc")
	parent := map[int]int{}
	for _, e := range entries {
		n, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 {
			parent[n], _ = strconv.Atoi(f[1])
		}
	}
	var out []int
	frontier := []int{pid}
	for len(frontier) > 0 {
		p := frontier[0]
		frontier = frontier[1:]
		for c, pp := range parent {
			if pp == p {
				out = append(out, c)
				frontier = append(frontier, c)
			}
		}
	}
	return out
}

func waitDead(t *testing.T, what string, pids []int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var live []int
		for _, p := range pids {
			if alive(p) {
				live = append(live, p)
			}
		}
		if len(live) == 0 {
			return
		}
		if time.Now().After(deadline) {
			for _, p := range live {
				b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
				st, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p))
				t.Logf("live %d: %q %s", p, b, st)
				_ = syscall.Kill(p, syscall.SIGKILL)
			}
			t.Fatalf("%s: processes %v still run 10s after their worker was killed", what, live)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWorkerDeathKillsItsChildren: a process-launcher worker is SIGKILLed
// while its children execute runs, one of which started a process of its
// own. The children and the grandchild die with it; the runs are reaped
// and retried by another worker, which never meets an earlier execution
// of a step still running (no lock conflict); the run without retries
// ends Crashed and its OnCrashed hook runs, in the worker that took over.
// Before, the children ran on, unseen: a retry executed the step again,
// concurrently, and the crashed run's hooks never ran.
func TestWorkerDeathKillsItsChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	f := newFaultEnv(t, faultDB(t))
	victim := f.worker(t, "process", "--lease", "2s", "--concurrency", "2")
	held := f.create(t, "hold", `{"spawn":true}`)
	fragile := f.create(t, "fragile", `{}`)
	pids := append(f.pidsOf(t, held.ID, 2), f.pidsOf(t, fragile.ID, 1)...)
	for _, p := range pids {
		if !alive(p) {
			t.Fatalf("process %d of the runs is not running", p)
		}
	}
	// And its warm children (started ahead of demand, waiting for a run)
	// die with it too.
	var warm []int
	waitFor(t, 30*time.Second, "the worker's warm children", func() bool {
		warm = warm[:0]
		for _, c := range childrenOf(victim.Cmd.Process.Pid) {
			if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", c)); strings.Contains(string(b), "execute\x00"+wire.WarmArg) {
				warm = append(warm, c)
			}
		}
		return len(warm) == 2 // --concurrency 2 keeps 2 by default
	})
	pids = append(pids, warm...)
	victim.Signal(t, syscall.SIGKILL)
	_ = victim.Wait(t, 10*time.Second)
	waitDead(t, "children of the killed worker", pids)

	if err := os.WriteFile(filepath.Join(f.side, "release"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	f.worker(t, "process", "--lease", "2s")
	det := f.final(t, held.ID, 60*time.Second)
	if det.Run.State.Name != flow.NameCompleted || det.Run.Attempt != 2 {
		t.Fatalf("held run ended %s at attempt %d, want Completed at attempt 2", det.Run.State, det.Run.Attempt)
	}
	det = f.final(t, fragile.ID, 60*time.Second)
	if det.Run.State.Name != flow.NameCrashed {
		t.Fatalf("fragile run ended %s, want Crashed", det.Run.State)
	}
	waitFor(t, 30*time.Second, "the crashed run's OnCrashed hook", func() bool {
		_, err := os.Stat(filepath.Join(f.side, "hooks", fragile.ID+".Crashed"))
		return err == nil
	})
	if c := f.conflicts(t); len(c) > 0 {
		t.Fatalf("steps ran twice at once: %v", c)
	}
}

// TestKilledChildRunsCrashHooks: a child killed under a live worker (as
// the OOM killer does) ends its run Crashed, and the worker runs the
// flow's OnCrashed hook, which the dead child could not.
func TestKilledChildRunsCrashHooks(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	f := newFaultEnv(t, faultDB(t))
	f.worker(t, "process", "--lease", "3s")
	run := f.create(t, "fragile", `{}`)
	pids := f.pidsOf(t, run.ID, 1)
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	det := f.final(t, run.ID, 30*time.Second)
	if det.Run.State.Name != flow.NameCrashed || !strings.Contains(det.Run.State.Message, "signal killed") {
		t.Fatalf("run ended %s %q, want Crashed by a signal", det.Run.State.Name, det.Run.State.Message)
	}
	waitFor(t, 30*time.Second, "the OnCrashed hook", func() bool {
		_, err := os.Stat(filepath.Join(f.side, "hooks", run.ID+".Crashed"))
		return err == nil
	})
}

// TestTagLimitsHoldInChildren: runs of a step whose tag is limited to one
// slot execute in the children of two process-launcher workers; the step
// never runs twice at once. Before, children took no slot.
func TestTagLimitsHoldInChildren(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes")
	}
	f := newFaultEnv(t, faultDB(t))
	f.worker(t, "process", "--concurrency", "4")
	f.worker(t, "process", "--concurrency", "4")
	var ids []string
	for range 8 {
		ids = append(ids, f.create(t, "serial", `{"sleep_ms":150}`).ID)
	}
	for _, id := range ids {
		if det := f.final(t, id, 90*time.Second); det.Run.State.Name != flow.NameCompleted {
			t.Fatalf("run %s ended %s", id, det.Run.State)
		}
	}
	if c := f.conflicts(t); len(c) > 0 {
		t.Fatalf("the tag limited to one slot was held %d more times at once: %v", len(c), c)
	}
	execs, _ := sideTable(t, f.side)
	for _, id := range ids {
		if execs[id]["serial"] != 1 {
			t.Errorf("run %s: serial ran %d times", id, execs[id]["serial"])
		}
	}
}

// TestDatabaseRestartFailsNoRun: PostgreSQL restarts twice while an
// in-process worker and a process-launcher worker execute runs. No run
// fails, crashes or retries: every write in flight waits for the database
// and is made once it is back. Before, a run whose task completed during
// the restart ended Failed.
func TestDatabaseRestartFailsNoRun(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes and a PostgreSQL server")
	}
	pg := proctest.StartPostgres(t)
	f := newFaultEnv(t, pg.DSN)
	f.worker(t, "in-process", "--lease", "6s", "--concurrency", "8")
	f.worker(t, "process", "--lease", "6s", "--concurrency", "4")
	ctx := context.Background()
	var ids []string
	create := func(n int) {
		for range n {
			var run store.FlowRun
			err := store.RetryUnavailable(ctx, time.Minute, "create run", func(ctx context.Context) error {
				var err error
				run, _, err = f.c.CreateRun(ctx, "side", wire.CreateRun{Parameters: json.RawMessage(`{"sleep_ms":15}`), IdempotencyKey: flow.NewID()})
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, run.ID)
		}
	}
	create(60)
	for range 2 {
		waitFor(t, 60*time.Second, "runs in flight", func() bool {
			page, err := f.c.Runs(ctx, store.RunFilter{Deployment: "side", States: []flow.StateType{flow.TypeRunning}})
			return err == nil && len(page.Runs) >= 3
		})
		pg.Restart(t)
		create(60)
	}
	for _, id := range ids {
		det := f.final(t, id, 2*time.Minute)
		if det.Run.State.Name != flow.NameCompleted || det.Run.Attempt != 1 {
			t.Errorf("run %s ended %s %q at attempt %d, want Completed at attempt 1", id, det.Run.State.Name, det.Run.State.Message, det.Run.Attempt)
		}
		for _, s := range det.History {
			if s.Type == flow.TypeFailed || s.Type == flow.TypeCrashed {
				t.Errorf("run %s went through %s %q", id, s.Name, s.Message)
			}
		}
	}
	execs, _ := sideTable(t, f.side)
	for _, id := range ids {
		for _, step := range []string{"step1", "step2"} {
			if n := execs[id][step]; n != 1 {
				t.Errorf("run %s: %s executed %d times", id, step, n)
			}
		}
	}
	if c := f.conflicts(t); len(c) > 0 {
		t.Fatalf("steps ran twice at once: %v", c)
	}
}
