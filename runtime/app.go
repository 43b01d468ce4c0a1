package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/source"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/trigger"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// DefaultPool is the work pool of deployments that name none, and the
// pool the server's embedded worker polls unless told otherwise.
const DefaultPool = "default"

// App is an orchestrator compiled into one binary: the flows it contains
// and what it declares about them in Go. Build one in main and hand it to
// [Main]. Fields are read, never modified; an App may be used by several
// commands in one process.
type App struct {
	// Name is the program name in usage and messages; default "netauto".
	Name string
	// Flows are the flows compiled into the binary; names are unique.
	Flows []flow.Definition
	// Deployments are applied by `deploy` (create or update, idempotent).
	// A deployment without Pool goes to [DefaultPool].
	Deployments []store.Deployment
	// Pools are applied by `server` at start and by `deploy`. A pool that
	// a deployment names but that is not declared is created as an
	// in-process pool.
	Pools []store.Pool
	// TagLimits are the engine's tag concurrency limits, enforced across
	// every worker through the store; the server sets them at start, and
	// `deploy` over the API.
	TagLimits map[string]int
	// Triggers start deployments from events received by the server.
	Triggers []trigger.Trigger
	// Sources are the event sources the server accepts by name (POST
	// /api/v1/events/{name}), each with the verifier of its requests. A
	// source is one value: it verifies deliveries (api.Verifier), may
	// say where its payloads hold the event type (api.EventTyper) and
	// the kind of their target (api.EventKinder); without those, the
	// type and kind are read as Infrahub, the default source, writes
	// them (api.InfrahubVerifier).
	Sources map[string]api.Verifier
	// Launchers run the runs of work pools, by pool type, besides or
	// instead of the defaults ([DefaultLaunchers]: "in-process",
	// "process", "docker"); a nil value removes a default. A worker runs
	// its pool's runs with the launcher of the pool's type (or the one
	// --launcher names); deploy and the API check job templates and job
	// variables through it. Adding a launcher (Kubernetes Jobs, Nomad...)
	// is a package implementing launch.Factory and one entry here.
	Launchers launch.Registry
	// Image is the worker image that `deploy --build` builds through the
	// Docker Engine API before it applies anything. Nil: --build needs
	// --image and --dockerfile.
	Image *DockerImage
	// Commands are the program's own commands besides the built-in ones
	// (a demo, a simulator): `help` lists them and Run dispatches to
	// them. A name that is a built-in command's is an invalid App.
	Commands []Command
}

// Command is a command a program adds to an [App]'s command line.
type Command struct {
	// Name is the command word; Args its synopsis; Help one line on
	// what it does.
	Name, Args, Help string
	// Run runs the command with the arguments after its name and
	// returns the exit status.
	Run func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// DockerImage is an image built from a Dockerfile by `deploy --build`,
// like the original design's DockerImage(name, tag, dockerfile).
type DockerImage struct {
	// Name is the image's repository, such as "netauto-worker" or
	// "registry.example.net/netauto/worker". Required.
	Name string
	// Tag defaults to "latest".
	Tag string
	// Dockerfile is the Dockerfile's path relative to Context; default
	// "Dockerfile".
	Dockerfile string
	// Context is the build context directory, relative to the working
	// directory of `deploy`; default ".".
	Context string
	// Target is the stage to build; default the last.
	Target string
	// BuildArgs set the Dockerfile's ARG values (never secrets: an image
	// keeps them).
	BuildArgs map[string]string
}

// DefaultLaunchers returns the launchers every App has unless it
// overrides them in [App.Launchers]: in-process (runs in the worker's
// process), process (a child process per run) and docker (a container
// per run).
func DefaultLaunchers() launch.Registry {
	return launch.Registry{
		launch.TypeInProcess: launch.InProcess(),
		launch.TypeProcess:   launch.Process(),
		launch.TypeDocker:    docker.Factory{},
	}
}

// compiled is an App checked once: its registry and trigger table.
type compiled struct {
	app       *App
	launchers launch.Registry
	registry  *worker.Registry
	triggers  *trigger.Table
	deps      []store.Deployment
	pools     []store.Pool
}

// compile validates the App. Errors name the field (deployments[1].flow).
func (a *App) compile() (*compiled, error) {
	reg, err := worker.NewRegistry(a.Flows...)
	if err != nil {
		return nil, err
	}
	tab, err := trigger.New(a.Triggers...)
	if err != nil {
		return nil, err
	}
	if kinds := sourceKinds(a.Sources); kinds != nil {
		tab = tab.WithKinds(kinds)
	}
	launchers := DefaultLaunchers()
	for typ, f := range a.Launchers {
		if strings.TrimSpace(typ) == "" {
			return nil, &store.InvalidError{Field: "launchers", Reason: "empty pool type"}
		}
		if f == nil {
			delete(launchers, typ)
		} else {
			launchers[typ] = f
		}
	}
	c := &compiled{app: a, launchers: launchers, registry: reg, triggers: tab}
	if err := c.checkCommands(); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for i, d := range a.Deployments {
		field := fmt.Sprintf("deployments[%d]", i)
		switch {
		case strings.TrimSpace(d.Name) == "":
			return nil, &store.InvalidError{Field: field + ".name", Reason: "empty"}
		case seen[d.Name]:
			return nil, &store.InvalidError{Field: field + ".name", Reason: fmt.Sprintf("deployment %q declared twice", d.Name)}
		}
		if d.Source != nil {
			// The flow arrives by Git: the worker builds it and validates
			// the parameters against the commit's schema.
			if strings.TrimSpace(d.Flow) == "" {
				return nil, &store.InvalidError{Field: field + ".flow", Reason: "empty"}
			}
			if err := source.Validate(*d.Source, true); err != nil {
				var ie *store.InvalidError
				if errors.As(err, &ie) {
					return nil, &store.InvalidError{Field: field + "." + ie.Field, Reason: ie.Reason}
				}
				return nil, err
			}
		} else if def, ok := reg.Lookup(d.Flow); !ok {
			return nil, &store.InvalidError{Field: field + ".flow", Reason: fmt.Sprintf("flow %q is not among the app's flows %v", d.Flow, reg.Names())}
		} else if err := api.CheckParameters(storeFlow(def), d); err != nil {
			// As the server would refuse them, but before anything is applied.
			var ie *store.InvalidError
			if errors.As(err, &ie) {
				return nil, &store.InvalidError{Field: field + "." + ie.Field, Reason: ie.Reason}
			}
			return nil, fmt.Errorf("%s: %w", field, err)
		}
		if len(d.Parameters) > 0 {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(d.Parameters, &obj); err != nil || obj == nil {
				return nil, &store.InvalidError{Field: field + ".parameters", Reason: "want a JSON object"}
			}
		}
		if err := checkSchedules(field, d.Schedules); err != nil {
			return nil, err
		}
		seen[d.Name] = true
		if d.Pool == "" {
			d.Pool = DefaultPool
		}
		c.deps = append(c.deps, d)
	}
	declared := map[string]bool{}
	for i, p := range a.Pools {
		if strings.TrimSpace(p.Name) == "" {
			return nil, &store.InvalidError{Field: fmt.Sprintf("pools[%d].name", i), Reason: "empty"}
		}
		if declared[p.Name] {
			return nil, &store.InvalidError{Field: fmt.Sprintf("pools[%d].name", i), Reason: fmt.Sprintf("pool %q declared twice", p.Name)}
		}
		declared[p.Name] = true
		c.pools = append(c.pools, p)
	}
	for i, p := range c.pools {
		if err := launchers.CheckJobTemplate(p); err != nil {
			return nil, fielderr.Under(fmt.Sprintf("pools[%d].job_template", i), err)
		}
	}
	for i, d := range c.deps {
		for _, p := range c.pools {
			if p.Name == d.Pool {
				if err := launchers.CheckJobTemplate(p, d.JobVariables); err != nil {
					return nil, fielderr.Under(fmt.Sprintf("deployments[%d].job_variables", i), err)
				}
			}
		}
	}
	for _, d := range c.deps {
		if !declared[d.Pool] {
			declared[d.Pool] = true
			c.pools = append(c.pools, store.Pool{Name: d.Pool, Type: launch.TypeInProcess})
		}
	}
	for tag, n := range a.TagLimits {
		if strings.TrimSpace(tag) == "" || n < 0 {
			return nil, &store.InvalidError{Field: "tag_limits[" + tag + "]", Reason: "want a tag and a limit ≥ 0"}
		}
	}
	// An App that declares deployments names one of them in each trigger
	// (a typo fails here, before anything is applied); an App without
	// deployments (applied over the API by another program) is not
	// checked.
	for i, tr := range a.Triggers {
		if len(a.Deployments) > 0 && !seen[tr.Deployment] {
			return nil, &store.InvalidError{Field: fmt.Sprintf("triggers[%d].deployment", i), Reason: fmt.Sprintf("deployment %q is not among the app's deployments", tr.Deployment)}
		}
	}
	if a.Image != nil && strings.TrimSpace(a.Image.Name) == "" {
		return nil, &store.InvalidError{Field: "image.name", Reason: "empty"}
	}
	return c, nil
}

// sourceKinds reads the kind of an event's target as its source says
// ([api.EventKinder]), else where Infrahub, the default source, puts it.
// Nil when no source says.
func sourceKinds(sources map[string]api.Verifier) trigger.KindFunc {
	kinders := map[string]api.EventKinder{}
	for name, v := range sources {
		if k, ok := v.(api.EventKinder); ok {
			kinders[name] = k
		}
	}
	if len(kinders) == 0 {
		return nil
	}
	return func(ev store.Event) string {
		if k, ok := kinders[ev.Source]; ok {
			return k.EventKind(ev.Type, ev.Payload)
		}
		return trigger.DefaultKind(ev)
	}
}

// name is the program name.
func (c *compiled) name() string {
	if c.app.Name != "" {
		return c.app.Name
	}
	return "netauto"
}

// storeFlow describes a compiled flow as the store registers it.
func storeFlow(d flow.Definition) store.Flow {
	desc := d.Describe()
	return store.Flow{Name: desc.Name, Version: desc.Version, Description: desc.Description, Parameters: desc.Parameters}
}

// poolsWith returns the app's pools plus an in-process pool for each of
// extra not among them.
func (c *compiled) poolsWith(extra ...string) []store.Pool {
	pools := slices.Clone(c.pools)
	for _, name := range extra {
		if name != "" && !slices.ContainsFunc(pools, func(p store.Pool) bool { return p.Name == name }) {
			pools = append(pools, store.Pool{Name: name, Type: launch.TypeInProcess})
		}
	}
	return pools
}

// bootstrap writes what the server needs before it serves: the compiled
// flows (so runs can be created before the first deploy), the pools and
// the tag limits; workerPools are the pools of the embedded workers.
// Deployments are left to `deploy`.
func (c *compiled) bootstrap(ctx context.Context, st store.Store, workerPools ...string) error {
	for _, name := range c.registry.Names() {
		def, _ := c.registry.Lookup(name)
		if err := st.RegisterFlow(ctx, storeFlow(def)); err != nil {
			return fmt.Errorf("register flow %q: %w", name, err)
		}
	}
	for _, p := range c.poolsWith(workerPools...) {
		if _, err := st.GetPool(ctx, p.Name); err == nil && p.Type == launch.TypeInProcess && !slices.ContainsFunc(c.app.Pools, func(q store.Pool) bool { return q.Name == p.Name }) {
			continue // an implicit pool never overwrites one applied by deploy or by hand
		}
		if err := st.ApplyPool(ctx, p); err != nil {
			return fmt.Errorf("apply pool %q: %w", p.Name, err)
		}
	}
	for _, tag := range slices.Sorted(maps.Keys(c.app.TagLimits)) {
		if err := st.SetTagLimit(ctx, tag, c.app.TagLimits[tag]); err != nil {
			return fmt.Errorf("set tag limit %q: %w", tag, err)
		}
	}
	return nil
}

// checkCommands refuses an extra command without a name or a Run, or
// named as a built-in or another one.
func (c *compiled) checkCommands() error {
	names := map[string]bool{"help": true}
	for _, b := range c.commands() {
		names[b.name] = true
	}
	for i, x := range c.app.Commands {
		field := fmt.Sprintf("commands[%d]", i)
		switch {
		case strings.TrimSpace(x.Name) == "" || strings.HasPrefix(x.Name, "-"):
			return &store.InvalidError{Field: field + ".name", Reason: "empty or starting with -"}
		case names[x.Name]:
			return &store.InvalidError{Field: field + ".name", Reason: fmt.Sprintf("%q is already a command", x.Name)}
		case x.Run == nil:
			return &store.InvalidError{Field: field + ".run", Reason: "nil"}
		}
		names[x.Name] = true
	}
	return nil
}

// checkSchedules parses a deployment's schedules as the scheduler will,
// so that a bad cron or time zone fails the App before `deploy` or
// `server` applies anything.
func checkSchedules(field string, scheds []store.Schedule) error {
	for i, sc := range scheds {
		f := fmt.Sprintf("%s.schedules[%d]", field, i)
		_, err := schedule.Parse(schedule.Schedule{Cron: sc.Cron, Every: sc.Interval, Anchor: sc.Anchor, Timezone: sc.Timezone})
		var fe *fielderr.Error
		if errors.As(err, &fe) {
			name := fe.Field
			if name == "every" { // the store's name is interval
				name = "interval"
			}
			return &store.InvalidError{Field: f + "." + name, Reason: fe.Reason}
		}
		if err != nil {
			return &store.InvalidError{Field: f, Reason: err.Error()}
		}
		if len(sc.Parameters) > 0 {
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(sc.Parameters, &obj); err != nil || obj == nil {
				return &store.InvalidError{Field: f + ".parameters", Reason: "want a JSON object"}
			}
		}
	}
	return nil
}
