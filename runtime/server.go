package runtime

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/scheduler"
	"github.com/netauto-dev/netauto/runtime/source"
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
}

func newWorkerFlags(fs interface {
	String(string, string, string) *string
	Int(string, int, string) *int
	Duration(string, time.Duration, string) *time.Duration
	Bool(string, bool, string) *bool
}) workerFlags {
	return workerFlags{
		pool:        fs.String("pool", DefaultPool, "work pool to claim runs from"),
		launcher:    fs.String("launcher", "", "launcher: in-process, process (a child `execute` process per run) or docker (a container per run); default docker for a pool of type docker, else in-process"),
		name:        fs.String("name", "", "worker name, unique among running workers; keep it across restarts so that the docker launcher can clean up after its earlier life (default host-pid-random)"),
		concurrency: fs.Int("concurrency", 4, "runs executed at once"),
		lease:       fs.Duration("lease", 0, "lease of a claimed run, overriding the pool's (default 10s): a dead worker's runs are reaped after it"),
		heartbeat:   fs.Duration("heartbeat", 0, "interval of lease renewals and heartbeats, overriding the pool's (default lease/3)"),
		grace:       fs.Duration("grace", 30*time.Second, "on SIGTERM: how long running runs may finish before they are abandoned to the reaper"),
		poll:        fs.Duration("poll", time.Second, "wait between claims while nothing is due"),
		sourceCache: fs.String("source-cache", envOr(EnvSourceCache, DefaultSourceCache), "directory where Git sources are fetched and built (env "+EnvSourceCache+")"),
		allowFile:   fs.Bool("source-allow-file", os.Getenv(EnvSourceAllowFile) == "1", "accept file:// Git sources (env "+EnvSourceAllowFile+"=1)"),
		childEnv:    fs.String("child-env", os.Getenv(EnvChildEnv), "process launcher: variables of the worker's environment its children get besides PATH, HOME, locale, proxies and CA settings; comma-separated names or PREFIX* (env "+EnvChildEnv+")"),
	}
}

func (f workerFlags) check() error {
	switch {
	case *f.launcher != "" && *f.launcher != "in-process" && *f.launcher != "process" && *f.launcher != "docker":
		return usagef("--launcher %q: want in-process, process or docker", *f.launcher)
	case *f.concurrency < 1:
		return usagef("--concurrency %d: want at least 1", *f.concurrency)
	case (*f.lease != 0 && *f.lease < 3*time.Millisecond) || *f.poll <= 0 || *f.heartbeat < 0:
		return usagef("--lease (0 for the pool's), --heartbeat and --poll must be positive")
	case *f.heartbeat > 0 && *f.lease > 0 && 2**f.heartbeat > *f.lease:
		return usagef("--heartbeat %s: at most half the lease", *f.heartbeat)
	}
	return nil
}

// tokenMinter mints a run token for a child process, bound to the
// execution f.
type tokenMinter func(ctx context.Context, f store.Fence) (string, error)

// startWorker builds the worker the flags describe. For the process
// launcher, apiURL and mint give the children the API and their token.
func (e *env) newWorker(st store.Store, f workerFlags, apiURL string, mint tokenMinter) (*worker.Worker, func() error, error) {
	var l worker.Launcher
	closeFn := func() error { return nil }
	var dl *docker.Launcher
	if *f.launcher == "" {
		*f.launcher = "in-process"
	}
	name := ""
	if f.name != nil {
		name = *f.name
	}
	switch *f.launcher {
	case "docker":
		cli, err := dockerclient.New(dockerclient.FromEnv, dockerclient.WithAPIVersionNegotiation())
		if err != nil {
			return nil, nil, fmt.Errorf("docker launcher: %w", err)
		}
		dl = &docker.Launcher{Client: cli, Store: st, Env: childEnv(apiURL, mint), Grace: *f.grace / 2, Logger: e.log}
		l, closeFn = dl, cli.Close
	case "", "in-process":
		ip := worker.NewInProcess(st, e.app.registry, store.RecorderOptions{}, store.LimiterOptions{})
		ip.SetConsole(e.stderr) // run logs on the terminal, as a local run prints them
		l, closeFn = ip, ip.Close
	case "process":
		var pass []string
		if f.childEnv != nil {
			pass = splitList(*f.childEnv)
		}
		l = &worker.Process{Logs: st, Env: childEnv(apiURL, mint), PassEnv: pass, Grace: *f.grace / 2, Logger: e.log}
	}
	if *f.launcher == "process" || *f.launcher == "docker" {
		// Runs of deployments with a Git source run their commit's build:
		// the binary itself, or the docker launcher's image derived from
		// the pool's image with the binary added.
		// The hooks of runs the runtime ended itself run here: those of
		// the flows compiled in, those of a Git source in its binary.
		l = &source.Launcher{Next: l, Store: st, Logger: e.log, Hooks: e.app.registry, Env: childEnv(apiURL, mint),
			Cache: &source.Cache{Dir: *f.sourceCache, AllowFile: *f.allowFile}}
	}
	var heartbeat time.Duration
	if f.heartbeat != nil {
		heartbeat = *f.heartbeat
	}
	w, err := worker.New(st, worker.Options{
		Name: name, Pool: *f.pool, Launcher: l, LauncherType: *f.launcher, Concurrency: *f.concurrency,
		Lease: *f.lease, Heartbeat: heartbeat, Poll: *f.poll, Logger: e.log,
	})
	if err != nil {
		closeFn()
		return nil, nil, err
	}
	if dl != nil {
		dl.Worker = w.Name()
		if _, err := dl.Recover(e.ctx, *f.pool, st); err != nil {
			e.log.Warn("docker launcher: recover containers", slog.String("error", err.Error()))
		}
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
	log.Info("worker draining", slog.Int("running", w.Running()), slog.Duration("grace", grace))
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := w.Shutdown(sctx); err != nil {
		log.Warn("runs abandoned to the reaper", slog.String("error", err.Error()))
		abandon()
	}
	if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return nil
}

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
	if err := wf.check(); err != nil {
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
	var secret []byte
	if s := os.Getenv(EnvTokenSecret); s != "" {
		if err := store.CheckSecretValue(EnvTokenSecret, s); err != nil {
			return err
		}
		secret = []byte(s)
	}
	return e.serve(serverConfig{db: *db, listen: *listen, noWorker: *noWorker, keys: keys, secret: secret,
		schedEvery: *schedEvery, reapEvery: *reapEvery, worker: wf}, nil)
}

type serverConfig struct {
	db, listen            string
	noWorker              bool
	keys                  *api.KeySet
	secret                []byte
	schedEvery, reapEvery time.Duration
	worker                workerFlags
}

// serve runs the server until e.ctx is done. ready, when set, is called
// with the API's URL once it accepts connections.
func (e *env) serve(cfg serverConfig, ready func(url string)) error {
	ctx := e.ctx
	localKeyFile := ""
	if cfg.keys.Len() == 0 {
		// No key configured: a local admin key, which the command line on
		// this machine finds by itself, so that no web page can drive the
		// API; and still loopback only.
		if err := api.CheckListenAddr(cfg.listen, false); err != nil {
			return err
		}
		localKeyFile = localKeyPath(cfg.db)
		k, err := ensureLocalKey(localKeyFile)
		if err != nil {
			return err
		}
		ks := &api.KeySet{}
		if err := ks.Add(api.KeyInfo{Name: localKeyName, Role: api.RoleAdmin}, k); err != nil {
			return err
		}
		cfg.keys = ks
	}
	st, err := openStore(ctx, cfg.db)
	if err != nil {
		return err
	}
	defer st.Close()
	st = api.InstrumentStore(st) // /metrics counts the embedded worker's and the reaper's run changes too
	pool := *cfg.worker.pool
	if cfg.noWorker {
		pool = ""
	}
	if err := e.app.bootstrap(ctx, st, pool); err != nil {
		return err
	}
	m := &matcher{app: e.app, st: st}
	if err := m.reload(ctx); err != nil {
		return fmt.Errorf("load deployments: %w", err)
	}
	srv, err := api.New(st, api.Options{Keys: cfg.keys, TokenSecret: cfg.secret, Sources: e.app.app.Sources, Match: m.Match, Logger: e.log})
	if err != nil {
		return err
	}
	hs, err := srv.HTTPServer(cfg.listen)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	certFile, keyFile := os.Getenv(EnvTLSCert), os.Getenv(EnvTLSKey)
	if (certFile == "") != (keyFile == "") {
		ln.Close()
		return fmt.Errorf("%s and %s go together: set both to serve HTTPS, or neither", EnvTLSCert, EnvTLSKey)
	}
	if certFile != "" {
		// Load now: a bad pair fails the start, not the first handshake.
		if _, err := tls.LoadX509KeyPair(certFile, keyFile); err != nil {
			ln.Close()
			return fmt.Errorf("%s, %s: %w", EnvTLSCert, EnvTLSKey, err)
		}
		hs.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		url = "https://" + ln.Addr().String()
	}
	if localKeyFile != "" {
		unregister, err := client.RegisterLocalKey(ln.Addr().String(), localKeyFile)
		if err != nil {
			// The key still works; client commands find it beside the
			// store (NETAUTO_DB) or through NETAUTO_API_KEY.
			e.log.Warn("record the local admin key for client commands", slog.String("error", err.Error()))
		} else {
			defer unregister()
		}
	}

	var w *worker.Worker
	wake := func() {}
	if !cfg.noWorker {
		mint := func(ctx context.Context, f store.Fence) (string, error) {
			tok, _, err := srv.MintRunToken(ctx, f, runTokenTTL)
			return tok, err
		}
		var closeFn func() error
		w, closeFn, err = e.newWorker(st, cfg.worker, url, mint)
		if err != nil {
			ln.Close()
			return err
		}
		defer closeFn()
		wake = w.Wake
	}
	reload := func() {
		if err := m.reload(context.WithoutCancel(ctx)); err != nil {
			e.log.Warn("reload deployments for triggers", slog.String("error", err.Error()))
		}
	}
	hs.Handler = serverHandler(srv, wake, reload)

	var wg sync.WaitGroup
	errs := make(chan error, 3)
	bg, stopBG := context.WithCancel(ctx)
	defer stopBG()
	wg.Go(func() {
		serve := func() error { return hs.Serve(ln) }
		if certFile != "" {
			serve = func() error { return hs.ServeTLS(ln, certFile, keyFile) }
		}
		if err := serve(); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- fmt.Errorf("serve API: %w", err)
		}
	})
	sc := scheduler.New(st, scheduler.Options{Interval: cfg.schedEvery, ReapInterval: cfg.reapEvery, Logger: e.log})
	wg.Go(func() {
		if err := sc.Run(bg); err != nil && bg.Err() == nil {
			errs <- fmt.Errorf("scheduler: %w", err)
		}
	})
	wg.Go(func() {
		t := time.NewTicker(30 * time.Second)
		defer t.Stop()
		prune := time.NewTicker(time.Hour)
		defer prune.Stop()
		for {
			select {
			case <-bg.Done():
				return
			case <-t.C:
				reload()
			case <-prune.C:
				if n, err := srv.PruneEvents(bg); err != nil {
					e.log.Warn("prune received events", slog.String("error", err.Error()))
				} else if n > 0 {
					e.log.Info("pruned received events", slog.Int("events", n))
				}
			}
		}
	})
	if w != nil {
		wg.Go(func() {
			if err := runWorker(bg, w, *cfg.worker.grace, e.log); err != nil {
				errs <- fmt.Errorf("embedded worker: %w", err)
			}
		})
	}
	workerNote := "no embedded worker"
	if w != nil {
		workerNote = fmt.Sprintf("embedded %s worker on pool %q", *cfg.worker.launcher, *cfg.worker.pool)
	}
	fmt.Fprintf(e.stdout, "netauto server: API on %s (%s)\n", url, workerNote)
	if localKeyFile != "" {
		fmt.Fprintf(e.stdout, "netauto server: no API key configured (%s): local admin key in %s, loopback only\n", EnvAPIKeys, localKeyFile)
	}
	if ready != nil {
		ready(url)
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errs:
	}
	e.log.Info("server stopping")
	stopBG()
	// Let the worker drain while the API still answers the children of
	// the process launcher; then close the API.
	done := make(chan struct{})
	go func() {
		defer close(done)
		sctx, cancel := context.WithTimeout(context.Background(), *cfg.worker.grace+10*time.Second)
		defer cancel()
		if w != nil {
			_ = w.Shutdown(sctx)
		}
		if err := hs.Shutdown(sctx); err != nil {
			hs.Close()
		}
	}()
	<-done
	wg.Wait()
	return runErr
}

func splitList(s string) []string {
	var out []string
	for p := range strings.SplitSeq(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func cmdWorker(e *env, args []string) error {
	fs := e.flags("worker")
	db := dbFlag(fs)
	af := newAPIFlags(fs)
	wf := newWorkerFlags(fs)
	if _, err := parse(fs, args); err != nil {
		return err
	}
	if err := wf.check(); err != nil {
		return err
	}
	st, err := openStore(e.ctx, *db)
	if err != nil {
		return err
	}
	defer st.Close()
	if *wf.launcher == "" {
		*wf.launcher = "in-process"
		if p, err := st.GetPool(e.ctx, *wf.pool); err == nil && p.Type == docker.PoolType {
			*wf.launcher = "docker"
		}
	}
	var mint tokenMinter
	if *wf.launcher == "process" || *wf.launcher == "docker" {
		c, err := af.client()
		if err != nil {
			return err
		}
		mint = func(ctx context.Context, f store.Fence) (string, error) {
			tok, err := c.MintExecutionToken(ctx, f, runTokenTTL)
			return tok.Token, err
		}
	}
	w, closeFn, err := e.newWorker(st, wf, *af.url, mint)
	if err != nil {
		return err
	}
	defer closeFn()
	fmt.Fprintf(e.stdout, "netauto worker %s: pool %q, %s launcher, %d at once\n", w.Name(), *wf.pool, *wf.launcher, *wf.concurrency)
	return runWorker(e.ctx, w, *wf.grace, e.log)
}
