package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/flow/retry"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/store"
)

// benchParams are the parameters of the bench flow.
type benchParams struct {
	Seq int `json:"seq"`
}

// cmdBench starts a server with an embedded in-process worker on a fresh
// SQLite store and offers run creations over HTTP at a fixed rate,
// whatever the response times (open loop). A run's latency is from the
// moment its create request is sent to the moment its flow body starts,
// which is right after the worker recorded it Running. Then it measures
// the idle server's CPU use.
func cmdBench(e *env, args []string) error {
	fs := e.flags("bench")
	rate := fs.Float64("rate", 200, "run creations offered per second")
	duration := fs.Duration("duration", 30*time.Second, "how long load is offered")
	idle := fs.Duration("idle", 5*time.Second, "how long idle CPU is measured after the load")
	db := fs.String("db", "", "SQLite file for the bench store (default a temporary file)")
	concurrency := fs.Int("concurrency", 16, "runs the embedded worker executes at once")
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if *rate <= 0 || *duration <= 0 || *idle < 0 || *concurrency < 1 {
		return usagef("--rate, --duration and --concurrency must be positive")
	}
	if *db == "" {
		dir, err := os.MkdirTemp("", "netauto-bench")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		*db = filepath.Join(dir, "bench.db")
	}

	var mu sync.Mutex
	started := map[int]time.Time{}
	startedCh := make(chan struct{}, 1)
	benchFlow := flow.New("netauto-bench", func(_ context.Context, p benchParams) (int, error) {
		now := time.Now()
		mu.Lock()
		started[p.Seq] = now
		mu.Unlock()
		select {
		case startedCh <- struct{}{}:
		default:
		}
		return p.Seq, nil
	})
	app, err := (&App{Name: "bench", Flows: []flow.Definition{benchFlow},
		Deployments: []store.Deployment{{Name: "netauto-bench", Flow: "netauto-bench", Pool: "bench"}}}).compile()
	if err != nil {
		return err
	}
	key, err := api.GenerateKey()
	if err != nil {
		return err
	}
	keys := &api.KeySet{}
	if err := keys.Add(api.KeyInfo{Name: "bench", Role: api.RoleAdmin}, key); err != nil {
		return err
	}
	st, err := OpenStore(e.ctx, *db, store.Options{})
	if err != nil {
		return err
	}
	defer st.Close()
	srv, err := NewServer(app.app, ServerOptions{Store: st, Listen: "127.0.0.1:0", Keys: keys, ScheduleInterval: 10 * time.Second, ReapInterval: 5 * time.Second, Logger: e.log,
		Workers: []WorkerOptions{{Pool: "bench", Launcher: "in-process", Concurrency: *concurrency, Lease: 30 * time.Second, Grace: 5 * time.Second, Poll: time.Second}}})
	if err != nil {
		return err
	}
	if err := srv.Start(e.ctx); err != nil {
		return fmt.Errorf("bench server: %w", err)
	}
	stopServer := func() error {
		sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		return srv.Shutdown(sctx)
	}
	defer stopServer()
	url := srv.URL()
	c, err := client.New(url, client.Options{Token: key, Retry: &retry.Policy{}, Timeout: 10 * time.Second})
	if err != nil {
		return err
	}
	for _, d := range app.deps {
		if _, err := c.ApplyDeployment(e.ctx, d); err != nil {
			return fmt.Errorf("apply bench deployment: %w", err)
		}
	}

	fmt.Fprintf(e.stdout, "bench: offering %.0f runs/s for %s to %s (SQLite %s)\n", *rate, *duration, url, *db)
	interval := time.Duration(float64(time.Second) / *rate)
	sent := map[int]time.Time{}
	createErrs := 0
	var wg sync.WaitGroup
	begin := time.Now()
	n := 0
	for ; ; n++ {
		at := begin.Add(time.Duration(n) * interval)
		if at.Sub(begin) >= *duration {
			break
		}
		if d := time.Until(at); d > 0 {
			select {
			case <-time.After(d):
			case <-e.ctx.Done():
				return context.Cause(e.ctx)
			}
		}
		seq := n
		wg.Go(func() {
			t0 := time.Now()
			_, _, err := c.CreateRun(e.ctx, "netauto-bench", wire.CreateRun{Parameters: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))})
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				createErrs++
				return
			}
			sent[seq] = t0
		})
	}
	wg.Wait()
	offered := time.Since(begin)
	// Wait (at most 10s) for every created run to start.
	deadline := time.After(10 * time.Second)
	for waiting := true; waiting; {
		mu.Lock()
		waiting = len(started) < len(sent)
		mu.Unlock()
		if !waiting {
			break
		}
		select {
		case <-startedCh:
		case <-deadline:
			waiting = false
		case <-e.ctx.Done():
			return context.Cause(e.ctx)
		}
	}
	mu.Lock()
	var lat []time.Duration
	for seq, t0 := range sent {
		if t1, ok := started[seq]; ok {
			lat = append(lat, t1.Sub(t0))
		}
	}
	notStarted := len(sent) - len(lat)
	mu.Unlock()
	slices.Sort(lat)
	fmt.Fprintf(e.stdout, "bench: %d runs offered in %s (%.1f/s)\n", n, offered.Round(time.Millisecond), float64(n)/offered.Seconds())
	if len(lat) > 0 {
		fmt.Fprintf(e.stdout, "create-run → Running: p50 %s  p90 %s  p99 %s  max %s  (%d runs)\n",
			pct(lat, 0.50), pct(lat, 0.90), pct(lat, 0.99), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
	}
	fmt.Fprintf(e.stdout, "errors: %d create requests failed, %d runs not running within 10s\n", createErrs, notStarted)

	if *idle > 0 {
		// Let the last runs finish, then measure the idle server.
		time.Sleep(time.Second)
		cpu, err := cpuUse(e.ctx, *idle)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "idle server CPU over %s: %.2f%% of one core\n", *idle, cpu)
	}
	if err := stopServer(); err != nil {
		return fmt.Errorf("bench server: %w", err)
	}
	if createErrs > 0 || notStarted > 0 {
		return fmt.Errorf("%d of %d runs failed to start", createErrs+notStarted, n)
	}
	return nil
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

func tv(t syscall.Timeval) time.Duration {
	return time.Duration(t.Sec)*time.Second + time.Duration(t.Usec)*time.Microsecond
}
