package runtime_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// chaosRuns bounds the runs the chaos test creates: enough to keep every
// worker busy through each fault, few enough for CI's two cores.
const chaosRuns = 400

// loadGen creates runs of the side deployment through two servers, one
// every tick, each with an idempotency key: a request the answer of
// which was lost (its server died) is sent again, to the other server,
// and returns the run the first one created.
type loadGen struct {
	clients [2]*client.Client
	mu      sync.Mutex
	ids     map[string]string // idempotency key → run ID
	errs    []error
}

func (g *loadGen) setClient(i int, c *client.Client) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.clients[i] = c
}

func (g *loadGen) create(ctx context.Context, n int) {
	key := fmt.Sprintf("chaos-%d", n)
	var run store.FlowRun
	try := n
	err := store.RetryUnavailable(ctx, 2*time.Minute, "create run "+key, func(ctx context.Context) error {
		g.mu.Lock()
		c := g.clients[try%2]
		g.mu.Unlock()
		try++
		var err error
		run, _, err = c.CreateRun(ctx, "side", wire.CreateRun{Parameters: json.RawMessage(`{"sleep_ms":40}`), IdempotencyKey: key})
		return err
	})
	g.mu.Lock()
	defer g.mu.Unlock()
	if err != nil {
		g.errs = append(g.errs, err)
		return
	}
	g.ids[key] = run.ID
}

func (g *loadGen) created() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.ids))
	for k, v := range g.ids {
		out[k] = v
	}
	return out
}

// TestChaos: two servers and three workers (one in-process, two with the
// process launcher, each reporting to one server) share a PostgreSQL of
// the test's own under continuous load. PostgreSQL restarts twice; a
// process-launcher worker is SIGKILLed while it holds runs; a server is
// SIGKILLed and restarted on its address, as its supervisor would. Then:
// every run whose creation was answered exists and ended Completed; no
// run went through Failed; only the killed worker's runs were retried;
// no step ran twice at once, nor again after it had completed; and no
// process of the killed worker outlived it.
func TestChaos(t *testing.T) {
	if testing.Short() {
		t.Skip("real processes and a PostgreSQL server")
	}
	pg := proctest.StartPostgres(t)
	f := &faultEnv{bin: proctest.Build(t, "./internal/faultapp"), side: t.TempDir()}
	// Replicas share the secret that signs run tokens: a child's token
	// outlives the server that minted it.
	base := []string{"NETAUTO_DB=" + pg.DSN, "FAULTAPP_DIR=" + f.side, "NETAUTO_CHILD_ENV=FAULTAPP_DIR", "NETAUTO_TOKEN_SECRET=chaos-test-token-secret-0123456789abcdef"}
	serverArgs := []string{"--no-worker", "--reap-interval", "300ms", "--schedule-interval", "1s"}
	srvA := proctest.StartServer(t, base, f.bin, serverArgs...)
	srvB := proctest.StartServer(t, base, f.bin, serverArgs...)
	f.env = append(base, "NETAUTO_API_URL="+srvA.URL)
	if out, code := proctest.Run(t, f.env, f.bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	ca, err := client.New(srvA.URL, client.Options{Token: client.LocalKey(srvA.URL)})
	if err != nil {
		t.Fatal(err)
	}
	cb, err := client.New(srvB.URL, client.Options{Token: client.LocalKey(srvB.URL)})
	if err != nil {
		t.Fatal(err)
	}
	f.c = ca
	workerArgs := func(name, launcher string) []string {
		return []string{"worker", "--pool", "default", "--name", name, "--launcher", launcher, "--lease", "4s", "--poll", "50ms", "--concurrency", "6"}
	}
	proctest.Start(t, f.env, f.bin, workerArgs("w-inproc", "in-process")...)
	victim := proctest.Start(t, f.env, f.bin, workerArgs("w-proc-a", "process")...)
	proctest.Start(t, append(base, "NETAUTO_API_URL="+srvB.URL), f.bin, workerArgs("w-proc-b", "process")...)

	ctx, stopLoad := context.WithCancel(context.Background())
	defer stopLoad()
	g := &loadGen{ids: map[string]string{}}
	g.setClient(0, ca)
	g.setClient(1, cb)
	var load sync.WaitGroup
	load.Go(func() {
		tick := time.NewTicker(40 * time.Millisecond)
		defer tick.Stop()
		var creates sync.WaitGroup
		defer creates.Wait()
		for n := range chaosRuns {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			creates.Go(func() { g.create(context.Background(), n) })
		}
	})
	completed := func() int {
		n := 0
		for _, r := range listAll(t, ca, "side") {
			if r.State.Name == flow.NameCompleted {
				n++
			}
		}
		return n
	}
	progress := func(n int, what string) {
		target := completed() + n
		waitFor(t, 2*time.Minute, fmt.Sprintf("%d more runs completed (%s)", n, what), func() bool { return completed() >= target })
	}

	progress(30, "before the faults")
	t.Log("restarting PostgreSQL")
	pg.Restart(t)
	progress(30, "after the first restart")

	// Kill the process-launcher worker while it holds runs. Its runs are
	// short: the worker and its children are stopped first, and killed
	// only if the store still shows runs held by the worker (else they go
	// on and the test looks again), so that the kill always catches some.
	held := func() int {
		n := 0
		for _, r := range listAll(t, ca, "side") {
			if r.Worker == "w-proc-a" && !r.State.Final() {
				n++
			}
		}
		return n
	}
	var children []int
	for {
		waitFor(t, time.Minute, "the victim to hold runs", func() bool { return held() > 0 })
		children = childrenOf(victim.Cmd.Process.Pid)
		frozen := append([]int{victim.Cmd.Process.Pid}, children...)
		for _, pid := range frozen {
			_ = syscall.Kill(pid, syscall.SIGSTOP)
		}
		if held() > 0 {
			break
		}
		for _, pid := range frozen {
			_ = syscall.Kill(pid, syscall.SIGCONT)
		}
	}
	killed := time.Now()
	victim.Signal(t, syscall.SIGKILL)
	_ = victim.Wait(t, 10*time.Second)
	waitDead(t, "processes of the killed worker", children)
	for _, l := range strings.Split(victim.Output(), "\n") {
		if strings.Contains(l, "lease") {
			t.Logf("victim: %s", l)
		}
	}
	t.Logf("killed worker w-proc-a with %d child processes; all gone", len(children))

	// Kill a server, and restart it on its address.
	addrB := strings.TrimPrefix(srvB.URL, "http://")
	srvB.Signal(t, syscall.SIGKILL)
	_ = srvB.Wait(t, 10*time.Second)
	srvB = proctest.StartServer(t, base, f.bin, append([]string{"--listen", addrB}, serverArgs...)...)
	if srvB.URL != "http://"+addrB {
		t.Fatalf("server restarted on %s, want %s", srvB.URL, addrB)
	}
	progress(30, "after the kills")
	t.Log("restarting PostgreSQL again")
	pg.Restart(t)
	load.Wait()
	if len(g.errs) > 0 {
		t.Fatalf("run creations never answered: %v", g.errs)
	}

	created := g.created()
	waitFor(t, 3*time.Minute, "every run final", func() bool {
		final := 0
		for _, r := range listAll(t, ca, "side") {
			if r.State.Final() {
				final++
			}
		}
		return final >= len(created)
	})
	runs := map[string]store.FlowRun{}
	for _, r := range listAll(t, ca, "side") {
		runs[r.ID] = r
	}
	execs, _ := sideTable(t, f.side)
	var retried []string
	var detection []time.Duration
	for key, id := range created {
		r, ok := runs[id]
		if !ok {
			t.Errorf("run %s (%s) was answered but is not in the store", id, key)
			continue
		}
		if r.State.Name != flow.NameCompleted {
			t.Errorf("run %s ended %s %q", id, r.State.Name, r.State.Message)
			continue
		}
		det, err := ca.Run(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range det.History {
			if s.Type == flow.TypeFailed {
				t.Errorf("run %s went through %s %q", id, s.Name, s.Message)
			}
			if s.Type == flow.TypeCrashed {
				if !strings.Contains(s.Message, `"w-proc-a" lost its lease`) {
					t.Errorf("run %s crashed, not by the killed worker: %q", id, s.Message)
				}
				detection = append(detection, s.Timestamp.Sub(killed))
			}
		}
		extra := 0
		for _, step := range []string{"step1", "step2"} {
			n := execs[id][step]
			if n == 0 {
				t.Errorf("run %s completed but %s never executed", id, step)
			}
			extra += max(n-1, 0)
		}
		if extra > r.Attempt-1 {
			t.Errorf("run %s: %d step re-executions in %d attempts: a completed step ran again", id, extra, r.Attempt)
		}
		if r.Attempt > 1 {
			retried = append(retried, id)
		}
	}
	if c := f.conflicts(t); len(c) > 0 {
		t.Errorf("steps ran twice at once: %v", c)
	}
	if len(retried) == 0 {
		t.Error("no run was retried: the killed worker held none")
	}
	slices.Sort(detection)
	if len(detection) > 0 {
		t.Logf("%d runs, %d retried after the worker kill; its runs were reaped %s to %s after it died (lease 4s, reaper every 300ms)",
			len(created), len(retried), detection[0].Round(time.Millisecond), detection[len(detection)-1].Round(time.Millisecond))
	}
}

// BenchmarkDeadWorkerDetection measures how long after a worker is
// SIGKILLed its run is marked Crashed (and could be retried), with the
// defaults: the pool's lease (store.DefaultLease, 10s) renewed every
// Lease/3, and the server's reaper every 2s. Each iteration starts a
// worker, lets it hold a run, kills it at a random point of its renewal
// cycle and times the reap; it reports the median and the worst (at
// most Lease plus the reap interval, 12s). Run it with -benchtime=5x: each iteration
// takes about 10 seconds.
func BenchmarkDeadWorkerDetection(b *testing.B) {
	bin := proctest.Build(b, "./internal/faultapp")
	side := b.TempDir()
	env := []string{"NETAUTO_DB=" + faultDB(b), "FAULTAPP_DIR=" + side, "NETAUTO_CHILD_ENV=FAULTAPP_DIR"}
	srv := proctest.StartServer(b, env, bin, "--no-worker")
	env = append(env, "NETAUTO_API_URL="+srv.URL)
	if out, code := proctest.Run(b, env, bin, "deploy"); code != 0 {
		b.Fatalf("deploy: %d\n%s", code, out)
	}
	c, err := client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	var took []time.Duration
	b.ResetTimer()
	for i := range b.N {
		name := fmt.Sprintf("doomed-%d", i)
		w := proctest.Start(b, env, bin, "worker", "--pool", "default", "--name", name, "--poll", "50ms")
		run, _, err := c.CreateRun(ctx, "fragile", wire.CreateRun{})
		if err != nil {
			b.Fatal(err)
		}
		waitFor(b, time.Minute, "the run held by "+name, func() bool {
			d, err := c.Run(ctx, run.ID)
			return err == nil && d.Run.Worker == name && d.Run.State.Name == flow.NameRunning
		})
		// A worker dies at any moment of its renewal cycle: kill it at a
		// random point of one, not always right after its claim.
		time.Sleep(rand.N(store.DefaultLease / 3))
		killed := time.Now()
		w.Signal(b, syscall.SIGKILL)
		_ = w.Wait(b, 10*time.Second)
		var crashed time.Time
		waitFor(b, time.Minute, "the run reaped", func() bool {
			d, err := c.Run(ctx, run.ID)
			if err != nil || d.Run.State.Type != flow.TypeCrashed {
				return false
			}
			crashed = d.Run.State.Timestamp
			return true
		})
		took = append(took, crashed.Sub(killed))
	}
	b.StopTimer()
	slices.Sort(took)
	b.ReportMetric(took[len(took)/2].Seconds(), "s-median-detection")
	b.ReportMetric(took[len(took)-1].Seconds(), "s-max-detection")
	b.Logf("dead worker detected after %v", took)
}
