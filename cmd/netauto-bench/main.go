// Command netauto-bench measures the orchestrator end to end: it starts a
// server (API, scheduler, an embedded worker) on a fresh SQLite store or a
// PostgreSQL database, creates runs of a one-task flow through the HTTP
// API and waits for each to complete, then measures the idle server's CPU
// use.
//
// Two load models:
//
//   - open loop (--rate R): run creations are offered at a fixed rate,
//     whatever the response times;
//   - closed loop (--clients N): N clients each create a run, wait until it
//     is Completed, and start the next.
//
// Both report runs/s completed, start→complete latencies (from the create
// request to the client seeing Completed, through client.WaitRunFinal, or
// by polling with --poll) and, with the in-process
// launcher, create→Running (to the moment the flow body starts).
//
//	go run ./cmd/netauto-bench --clients 20 --duration 10s
//	go run ./cmd/netauto-bench --rate 400 --duration 10s --launcher process
//	go run ./cmd/netauto-bench --db "$NETAUTO_TEST_POSTGRES_DSN" --clients 20
//
// It is a program of its own, not a command of the runtime, so that it
// ships in no user's orchestrator. The binary is also the flow binary of
// the process launcher's children (`netauto-bench execute --run-id ID`).
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/task"
)

const (
	flowName = "netauto-bench"
	poolName = "bench"
)

// params are the parameters of the bench flow.
type params struct {
	Seq int `json:"seq"`
}

// started records when the flow body of each run started (in-process
// launcher only: a child process reports nothing back here).
var started struct {
	sync.Mutex
	at map[int]time.Time
}

var double = task.New("double", func(_ context.Context, n int) (int, error) { return 2 * n, nil })

var benchFlow = flow.New(flowName, func(ctx context.Context, p params) (int, error) {
	now := time.Now()
	started.Lock()
	if started.at != nil {
		started.at[p.Seq] = now
	}
	started.Unlock()
	return double.Run(ctx, p.Seq)
})

func app(launcher string) *runtime.App {
	return &runtime.App{Name: "netauto-bench", Flows: []flow.Definition{benchFlow},
		Pools:       []store.Pool{{Name: poolName, Type: launcher}},
		Deployments: []store.Deployment{{Name: flowName, Flow: flowName, Pool: poolName}}}
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "execute" {
		// A process launcher's child: run one flow run and exit.
		runtime.Main(app("process"))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "netauto-bench: %v\n", err)
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

type config struct {
	rate        float64
	clients     int
	duration    time.Duration
	idle        time.Duration
	db          string
	launcher    string
	concurrency int
	warm        int
	poll        time.Duration
	cpuprofile  string
	trace       string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c config
	fs := flag.NewFlagSet("netauto-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Float64Var(&c.rate, "rate", 0, "open loop: run creations offered per second")
	fs.IntVar(&c.clients, "clients", 0, "closed loop: clients each creating a run and waiting for it to complete (default 20 without --rate)")
	fs.DurationVar(&c.duration, "duration", 10*time.Second, "how long load is offered")
	fs.DurationVar(&c.idle, "idle", 3*time.Second, "how long idle CPU is measured after the load (0: not measured)")
	fs.StringVar(&c.db, "db", "", "the store: a SQLite file or a postgres:// URL (default a temporary SQLite file)")
	fs.StringVar(&c.launcher, "launcher", "in-process", "the embedded worker's launcher: in-process or process")
	fs.IntVar(&c.concurrency, "concurrency", 32, "runs the embedded worker executes at once")
	fs.IntVar(&c.warm, "warm", 0, "process launcher: children started ahead of demand (0: the worker's default, -1: none)")
	fs.DurationVar(&c.poll, "poll", 0, "poll the run's state this often instead of waiting for its changes (client.WaitRunState)")
	fs.StringVar(&c.cpuprofile, "cpuprofile", "", "write a CPU profile of the load (server and clients: one process) to this file")
	fs.StringVar(&c.trace, "trace", "", "write an execution trace of the load to this file (`go tool trace -pprof=sync|net|syscall` shows where runs wait)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if c.rate == 0 && c.clients == 0 {
		c.clients = 20
	}
	switch {
	case c.rate < 0 || c.clients < 0 || (c.rate > 0) == (c.clients > 0):
		return errors.New("give one of --rate (open loop) or --clients (closed loop), positive")
	case c.duration <= 0 || c.idle < 0 || c.concurrency < 1 || c.poll < 0:
		return errors.New("--duration and --concurrency must be positive, --idle and --poll not negative")
	case c.launcher != "in-process" && c.launcher != "process":
		return fmt.Errorf("--launcher %q: want in-process or process", c.launcher)
	}
	if c.db == "" {
		dir, err := os.MkdirTemp("", "netauto-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		c.db = filepath.Join(dir, "bench.db")
	}
	dbName := "SQLite " + c.db
	if strings.HasPrefix(c.db, "postgres://") || strings.HasPrefix(c.db, "postgresql://") {
		dbName = "PostgreSQL"
	}

	key, err := api.GenerateKey()
	if err != nil {
		return err
	}
	// The server reads its keys from the environment; the children of the
	// process launcher get none of them (they get a run token).
	if err := os.Setenv(runtime.EnvAPIKeys, "bench:admin:"+key); err != nil {
		return err
	}
	sctx, stopServer := context.WithCancel(ctx)
	defer stopServer()
	urls := make(chan string, 1)
	served := make(chan error, 1)
	go func() {
		code := app(c.launcher).Run(sctx, []string{"server", "--db", c.db, "--listen", "127.0.0.1:0", "--pool", poolName,
			"--launcher", c.launcher, "--concurrency", fmt.Sprint(c.concurrency), "--warm", fmt.Sprint(c.warm)}, announced(urls), stderr)
		if code != runtime.ExitOK && sctx.Err() == nil {
			served <- fmt.Errorf("server exited with status %d", code)
		}
		close(served)
	}()
	var url string
	select {
	case url = <-urls:
	case err := <-served:
		return fmt.Errorf("bench server: %w", err)
	case <-ctx.Done():
		return context.Cause(ctx)
	}
	conns := max(c.clients, 64)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns}}
	cl, err := client.New(url, client.Options{Token: key, Retry: &retry.Policy{}, Timeout: 30 * time.Second, HTTPClient: hc})
	if err != nil {
		return err
	}
	for _, d := range app(c.launcher).Deployments {
		if _, err := cl.ApplyDeployment(ctx, d); err != nil {
			return fmt.Errorf("apply bench deployment: %w", err)
		}
	}

	if c.cpuprofile != "" {
		f, err := os.Create(c.cpuprofile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("cpu profile: %w", err)
		}
	}
	if c.trace != "" {
		f, err := os.Create(c.trace)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return fmt.Errorf("trace: %w", err)
		}
	}
	b := &bench{c: c, cl: cl}
	cpu0, err := cpuTime()
	if err != nil {
		return err
	}
	kids0, err := childrenCPUTime()
	if err != nil {
		return err
	}
	started.Lock()
	started.at = map[int]time.Time{}
	started.Unlock()
	if c.rate > 0 {
		fmt.Fprintf(stdout, "open loop: offering %.0f runs/s for %s, %s launcher, %s\n", c.rate, c.duration, c.launcher, dbName)
		err = b.openLoop(ctx)
	} else {
		fmt.Fprintf(stdout, "closed loop: %d clients for %s, %s launcher, %s\n", c.clients, c.duration, c.launcher, dbName)
		err = b.closedLoop(ctx)
	}
	if err != nil {
		return err
	}
	pprof.StopCPUProfile()
	trace.Stop()
	cpu1, err := cpuTime()
	if err != nil {
		return err
	}
	kids1, err := childrenCPUTime()
	if err != nil {
		return err
	}
	b.report(stdout)
	if n := len(b.lat); n > 0 {
		// Less noisy than rates on a shared machine: what each run cost.
		fmt.Fprintf(stdout, "CPU per completed run (server and clients): %s\n", ((cpu1 - cpu0) / time.Duration(n)).Round(time.Microsecond))
		if kids1 > kids0 {
			// The process launcher's children, once reaped.
			fmt.Fprintf(stdout, "CPU per completed run (child processes): %s\n", ((kids1 - kids0) / time.Duration(n)).Round(time.Microsecond))
		}
	}

	if c.idle > 0 {
		cpu, err := cpuUse(ctx, c.idle)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "idle server CPU over %s: %.2f%% of one core\n", c.idle, cpu)
	}
	stopServer()
	if err := <-served; err != nil {
		return fmt.Errorf("bench server: %w", err)
	}
	if b.failed > 0 {
		return fmt.Errorf("%d of %d runs did not complete", b.failed, b.failed+len(b.lat))
	}
	return nil
}

// announced is the server's stdout: it passes the API's URL on once.
func announced(urls chan<- string) io.Writer {
	r, w := io.Pipe()
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			if _, rest, ok := strings.Cut(sc.Text(), "API on "); ok {
				u, _, _ := strings.Cut(rest, " ")
				select {
				case urls <- u:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, r)
	}()
	return w
}

type bench struct {
	c       config
	cl      *client.Client
	mu      sync.Mutex
	lat     []time.Duration // create → Completed seen
	running []time.Duration // create → flow body started (in-process)
	failed  int
	errs    []error
	elapsed time.Duration
	seq     int
}

// one creates a run and waits until the client sees it final.
func (b *bench) one(ctx context.Context) {
	b.mu.Lock()
	seq := b.seq
	b.seq++
	b.mu.Unlock()
	t0 := time.Now()
	err := b.runOnce(ctx, seq)
	d := time.Since(t0)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err != nil {
		b.failed++
		if len(b.errs) < 3 {
			b.errs = append(b.errs, err)
		}
		return
	}
	b.lat = append(b.lat, d)
	started.Lock()
	t1, ok := started.at[seq]
	started.Unlock()
	if ok {
		b.running = append(b.running, t1.Sub(t0))
	}
}

func (b *bench) runOnce(ctx context.Context, seq int) error {
	r, _, err := b.cl.CreateRun(ctx, flowName, wire.CreateRun{Parameters: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))})
	if err != nil {
		return fmt.Errorf("create run: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var st flow.State
	if b.c.poll > 0 {
		st, err = waitFinal(ctx, b.cl, r.ID, b.c.poll)
	} else {
		st, err = b.cl.WaitRunFinal(ctx, r.ID)
	}
	if err != nil {
		return fmt.Errorf("wait for run %s: %w", r.ID, err)
	}
	if st.Type != flow.TypeCompleted {
		return fmt.Errorf("run %s ended %s", r.ID, st.Name)
	}
	return nil
}

// waitFinal polls the run's state until it is final.
func waitFinal(ctx context.Context, cl *client.Client, id string, every time.Duration) (flow.State, error) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		st, err := cl.RunState(ctx, id)
		if err != nil {
			return st, err
		}
		if st.Final() {
			return st, nil
		}
		select {
		case <-ctx.Done():
			return st, context.Cause(ctx)
		case <-t.C:
		}
	}
}

func (b *bench) openLoop(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / b.c.rate)
	var wg sync.WaitGroup
	begin := time.Now()
	for n := 0; ; n++ {
		at := begin.Add(time.Duration(n) * interval)
		if at.Sub(begin) >= b.c.duration {
			break
		}
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		}
		wg.Go(func() { b.one(ctx) })
	}
	wg.Wait()
	b.elapsed = time.Since(begin)
	return ctx.Err()
}

func (b *bench) closedLoop(ctx context.Context) error {
	var wg sync.WaitGroup
	begin := time.Now()
	end := begin.Add(b.c.duration)
	for range b.c.clients {
		wg.Go(func() {
			for time.Now().Before(end) && ctx.Err() == nil {
				b.one(ctx)
			}
		})
	}
	wg.Wait()
	b.elapsed = time.Since(begin)
	return ctx.Err()
}

func (b *bench) report(w io.Writer) {
	b.mu.Lock()
	defer b.mu.Unlock()
	fmt.Fprintf(w, "completed: %d runs in %s: %.1f runs/s\n", len(b.lat), b.elapsed.Round(time.Millisecond), float64(len(b.lat))/b.elapsed.Seconds())
	for _, l := range []struct {
		name string
		d    []time.Duration
	}{{"start→complete", b.lat}, {"create→Running", b.running}} {
		if len(l.d) == 0 {
			continue
		}
		slices.Sort(l.d)
		fmt.Fprintf(w, "%s: p50 %s  p90 %s  p99 %s  max %s\n", l.name, pct(l.d, 0.50), pct(l.d, 0.90), pct(l.d, 0.99), l.d[len(l.d)-1].Round(10*time.Microsecond))
	}
	if b.failed > 0 {
		fmt.Fprintf(w, "failed: %d runs; first errors: %v\n", b.failed, errors.Join(b.errs...))
	}
}

func pct(sorted []time.Duration, p float64) time.Duration {
	i := min(len(sorted)-1, int(float64(len(sorted))*p))
	return sorted[i].Round(10 * time.Microsecond)
}

// cpuUse returns the process's CPU time (user + system) over d, in
// percent of one core.
func cpuUse(ctx context.Context, d time.Duration) (float64, error) {
	var before, after syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &before); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	t0 := time.Now()
	select {
	case <-time.After(d):
	case <-ctx.Done():
		return 0, context.Cause(ctx)
	}
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &after); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	used := tv(after.Utime) + tv(after.Stime) - tv(before.Utime) - tv(before.Stime)
	return 100 * used.Seconds() / time.Since(t0).Seconds(), nil
}

// cpuTime is the CPU time (user + system) the process used so far.
func cpuTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return tv(ru.Utime) + tv(ru.Stime), nil
}

// childrenCPUTime is the CPU time (user + system) of the process's
// children that ended and were waited for so far.
func childrenCPUTime() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return tv(ru.Utime) + tv(ru.Stime), nil
}

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}
