package runtime

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/scheduler"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/ui"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// ServerOptions configure a [Server]. Zero fields take the defaults.
type ServerOptions struct {
	// Store is what the server runs on (required; see [OpenStore]). The
	// server does not close it.
	Store store.Store
	// Listen is the API's listen address ("127.0.0.1:4200"; port 0 picks
	// a free one). Empty: the server listens nowhere and the program
	// mounts [Server.Handler] in its own http.Server, under "/api/".
	Listen string
	// URL is the API's base URL as the children of the process and docker
	// launchers reach it. Default: the listen address's. Required for
	// those launchers when Listen is empty.
	URL string
	// TLSCertFile and TLSKeyFile, together, make the listener serve HTTPS.
	TLSCertFile, TLSKeyFile string
	// Keys are the API keys the server accepts. Without any, the server
	// makes an admin key ([Server.LocalKey]), kept in LocalKeyFile (mode
	// 0600) when that is set and in memory otherwise, and accepts only a
	// loopback Listen.
	Keys         *api.KeySet
	LocalKeyFile string
	// TokenSecret signs run tokens (at least 32 bytes); nil: a random one,
	// so tokens die with the process.
	TokenSecret []byte
	// Sources are event sources accepted besides the App's (an entry
	// here replaces the App's of the same name).
	Sources map[string]api.Verifier
	// Workers are the embedded workers, each claiming the runs of one
	// pool. None: the server runs no worker (standalone workers do).
	Workers []WorkerOptions
	// ScheduleInterval is the time between scheduler passes (default
	// 10s); ReapInterval between reaps of expired leases (default 2s).
	// NoScheduler runs neither loop: [Server.Scheduler]'s Pass and Reap
	// still work, on the caller's clock.
	ScheduleInterval, ReapInterval time.Duration
	NoScheduler                    bool
	// Logger receives the components' logs; default slog.Default().
	Logger *slog.Logger
}

// WorkerOptions configure an embedded worker of a [Server], and the
// `worker` command's.
type WorkerOptions struct {
	// Pool is the work pool whose runs it claims; default [DefaultPool].
	// A pool the App does not declare is created as an in-process pool.
	Pool string
	// Launcher is "in-process" (runs in this process), "process" (a
	// child `execute` per run) or "docker" (a container per run).
	// Default: docker for a pool of type docker, else in-process.
	Launcher string
	// Name identifies the worker among running workers; keep it across
	// restarts so that the docker launcher removes containers it left.
	Name string
	// Concurrency is how many runs it executes at once (default 4).
	Concurrency int
	// Lease and Heartbeat override the pool's (0: the pool's); Poll is
	// the wait between claims while nothing is due (default 1s).
	Lease, Heartbeat, Poll time.Duration
	// Grace is how long running runs may finish at shutdown before they
	// are abandoned to the reaper (default 30s).
	Grace time.Duration
	// SourceCache is where Git-sourced deployments are fetched and built
	// (default [DefaultSourceCache]); AllowFileSources accepts file://
	// repositories.
	SourceCache      string
	AllowFileSources bool
	// Console, when set, receives the log lines of the runs the worker
	// executes in-process (the commands give their terminal).
	Console io.Writer
	// ChildEnv names the variables of this process's environment that
	// process-launcher children get besides worker.DefaultChildEnv:
	// names or PREFIX* patterns.
	ChildEnv []string
	// Warm is how many children the process launcher keeps started
	// ahead of demand, each waiting to execute exactly one run (see
	// worker.Process.Warm): 0 is the default, min(Concurrency, 4);
	// negative, none (every run starts its child).
	Warm int
}

// check validates o, naming the field under prefix; it fills defaults.
func (o *WorkerOptions) check(prefix string, launchers launch.Registry) error {
	switch {
	case o.Launcher != "" && launchers[o.Launcher] == nil:
		return &store.InvalidError{Field: prefix + "launcher", Reason: fmt.Sprintf("%q: want one of %s", o.Launcher, strings.Join(launchers.Types(), ", "))}
	case o.Concurrency < 0:
		return &store.InvalidError{Field: prefix + "concurrency", Reason: "negative"}
	case o.Lease < 0 || (o.Lease > 0 && o.Lease < 3*time.Millisecond):
		return &store.InvalidError{Field: prefix + "lease", Reason: "want 0 (the pool's) or at least 3ms"}
	case o.Heartbeat < 0:
		return &store.InvalidError{Field: prefix + "heartbeat", Reason: "negative"}
	case o.Heartbeat > 0 && o.Lease > 0 && 2*o.Heartbeat > o.Lease:
		return &store.InvalidError{Field: prefix + "heartbeat", Reason: "at most half the lease"}
	case o.Poll < 0 || o.Grace < 0:
		return &store.InvalidError{Field: prefix + "poll", Reason: "poll and grace must not be negative"}
	}
	if o.Pool == "" {
		o.Pool = DefaultPool
	}
	if o.Concurrency == 0 {
		o.Concurrency = 4
	}
	if o.Warm == 0 {
		o.Warm = min(o.Concurrency, defaultWarm)
	}
	if o.Poll == 0 {
		o.Poll = time.Second
	}
	if o.Grace == 0 {
		o.Grace = 30 * time.Second
	}
	if o.SourceCache == "" {
		o.SourceCache = DefaultSourceCache
	}
	return nil
}

// Server is an orchestrator embedded in a program: the API (with the
// App's event sources and triggers), the scheduler and lease reaper, and
// embedded workers running the App's flows. Build it with [NewServer],
// then [Server.Start] it and [Server.Shutdown] it; the `server` command
// is a thin layer over it.
type Server struct {
	app   *compiled
	opts  ServerOptions
	st    store.Store
	api   *api.Server
	sched *scheduler.Scheduler
	match *matcher
	h     http.Handler
	log   *slog.Logger
	// localKey is the admin key made when no key is configured.
	localKey string

	mu       sync.Mutex
	started  bool
	workers  []*worker.Worker
	hs       *http.Server
	ln       net.Listener
	url      string
	closers  []func()
	stopBG   context.CancelFunc
	abandons []context.CancelFunc
	wg       sync.WaitGroup
	ready    chan struct{}
	done     chan struct{}
	doneOnce sync.Once
	err      error
	shutOnce sync.Once
	shutErr  error
}

// NewServer checks app and opts and builds the server; nothing runs
// before [Server.Start]. Errors name the field (deployments[0].flow,
// workers[1].launcher, listen).
func NewServer(app *App, opts ServerOptions) (*Server, error) {
	if app == nil {
		return nil, &store.InvalidError{Field: "app", Reason: "nil"}
	}
	c, err := app.compile()
	if err != nil {
		return nil, err
	}
	if opts.Store == nil {
		return nil, &store.InvalidError{Field: "store", Reason: "nil: open one with OpenStore"}
	}
	if opts.ScheduleInterval < 0 || opts.ReapInterval < 0 {
		return nil, &store.InvalidError{Field: "schedule_interval", Reason: "schedule and reap intervals must not be negative"}
	}
	if opts.ScheduleInterval == 0 {
		opts.ScheduleInterval = 10 * time.Second
	}
	if opts.ReapInterval == 0 {
		opts.ReapInterval = 2 * time.Second
	}
	if (opts.TLSCertFile == "") != (opts.TLSKeyFile == "") {
		return nil, &store.InvalidError{Field: "tls_cert_file", Reason: "the certificate and key files go together: set both to serve HTTPS, or neither"}
	}
	if opts.TLSCertFile != "" && opts.Listen == "" {
		return nil, &store.InvalidError{Field: "tls_cert_file", Reason: "without listen: the program's own http.Server serves TLS"}
	}
	if opts.Listen != "" {
		if _, _, err := net.SplitHostPort(opts.Listen); err != nil {
			return nil, &store.InvalidError{Field: "listen", Reason: err.Error()}
		}
		if err := api.CheckListenAddr(opts.Listen, opts.Keys.Len() > 0); err != nil {
			return nil, &store.InvalidError{Field: "listen", Reason: err.Error()}
		}
	}
	opts.Workers = append([]WorkerOptions(nil), opts.Workers...)
	pools := map[string]bool{}
	for i := range opts.Workers {
		w := &opts.Workers[i]
		prefix := fmt.Sprintf("workers[%d].", i)
		if err := w.check(prefix, c.launchers); err != nil {
			return nil, err
		}
		if pools[w.Pool] {
			return nil, &store.InvalidError{Field: prefix + "pool", Reason: fmt.Sprintf("pool %q has two embedded workers: raise its concurrency instead", w.Pool)}
		}
		pools[w.Pool] = true
		if f := c.launchers[w.Launcher]; f != nil && f.Remote() && opts.Listen == "" && opts.URL == "" {
			return nil, &store.InvalidError{Field: "url", Reason: fmt.Sprintf("empty: the %s launcher's children reach the API by it (workers[%d]); set it, or listen", w.Launcher, i)}
		}
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	// /metrics counts the run changes of the embedded workers and the
	// reaper too, and a cancel reaches this process's in-process runs at
	// once (worker.CancelNotifier).
	s := &Server{app: c, opts: opts, st: api.InstrumentStore(opts.Store), log: log, ready: make(chan struct{}), done: make(chan struct{})}
	keys := opts.Keys
	if keys.Len() == 0 {
		// No key configured: an admin key that only this program (and,
		// with LocalKeyFile, the command line on this machine) knows, so
		// that no web page can drive the API.
		if opts.LocalKeyFile != "" {
			s.localKey, err = ensureLocalKey(opts.LocalKeyFile)
		} else {
			s.localKey, err = api.GenerateKey()
		}
		if err != nil {
			return nil, err
		}
		keys = &api.KeySet{}
		if err := keys.Add(api.KeyInfo{Name: localKeyName, Role: api.RoleAdmin}, s.localKey); err != nil {
			return nil, err
		}
	}
	sources := map[string]api.Verifier{}
	for name, v := range c.app.Sources {
		sources[name] = v
	}
	for name, v := range opts.Sources {
		sources[name] = v
	}
	s.match = &matcher{app: c, st: s.st}
	s.api, err = api.New(s.st, api.Options{Keys: keys, TokenSecret: opts.TokenSecret, Sources: sources, Match: s.match.Match, Logger: log, Launchers: c.launchers})
	if err != nil {
		return nil, err
	}
	s.sched = scheduler.New(s.st, scheduler.Options{Interval: opts.ScheduleInterval, ReapInterval: opts.ReapInterval, Logger: log})
	// The web UI calls the API in-process as the signed-in key.
	if _, err := ui.Mount(s.api, s.st, ui.Options{Logger: log, Wake: s.wake}); err != nil {
		return nil, fmt.Errorf("web UI: %w", err)
	}
	s.h = serverHandler(s.api, s.wake, s.reload)
	return s, nil
}

// Handler is the API, to mount in the program's own server
// (mux.Handle("/api/", srv.Handler())): its routes are under /api/v1/,
// besides /healthz, /readyz and /metrics. Requests before
// [Server.Start] see no triggers yet.
func (s *Server) Handler() http.Handler { return s.h }

// Store is the server's store.
func (s *Server) Store() store.Store { return s.st }

// Scheduler is the server's scheduler: [scheduler.Scheduler.Pass] plans
// and creates the due scheduled runs at a given time (tests and
// programs with NoScheduler drive it so).
func (s *Server) Scheduler() *scheduler.Scheduler { return s.sched }

// LocalKey is the admin key the server made because none was configured
// ([ServerOptions.Keys]), for the program's own clients; "" when keys
// are configured.
func (s *Server) LocalKey() string { return s.localKey }

// Addr is the address the API listens on, nil before Start or without
// [ServerOptions.Listen].
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// URL is the API's base URL (https:// with TLS): the listener's once
// started, else [ServerOptions.URL].
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Ready is closed once [Server.Start] has finished: the store holds the
// App's flows, pools and tag limits, the API answers, the workers claim.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Done is closed when a component stopped on an error ([Server.Err]) or
// the server was shut down. A program selects on it with its own signal
// and then calls [Server.Shutdown].
func (s *Server) Done() <-chan struct{} { return s.done }

// Err is why [Server.Done] was closed: the error of the first component
// that failed, nil after a clean shutdown.
func (s *Server) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

func (s *Server) fail(err error) {
	s.mu.Lock()
	if s.err == nil {
		s.err = err
	}
	s.mu.Unlock()
	s.doneOnce.Do(func() { close(s.done) })
}

// wake wakes the embedded workers: a run was created or an event
// accepted.
func (s *Server) wake() {
	s.mu.Lock()
	ws := s.workers
	s.mu.Unlock()
	for _, w := range ws {
		w.Wake()
	}
}

// reload reloads the deployments the triggers match against.
func (s *Server) reload() {
	if err := s.match.reload(context.Background()); err != nil {
		s.log.Warn("reload deployments for triggers", slog.String("error", err.Error()))
	}
}

// Start writes what the server needs into the store (the App's flows,
// pools and tag limits; deployments are `deploy`'s), listens, and starts
// the scheduler, the reaper and the embedded workers. It returns once
// all of them run, or the first error, having undone what it started.
// ctx bounds the start only: the server runs until [Server.Shutdown].
func (s *Server) Start(ctx context.Context) (err error) {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("server: already started or shut down")
	}
	s.started = true
	s.mu.Unlock()
	defer func() {
		if err != nil {
			s.stop(context.Background(), false)
		}
	}()
	var pools []string
	for _, w := range s.opts.Workers {
		pools = append(pools, w.Pool)
	}
	if err := s.app.bootstrap(ctx, s.st, pools...); err != nil {
		return err
	}
	if err := s.match.reload(ctx); err != nil {
		return fmt.Errorf("load deployments: %w", err)
	}
	url := s.opts.URL
	if s.opts.Listen != "" {
		hs, err := s.api.HTTPServer(s.opts.Listen)
		if err != nil {
			return err
		}
		hs.Handler = s.h
		if s.opts.TLSCertFile != "" {
			// Load now: a bad pair fails the start, not the first handshake.
			if _, err := tls.LoadX509KeyPair(s.opts.TLSCertFile, s.opts.TLSKeyFile); err != nil {
				return fmt.Errorf("tls: %w", err)
			}
			hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		ln, err := net.Listen("tcp", s.opts.Listen)
		if err != nil {
			return fmt.Errorf("listen: %w", err)
		}
		s.mu.Lock()
		s.hs, s.ln = hs, ln
		s.mu.Unlock()
		if url == "" {
			url = "http://" + ln.Addr().String()
			if s.opts.TLSCertFile != "" {
				url = "https://" + ln.Addr().String()
			}
		}
		if s.opts.LocalKeyFile != "" && s.localKey != "" {
			if unregister, err := client.RegisterLocalKey(ln.Addr().String(), s.opts.LocalKeyFile); err != nil {
				// The key still works; client commands find it beside the
				// store (NETAUTO_DB) or through NETAUTO_API_KEY.
				s.log.Warn("record the local admin key for client commands", slog.String("error", err.Error()))
			} else {
				s.addCloser(unregister)
			}
		}
	}
	s.mu.Lock()
	s.url = url
	s.mu.Unlock()

	mint := func(ctx context.Context, f store.Fence) (string, error) {
		tok, _, err := s.api.MintRunToken(ctx, f, runTokenTTL)
		return tok, err
	}
	var workers []*worker.Worker
	for _, wo := range s.opts.Workers {
		w, closeFn, err := newWorker(ctx, s.st, s.app, wo, url, mint, s.log)
		if err != nil {
			return fmt.Errorf("embedded worker on pool %q: %w", wo.Pool, err)
		}
		s.addCloser(func() { _ = closeFn() })
		workers = append(workers, w)
	}

	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	s.mu.Lock()
	s.stopBG = stopBG
	hs, ln := s.hs, s.ln
	s.mu.Unlock()
	if hs != nil {
		s.wg.Go(func() {
			serve := func() error { return hs.Serve(ln) }
			if s.opts.TLSCertFile != "" {
				serve = func() error { return hs.ServeTLS(ln, s.opts.TLSCertFile, s.opts.TLSKeyFile) }
			}
			if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.fail(fmt.Errorf("serve API: %w", err))
			}
		})
	}
	if !s.opts.NoScheduler {
		s.wg.Go(func() {
			if err := s.sched.Run(bg); err != nil && bg.Err() == nil {
				s.fail(fmt.Errorf("scheduler: %w", err))
			}
		})
	}
	s.wg.Go(func() { s.housekeeping(bg) })
	s.mu.Lock()
	for i, w := range workers {
		// A worker runs on past bg: Shutdown drains it, then abandons
		// what still runs.
		wctx, abandon := context.WithCancel(context.WithoutCancel(ctx))
		s.abandons = append(s.abandons, abandon)
		s.wg.Go(func() {
			if err := w.Run(wctx); err != nil && !errors.Is(err, context.Canceled) {
				s.fail(fmt.Errorf("embedded worker on pool %q: %w", s.opts.Workers[i].Pool, err))
			}
		})
	}
	s.workers = workers
	s.mu.Unlock()
	close(s.ready)
	return nil
}

func (s *Server) addCloser(f func()) {
	s.mu.Lock()
	s.closers = append(s.closers, f)
	s.mu.Unlock()
}

// housekeeping reloads the triggers' deployments (deployments applied
// by another server) and prunes old events, until ctx is done.
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(30 * time.Second)
	defer t.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.reload()
		case <-prune.C:
			if n, err := s.api.PruneEvents(ctx); err != nil {
				s.log.Warn("prune received events", slog.String("error", err.Error()))
			} else if n > 0 {
				s.log.Info("pruned received events", slog.Int("events", n))
			}
		}
	}
}

// Shutdown stops the server gracefully: the scheduler and reaper stop,
// the workers drain for their Grace (at most until ctx is done) while the
// API still answers the launchers' children, runs still going are
// abandoned to the reaper (their lease lapses; another worker retries
// them), then the API stops. It returns once everything stopped, with
// the error that stopped the server, if any ([Server.Err]). Calling it
// again returns the same.
func (s *Server) Shutdown(ctx context.Context) error {
	s.shutOnce.Do(func() { s.shutErr = s.stop(ctx, true) })
	return s.shutErr
}

func (s *Server) stop(ctx context.Context, drain bool) error {
	s.log.Info("server stopping")
	s.mu.Lock()
	workers, abandons, hs, ln, stopBG, closers := s.workers, s.abandons, s.hs, s.ln, s.stopBG, s.closers
	s.workers, s.abandons, s.hs, s.ln, s.stopBG, s.closers = nil, nil, nil, nil, nil, nil
	s.started = true // no Start after a Shutdown
	s.mu.Unlock()
	if stopBG != nil {
		stopBG()
	}
	var wg sync.WaitGroup
	for i, w := range workers {
		wg.Go(func() {
			grace := s.opts.Workers[i].Grace
			if !drain {
				grace = 0
			}
			s.log.Info("worker draining", slog.String("pool", s.opts.Workers[i].Pool), slog.Int("running", w.Running()), slog.Duration("grace", grace))
			wctx, cancel := context.WithTimeout(ctx, grace)
			defer cancel()
			if err := w.Shutdown(wctx); err != nil {
				s.log.Warn("runs abandoned to the reaper", slog.String("error", err.Error()))
				abandons[i]()
			}
		})
	}
	wg.Wait()
	if hs != nil {
		if err := hs.Shutdown(ctx); err != nil {
			hs.Close()
		}
		ln.Close() // when it never served
	}
	s.wg.Wait()
	for _, abandon := range abandons {
		abandon()
	}
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	s.doneOnce.Do(func() { close(s.done) })
	return s.Err()
}

// defaultLauncher is the launcher of a worker on pool when none is
// asked: the pool type's when its registered launcher runs runs outside
// the worker (docker, a user's own), else in-process (also for pools of
// type process, which run in a child when --launcher process says so).
func defaultLauncher(ctx context.Context, st store.Store, app *compiled, pool string) string {
	if p, err := st.GetPool(ctx, pool); err == nil && p.Type != launch.TypeProcess {
		if f, ok := app.launchers[p.Type]; ok && f != nil && f.Remote() {
			return p.Type
		}
	}
	return launch.TypeInProcess
}

// defaultWarm bounds the process launcher's warm children by default:
// enough to absorb a burst while replacements start, few enough to cost
// nothing noticeable while idle (each waits blocked on a pipe).
const defaultWarm = 4

// tokenMinter mints a run token for a child process, bound to the
// execution f.
type tokenMinter func(ctx context.Context, f store.Fence) (string, error)

// newWorker builds the worker o describes, its launcher looked up in the
// App's registry ([App.Launchers]): o.Launcher, else the pool type's when
// that launcher runs runs outside the worker (docker, a user's own), else
// in-process. For such remote launchers, apiURL and mint give the
// children the API and their token, and runs of deployments with a Git
// source run their commit's build.
func newWorker(ctx context.Context, st store.Store, app *compiled, o WorkerOptions, apiURL string, mint tokenMinter, log *slog.Logger) (*worker.Worker, func() error, error) {
	kind := o.Launcher
	if kind == "" {
		kind = defaultLauncher(ctx, st, app, o.Pool)
	}
	factory, err := app.launchers.Lookup(kind)
	if err != nil {
		return nil, nil, &store.InvalidError{Field: "launcher", Reason: err.Error()}
	}
	name := o.Name
	if name == "" {
		name = worker.DefaultName()
	}
	cfg := launch.Config{Store: st, Flows: app.registry, Pool: o.Pool, Worker: name, Grace: o.Grace / 2, Logger: log, Warm: max(o.Warm, 0)}
	if factory.Remote() {
		cfg.ChildEnv = childEnv(apiURL, mint)
		cfg.WarmEnv = []string{EnvAPIURL + "=" + apiURL} // as childEnv gives it
		cfg.PassEnv = o.ChildEnv
	}
	l, closeFn, err := factory.New(ctx, cfg)
	if err != nil {
		return nil, nil, fmt.Errorf("%s launcher: %w", kind, err)
	}
	if ip, ok := l.(*worker.InProcess); ok && o.Console != nil {
		ip.SetConsole(o.Console) // run logs on the terminal, as a local run prints them
	}
	if factory.Remote() {
		// Runs of deployments with a Git source run their commit's build:
		// the binary itself, or the docker launcher's image derived from
		// the pool's image with the binary added. The hooks of runs the
		// runtime ended itself run here: those of the flows compiled in,
		// those of a Git source in its binary.
		l = &source.Launcher{Next: l, Store: st, Logger: log, Hooks: app.registry, Env: childEnv(apiURL, mint), PassEnv: o.ChildEnv,
			Cache: &source.Cache{Dir: o.SourceCache, AllowFile: o.AllowFileSources}}
	}
	w, err := worker.New(st, worker.Options{
		Name: name, Pool: o.Pool, Launcher: l, LauncherType: kind, Concurrency: o.Concurrency,
		Lease: o.Lease, Heartbeat: o.Heartbeat, Poll: o.Poll, Logger: log,
	})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	return w, closeFn, nil
}

// childEnv returns the environment of an `execute` child: the API URL,
// a token scoped to its run and the run itself. Admin keys and the
// database are blanked, so that the child can report on its run only
// (exec keeps the last value of a duplicated variable).
func childEnv(apiURL string, mint tokenMinter) func(ctx context.Context, run store.FlowRun) ([]string, error) {
	return func(ctx context.Context, run store.FlowRun) ([]string, error) {
		tok, err := mint(ctx, store.FenceOf(run))
		if err != nil {
			return nil, fmt.Errorf("mint run token: %w", err)
		}
		doc, err := json.Marshal(run)
		if err != nil {
			return nil, err
		}
		return []string{
			EnvAPIURL + "=" + apiURL, EnvRunToken + "=" + tok, EnvRun + "=" + string(doc),
			EnvAPIKey + "=", EnvAPIKeys + "=", EnvDB + "=", EnvTokenSecret + "=",
			store.EnvSecretKey + "=", store.EnvSecretKeyFile + "=",
		}, nil
	}
}

// runTokenTTL is how long a child's first token lives: the child renews
// it (runtime/remote.KeepTokenFresh) while its worker renews the run's
// lease, so a token copied out of a run dies minutes after the run.
const runTokenTTL = 15 * time.Minute

// matcher matches events against the app's triggers with the stored
// deployments, reloaded every few seconds and after every deploy.
type matcher struct {
	app   *compiled
	st    store.Store
	match atomic.Pointer[api.Matcher]
}

func (m *matcher) reload(ctx context.Context) error {
	deps, err := m.st.ListDeployments(ctx)
	if err != nil {
		return err
	}
	f := api.Matcher(m.app.triggers.Matcher(deps))
	m.match.Store(&f)
	return nil
}

func (m *matcher) Match(ev store.Event) ([]store.RunSpec, error) {
	f := m.match.Load()
	if f == nil {
		return nil, errors.New("triggers not loaded yet")
	}
	return (*f)(ev)
}

// serverHandler wraps the API: a run created or an event accepted wakes
// the embedded worker, an applied deployment reloads the triggers. A
// request the API refused (an intake answered 401, say) does neither:
// else anyone could keep the worker polling.
func serverHandler(h http.Handler, wake func(), reload func()) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		var act func()
		switch {
		case r.Method == http.MethodPost && (strings.HasSuffix(p, "/runs") || strings.HasPrefix(p, "/api/v1/events/")):
			act = wake
		case r.Method == http.MethodPut && strings.HasPrefix(p, "/api/v1/deployments/"):
			act = reload
		default:
			h.ServeHTTP(w, r)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status < 300 {
			act()
		}
	})
}

// statusWriter remembers the status of an answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
