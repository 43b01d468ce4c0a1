package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// workerFlags are the flags of an embedded or standalone worker.
type workerFlags struct {
	pool, launcher *string
	name           *string
	concurrency    *int
	lease, grace   *time.Duration
	heartbeat      *time.Duration
	poll           *time.Duration
	// sourceCache and allowFile configure runs of deployments with a Git
	// source (process launcher).
	sourceCache *string
	allowFile   *bool
	// childEnv names the worker's variables a process-launcher child
	// gets besides worker.DefaultChildEnv.
	childEnv *string
	// warm is how many process-launcher children wait ahead of demand.
	warm *int
}

func newWorkerFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
	Duration(string, time.Duration, string) *time.Duration
	Bool(string, bool, string) *bool
}) workerFlags {
	return workerFlags{
		pool:        fs.String("pool", DefaultPool, "work pool to claim runs from"),
		launcher:    fs.String("launcher", "", "launcher: in-process, process (a child `execute` process per run), docker (a container per run) or another the App registers (App.Launchers); default the pool type's when it runs runs outside the worker (docker), else in-process"),
		name:        fs.String("name", "", "worker name, unique among running workers; keep it across restarts so that the docker launcher can clean up after its earlier life (default host-pid-random)"),
		concurrency: fs.Int("concurrency", 4, "runs executed at once"),
		lease:       fs.Duration("lease", 0, "lease of a claimed run, overriding the pool's (default 10s): a dead worker's runs are reaped after it"),
		heartbeat:   fs.Duration("heartbeat", 0, "interval of lease renewals and heartbeats, overriding the pool's (default lease/3)"),
		grace:       fs.Duration("grace", 30*time.Second, "on SIGTERM: how long running runs may finish before they are abandoned to the reaper"),
		poll:        fs.Duration("poll", time.Second, "wait between claims while nothing is due"),
		sourceCache: fs.String("source-cache", envOr(EnvSourceCache, DefaultSourceCache), "directory where Git sources are fetched and built (env "+EnvSourceCache+")"),
		allowFile:   fs.Bool("source-allow-file", os.Getenv(EnvSourceAllowFile) == "1", "accept file:// Git sources (env "+EnvSourceAllowFile+"=1)"),
		warm:        fs.Int("warm", 0, "process launcher: children kept started ahead of demand, each executing exactly one run (0: min(concurrency, 4); -1: none, each run starts its child)"),
		childEnv:    fs.String("child-env", os.Getenv(EnvChildEnv), "process launcher: variables of the worker's environment its children get besides PATH, HOME, locale, proxies and CA settings; comma-separated names or PREFIX* (env "+EnvChildEnv+")"),
	}
}

func (f workerFlags) check(launchers launch.Registry) error {
	switch {
	case *f.launcher != "" && launchers[*f.launcher] == nil:
		return usagef("--launcher %q: want one of %s", *f.launcher, strings.Join(launchers.Types(), ", "))
	case *f.concurrency < 1:
		return usagef("--concurrency %d: want at least 1", *f.concurrency)
	case (*f.lease != 0 && *f.lease < 3*time.Millisecond) || *f.poll <= 0 || *f.heartbeat < 0:
		return usagef("--lease (0 for the pool's), --heartbeat and --poll must be positive")
	case *f.heartbeat > 0 && *f.lease > 0 && 2**f.heartbeat > *f.lease:
		return usagef("--heartbeat %s: at most half the lease", *f.heartbeat)
	case *f.grace < 0:
		return usagef("--grace %s: must not be negative", *f.grace)
	}
	return nil
}

// options are the worker the flags describe.
func (f workerFlags) options() WorkerOptions {
	return WorkerOptions{
		Pool: *f.pool, Launcher: *f.launcher, Name: *f.name, Concurrency: *f.concurrency,
		Lease: *f.lease, Heartbeat: *f.heartbeat, Poll: *f.poll, Grace: *f.grace,
		SourceCache: *f.sourceCache, AllowFileSources: *f.allowFile, ChildEnv: splitList(*f.childEnv), Warm: *f.warm,
	}
}

func cmdServer(e *env, args []string) error {
	fs := e.flags("server")
	db := dbFlag(fs)
	listen := fs.String("listen", envOr(EnvListen, DefaultListen), "listen address (env "+EnvListen+"); without API keys it must be loopback")
	noWorker := fs.Bool("no-worker", false, "run no embedded worker")
	schedEvery := fs.Duration("schedule-interval", 10*time.Second, "time between scheduler passes")
	reapEvery := fs.Duration("reap-interval", 2*time.Second, "time between reaps of expired leases: a dead worker's runs are detected within a lease plus this")
	wf := newWorkerFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := wf.check(e.app.launchers); err != nil {
		return err
	}
	if *schedEvery <= 0 || *reapEvery <= 0 {
		return usagef("--schedule-interval and --reap-interval must be positive")
	}
	keys, deprecated, err := loadKeys()
	if err != nil {
		return err
	}
	for _, d := range deprecated {
		e.log.Warn("deprecated API key format: " + d)
	}
	if err := api.CheckListenAddr(*listen, keys.Len() > 0); err != nil {
		return err
	}
	opts := ServerOptions{Listen: *listen, Keys: keys, ScheduleInterval: *schedEvery, ReapInterval: *reapEvery, Logger: e.log,
		TLSCertFile: os.Getenv(EnvTLSCert), TLSKeyFile: os.Getenv(EnvTLSKey)}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return fmt.Errorf("%s and %s go together: set both to serve HTTPS, or neither", EnvTLSCert, EnvTLSKey)
	}
	if s := os.Getenv(EnvTokenSecret); s != "" {
		if err := store.CheckSecretValue(EnvTokenSecret, s); err != nil {
			return err
		}
		opts.TokenSecret = []byte(s)
	}
	if keys.Len() == 0 {
		// The local admin key, which the command line on this machine
		// finds by itself.
		opts.LocalKeyFile = localKeyPath(*db)
	}
	wo := wf.options()
	wo.Console = e.stderr // run logs on the terminal, as a local run prints them
	if wo.Launcher == "" {
		wo.Launcher = launch.TypeInProcess // the server's embedded worker runs flows in-process unless told
	}
	if !*noWorker {
		opts.Workers = []WorkerOptions{wo}
	}
	return e.serve(*db, opts)
}

// serve runs a Server on store db until e.ctx is done.
func (e *env) serve(db string, opts ServerOptions) error {
	st, err := openStore(e.ctx, db)
	if err != nil {
		return err
	}
	defer st.Close()
	opts.Store = st
	srv, err := NewServer(e.app.app, opts)
	if err != nil {
		return err
	}
	if err := srv.Start(e.ctx); err != nil {
		return err
	}
	workerNote := "no embedded worker"
	if len(opts.Workers) > 0 {
		workerNote = fmt.Sprintf("embedded %s worker on pool %q", launcherName(opts.Workers[0]), opts.Workers[0].Pool)
	}
	fmt.Fprintf(e.stdout, "netauto server: API on %s (%s)\n", srv.URL(), workerNote)
	if opts.LocalKeyFile != "" {
		fmt.Fprintf(e.stdout, "netauto server: no API key configured (%s): local admin key in %s, loopback only\n", EnvAPIKeys, opts.LocalKeyFile)
	}
	select {
	case <-e.ctx.Done():
	case <-srv.Done():
	}
	// Let the workers drain while the API still answers the children of
	// the process launcher; then close the API.
	grace := time.Duration(0)
	for _, w := range opts.Workers {
		grace = max(grace, w.Grace)
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace+10*time.Second)
	defer cancel()
	return srv.Shutdown(sctx)
}

func launcherName(o WorkerOptions) string {
	if o.Launcher == "" {
		return "in-process"
	}
	return o.Launcher
}

func cmdWorker(e *env, args []string) error {
	fs := e.flags("worker")
	db := dbFlag(fs)
	af := newAPIFlags(fs)
	wf := newWorkerFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := wf.check(e.app.launchers); err != nil {
		return err
	}
	st, err := openStore(e.ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	wo := wf.options()
	wo.Console = e.stderr // run logs on the terminal, as a local run prints them
	if err := wo.check("", e.app.launchers); err != nil {
		return err
	}
	if wo.Launcher == "" {
		wo.Launcher = defaultLauncher(e.ctx, st, e.app, wo.Pool)
	}
	var mint tokenMinter
	if f, err := e.app.launchers.Lookup(wo.Launcher); err == nil && f.Remote() {
		c, err := af.client()
		if err != nil {
			return err
		}
		mint = func(ctx context.Context, f store.Fence) (string, error) {
			tok, err := c.MintExecutionToken(ctx, f, runTokenTTL)
			return tok.Token, err
		}
	}
	w, closeFn, err := newWorker(e.ctx, st, e.app, wo, *af.url, mint, e.log)
	if err != nil {
		return err
	}
	defer closeFn()
	fmt.Fprintf(e.stdout, "netauto worker %s: pool %q, %s launcher, %d at once\n", w.Name(), wo.Pool, wo.Launcher, wo.Concurrency)
	return runWorker(e.ctx, w, wo.Grace, e.log)
}

// runWorker runs w until ctx is done, then drains it for grace and
// abandons what is still running to the reaper.
func runWorker(ctx context.Context, w *worker.Worker, grace time.Duration, log *slog.Logger) error {
	wctx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("worker draining", "running", w.Running(), "grace", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := w.Shutdown(sctx); err != nil {
		log.Warn("runs abandoned to the reaper", "error", err.Error())
		abandon()
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}
