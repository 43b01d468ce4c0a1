// Package launch is how the runtime finds the launcher of a work pool:
// a [Registry] maps pool types ("in-process", "process", "docker", or a
// user's own, "kubernetes" say) to a [Factory], which makes the worker's
// [worker.Launcher] and checks the job templates of pools of its type.
// The API validates job templates through it, the worker picks its
// launcher through it; neither knows any launcher by name.
//
// The package also holds what every launcher with a job template shares:
// layering (pool template < deployment job variables < run job
// variables, [Layer]), references resolved at launch
// ({{ secrets.NAME }}, {{ blocks.NAME.FIELD }}, {{ run_id }}: [Expand]),
// quantities such as "500m" and "2Gi" ([Quantity], [Resources]), and the
// pool's allow [Policy]. Errors name the field (*[fielderr.Error]).
//
// It links no launcher implementation: no container engine client, no
// tracing.
package launch

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// The pool types of the launchers the runtime registers by default.
const (
	TypeInProcess = "in-process"
	TypeProcess   = "process"
	TypeDocker    = "docker"
)

// Factory is a launcher registered under a pool type.
type Factory interface {
	// New returns the launcher a worker of cfg.Pool executes its runs
	// with, and the function that releases it when the worker is done.
	New(ctx context.Context, cfg Config) (worker.Launcher, func() error, error)
	// CheckJobTemplate checks, at deploy time and when a run is created,
	// a pool's job template layered with job variables (a deployment's,
	// then a run's). A *[fielderr.Error] names the bad field relative to
	// the template ("env.TOKEN"). A launcher without job templates
	// returns nil.
	CheckJobTemplate(pool store.Pool, vars ...json.RawMessage) error
	// Remote reports whether runs execute outside the worker's process
	// (a child process, a container, a job on a cluster): the runtime
	// then gives each run the API URL and a token scoped to it
	// ([Config.ChildEnv]) and builds the deployments that come from Git.
	Remote() bool
}

// Config is what a [Factory] gets to make a worker's launcher.
type Config struct {
	// Store is the runtime's store: pools, deployments, secrets, logs.
	Store store.Store
	// Flows are the flows compiled into the binary (in-process runs,
	// hooks).
	Flows *worker.Registry
	// Pool is the work pool the worker serves; Worker is its name,
	// unique among running workers and kept across restarts, so a
	// launcher can find what an earlier life of the worker left running.
	Pool, Worker string
	// ChildEnv returns the environment of a remote run's `execute`: the
	// API URL, a token scoped to the run, the run. Values are secret:
	// never logged. Nil for a launcher that is not [Factory.Remote].
	ChildEnv func(ctx context.Context, run store.FlowRun) ([]string, error)
	// PassEnv names variables of the worker's environment a child
	// process gets (see worker.Process.PassEnv).
	PassEnv []string
	// Grace is how long a stopped run has before it is killed.
	Grace time.Duration
	// Warm is how many child processes a launcher that starts one per
	// run keeps started ahead of demand, each executing exactly one run
	// (see worker.Process.Warm); 0: none.
	Warm int
	// WarmEnv are the variables of ChildEnv that are the same for every
	// run (the API URL), which such children may start with (see
	// worker.Process.WarmEnv).
	WarmEnv []string
	// Logger receives what the launcher does.
	Logger *slog.Logger
}

// Registry maps pool types to their launchers.
type Registry map[string]Factory

// Types returns the registered pool types, sorted.
func (r Registry) Types() []string { return slices.Sorted(maps.Keys(r)) }

// Lookup returns the factory of poolType, or an *[UnknownTypeError].
func (r Registry) Lookup(poolType string) (Factory, error) {
	if f, ok := r[poolType]; ok && f != nil {
		return f, nil
	}
	return nil, &UnknownTypeError{Type: poolType, Known: r.Types()}
}

// CheckJobTemplate checks pool's job template layered with vars through
// the launcher of the pool's type. Pools of an unregistered type are not
// checked: their workers refuse them.
func (r Registry) CheckJobTemplate(pool store.Pool, vars ...json.RawMessage) error {
	f, ok := r[pool.Type]
	if !ok || f == nil {
		return nil
	}
	return f.CheckJobTemplate(pool, vars...)
}

// UnknownTypeError is a pool type no launcher is registered for.
type UnknownTypeError struct {
	Type  string
	Known []string
}

func (e *UnknownTypeError) Error() string {
	return fmt.Sprintf("no launcher for pool type %q (registered: %s)", e.Type, strings.Join(e.Known, ", "))
}

// InProcess is the launcher of pools of type "in-process": runs execute
// in the worker's process, the compiled-in flows recording through the
// store. It has no job template.
func InProcess() Factory { return inProcess{} }

type inProcess struct{}

func (inProcess) New(_ context.Context, cfg Config) (worker.Launcher, func() error, error) {
	if cfg.Store == nil || cfg.Flows == nil {
		return nil, nil, &fielderr.Error{Field: "store", Reason: "the in-process launcher needs the store and the flows"}
	}
	l := worker.NewInProcess(cfg.Store, cfg.Flows, store.RecorderOptions{}, store.LimiterOptions{})
	return l, l.Close, nil
}

func (inProcess) CheckJobTemplate(store.Pool, ...json.RawMessage) error { return nil }

func (inProcess) Remote() bool { return false }

// Process is the launcher of pools of type "process": a child
// `execute --run-id` process of the worker's binary per run, reporting
// over the API (see worker.Process), Config.Warm of them started ahead
// of demand. It has no job template.
func Process() Factory { return process{} }

type process struct{}

func (process) New(_ context.Context, cfg Config) (worker.Launcher, func() error, error) {
	p := &worker.Process{Logs: cfg.Store, Env: cfg.ChildEnv, PassEnv: cfg.PassEnv, Grace: cfg.Grace, Logger: cfg.Logger, Warm: cfg.Warm, WarmEnv: cfg.WarmEnv}
	return p, p.Close, nil
}

func (process) CheckJobTemplate(store.Pool, ...json.RawMessage) error { return nil }

func (process) Remote() bool { return true }
