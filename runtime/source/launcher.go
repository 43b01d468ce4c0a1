package source

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	gitssh "github.com/go-git/go-git/v5/plumbing/transport/ssh"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// Store is what the [Launcher] needs of the store.
type Store interface {
	GetDeployment(ctx context.Context, name string) (store.Deployment, error)
	RegisterFlow(ctx context.Context, f store.Flow) error
	UpdateRunInfo(ctx context.Context, id string, info store.RunInfo) error
	AppendLogs(ctx context.Context, recs []flow.LogRecord) error
	GetSecret(ctx context.Context, name string) (store.Secret, error)
}

// Launcher runs the runs of deployments with a [store.Source] from their
// Git source, and hands every other run to Next unchanged. For a sourced
// run it resolves the ref, fetches and builds the commit (or reuses the
// cached build), registers the deployment's flow of the commit (version =
// commit hash; never another flow the binary describes),
// validates the run's parameters against that commit's schema, records
// the commit on the run, and calls Next with [worker.Job] Binary and
// Commit set. Anything that fails before Next (fetch, build, protocol,
// parameters) fails the run — a *[worker.FailedError] — with the error
// and the build log in the run's logs. A retried run (its commit already
// recorded) runs the same commit again.
type Launcher struct {
	// Next launches the binary: the process launcher, or a Docker
	// launcher running it in a derived image.
	Next  worker.Launcher
	Cache *Cache
	Store Store
	// Logger receives the launcher's own warnings; default slog.Default().
	Logger *slog.Logger
	// Hooks runs the state hooks of runs the runtime ended itself
	// ([worker.HookRunner]) for runs without a Git source: the flows
	// compiled into the worker. Those of a Git-sourced run are run by its
	// commit's flow binary (`hooks --run-id`), with Env.
	Hooks worker.HookRunner
	// PassEnv names variables of the worker's environment a flow binary
	// running a run's hooks gets besides worker.DefaultChildEnv (as the
	// process launcher's PassEnv); nothing else of the worker's
	// environment reaches it.
	PassEnv []string
	// Env returns the environment added for a flow binary running a run's
	// hooks: the API URL and a run token, as for its `execute`.
	Env func(ctx context.Context, run store.FlowRun) ([]string, error)

	mu         sync.Mutex
	registered map[string]bool               // commit+target whose flows are registered
	schemas    map[string]*jsonschema.Schema // commit+flow → compiled parameter schema
}

// Launch implements [worker.Launcher].
func (l *Launcher) Launch(ctx context.Context, job worker.Job) error {
	if job.Run.Deployment == "" {
		return l.Next.Launch(ctx, job)
	}
	// The store's reads and writes wait out an outage while the
	// execution's lease holds (store.WithLease, set by the worker).
	var dep store.Deployment
	err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
		var err error
		dep, err = l.Store.GetDeployment(ctx, job.Run.Deployment)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return l.Next.Launch(ctx, job)
	}
	if err != nil {
		return fmt.Errorf("read deployment %q: %w", job.Run.Deployment, err)
	}
	if dep.Source == nil {
		return l.Next.Launch(ctx, job)
	}
	src := *dep.Source
	if IsHash(job.Run.SourceCommit) {
		// A retry runs the commit its first attempt ran, even when the
		// branch moved since.
		src.Ref = job.Run.SourceCommit
	}
	var b *Build
	err = store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
		var err error
		b, err = l.prepare(ctx, src)
		return err
	})
	if err != nil {
		if store.IsUnavailable(err) {
			return err // the store, not the source: crashed and retried, not failed
		}
		l.logFailure(ctx, job.Run.ID, err)
		return &worker.FailedError{Err: fmt.Errorf("source of deployment %q: %w", dep.Name, err)}
	}
	fd, ok := findFlow(b.Description, job.Run.Flow)
	if !ok {
		names := make([]string, 0, len(b.Description.Flows))
		for _, f := range b.Description.Flows {
			names = append(names, f.Name)
		}
		err := fmt.Errorf("flow %q is not in commit %s (it has %v)", job.Run.Flow, short(b.Commit), names)
		l.logFailure(ctx, job.Run.ID, err)
		return &worker.FailedError{Err: err}
	}
	if err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error { return l.register(ctx, b, dep.Source, fd) }); err != nil {
		return fmt.Errorf("register flow %q of commit %s: %w", fd.Name, short(b.Commit), err)
	}
	if err := l.validate(b.Commit, fd, job.Run.Parameters); err != nil {
		err = fmt.Errorf("parameters against flow %q of commit %s: %w", fd.Name, short(b.Commit), err)
		l.logFailure(ctx, job.Run.ID, err)
		return &worker.FailedError{Err: err}
	}
	commit := b.Commit
	if err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
		return l.Store.UpdateRunInfo(ctx, job.Run.ID, store.RunInfo{SourceCommit: commit})
	}); err != nil {
		return fmt.Errorf("record commit of run %s: %w", job.Run.ID, err)
	}
	// The worker's Started records the infrastructure ID with the commit
	// it claimed (none): record both here instead, so that the run never
	// shows an empty commit while it runs.
	job.Started = func(id string) {
		if err := l.Store.UpdateRunInfo(context.WithoutCancel(ctx), job.Run.ID, store.RunInfo{InfrastructureID: id, SourceCommit: commit}); err != nil {
			l.logger().Warn("record infrastructure id and commit", slog.String("run_id", job.Run.ID), slog.String("error", err.Error()))
		}
	}
	job.Run.SourceCommit = commit
	job.Binary, job.Commit = b.Binary, commit
	return l.Next.Launch(ctx, job)
}

func (l *Launcher) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

// prepare builds the request (credentials from the store) and prepares it.
func (l *Launcher) prepare(ctx context.Context, src store.Source) (*Build, error) {
	req := Request{Source: src}
	if c := src.Credentials; c != nil {
		if err := Validate(src, l.Cache.AllowFile); err != nil {
			return nil, err
		}
		sec, err := l.Store.GetSecret(ctx, c.Secret)
		if err != nil {
			return nil, fmt.Errorf("credentials secret %q: %w", c.Secret, err)
		}
		auth, err := AuthFor(c, sec.Reveal())
		if err != nil {
			return nil, err
		}
		req.Auth, req.Secrets = auth, []string{sec.Reveal()}
	}
	return l.Cache.Prepare(ctx, req)
}

// AuthFor returns the go-git authentication for credentials holding
// secret: HTTP basic auth with the token as password, a bearer token, or
// an SSH private key (PEM; host keys are checked against known_hosts).
func AuthFor(c *store.SourceCredentials, secret string) (transport.AuthMethod, error) {
	switch c.Kind {
	case "token":
		user := c.Username
		if user == "" {
			user = "x-access-token"
		}
		return &githttp.BasicAuth{Username: user, Password: secret}, nil
	case "bearer":
		return &githttp.TokenAuth{Token: secret}, nil
	case "ssh":
		user := c.Username
		if user == "" {
			user = "git"
		}
		k, err := gitssh.NewPublicKeys(user, []byte(secret), "")
		if err != nil {
			return nil, fmt.Errorf("credentials secret %q: not a usable SSH private key", c.Secret)
		}
		return k, nil
	}
	return nil, &store.InvalidError{Field: "source.credentials.kind", Reason: fmt.Sprintf("%q: want token, bearer or ssh", c.Kind)}
}

// register records the flow the deployment runs, fd of the commit, once
// per process. Only that flow: a repository's describe may name any flow,
// and registering another name would replace the schema (and version)
// the API validates that flow's runs against.
func (l *Launcher) register(ctx context.Context, b *Build, src *store.Source, fd wire.FlowDescription) error {
	k := b.Commit + "\x00" + key(src.Repository, src.Path, src.Entrypoint) + "\x00" + fd.Name
	l.mu.Lock()
	done := l.registered[k]
	l.mu.Unlock()
	if done && !b.Built {
		return nil
	}
	if err := l.Store.RegisterFlow(ctx, store.Flow{Name: fd.Name, Version: b.Commit, Description: fd.Description, Parameters: fd.Parameters}); err != nil {
		return err
	}
	l.mu.Lock()
	if l.registered == nil {
		l.registered = map[string]bool{}
	}
	l.registered[k] = true
	l.mu.Unlock()
	return nil
}

func findFlow(d wire.Description, name string) (wire.FlowDescription, bool) {
	for _, f := range d.Flows {
		if f.Name == name {
			return f, true
		}
	}
	return wire.FlowDescription{}, false
}

var printer = message.NewPrinter(language.English)

// validate checks parameters against the flow's schema of the commit.
func (l *Launcher) validate(commit string, fd wire.FlowDescription, params []byte) error {
	if len(bytes.TrimSpace(fd.Parameters)) == 0 {
		return nil
	}
	k := commit + "\x00" + fd.Name
	l.mu.Lock()
	sch := l.schemas[k]
	l.mu.Unlock()
	if sch == nil {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(fd.Parameters))
		if err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		comp := jsonschema.NewCompiler()
		url := "netauto:///source/" + commit + "/" + fd.Name + ".json"
		if err := comp.AddResource(url, doc); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		if sch, err = comp.Compile(url); err != nil {
			return fmt.Errorf("schema: %w", err)
		}
		l.mu.Lock()
		if l.schemas == nil || len(l.schemas) > 1000 {
			l.schemas = map[string]*jsonschema.Schema{}
		}
		l.schemas[k] = sch
		l.mu.Unlock()
	}
	if len(bytes.TrimSpace(params)) == 0 {
		params = []byte("{}")
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(params))
	if err != nil {
		return &fielderr.Error{Field: "parameters", Reason: "malformed JSON"}
	}
	err = sch.Validate(inst)
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return err
	}
	leaf := ve
	for len(leaf.Causes) > 0 {
		leaf = leaf.Causes[0]
	}
	path := append([]string{"parameters"}, leaf.InstanceLocation...)
	if req, ok := leaf.ErrorKind.(*kind.Required); ok && len(req.Missing) > 0 {
		return &fielderr.Error{Field: strings.Join(append(path, req.Missing[0]), "."), Reason: "required parameter missing"}
	}
	return &fielderr.Error{Field: strings.Join(path, "."), Reason: leaf.ErrorKind.LocalizedString(printer)}
}

// logFailure writes the error, and a failed build's log, into the run's
// logs (secrets are already masked).
func (l *Launcher) logFailure(ctx context.Context, runID string, err error) {
	now := time.Now()
	recs := []flow.LogRecord{{RunID: runID, FlowRunID: runID, Time: now, Level: slog.LevelError, Message: err.Error()}}
	var be *BuildError
	if errors.As(err, &be) && be.Log != "" {
		recs = append(recs, flow.LogRecord{RunID: runID, FlowRunID: runID, Time: now, Level: slog.LevelError, Message: "build log:"})
		sc := bufio.NewScanner(strings.NewReader(be.Log))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			recs = append(recs, flow.LogRecord{RunID: runID, FlowRunID: runID, Time: now, Level: slog.LevelError, Message: sc.Text()})
		}
	}
	if err := l.Store.AppendLogs(context.WithoutCancel(ctx), recs); err != nil {
		l.logger().Warn("store failure of run", slog.String("run_id", runID), slog.String("error", err.Error()))
	}
}

// RunHooks implements [worker.HookRunner]. A run of a deployment with a
// Git source has its hooks run by the flow binary of the commit it ran
// (built again if the cache lost it): `hooks --run-id ID`, with the run
// (its final state included) in $NETAUTO_RUN and Env's variables. Other
// runs go to Hooks. The binary's output becomes the run's log lines.
func (l *Launcher) RunHooks(ctx context.Context, run store.FlowRun) error {
	var dep store.Deployment
	var err error
	if run.Deployment != "" {
		dep, err = l.Store.GetDeployment(ctx, run.Deployment)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("read deployment %q: %w", run.Deployment, err)
		}
	}
	if dep.Source == nil {
		if l.Hooks == nil {
			return &worker.UnknownFlowError{Flow: run.Flow}
		}
		return l.Hooks.RunHooks(ctx, run)
	}
	src := *dep.Source
	if IsHash(run.SourceCommit) {
		src.Ref = run.SourceCommit
	}
	b, err := l.prepare(ctx, src)
	if err != nil {
		return fmt.Errorf("source of deployment %q for the run's hooks: %w", dep.Name, err)
	}
	doc, err := json.Marshal(run)
	if err != nil {
		return err
	}
	// The worker's own environment stays out (its database URL, its API
	// key): the binary is the repository's code. It gets what a process
	// launcher's child gets, the settings the run's job template gave the
	// run (when the launcher behind this one has a template), then the
	// run and Env's variables.
	env := worker.ChildEnviron(os.Environ(), l.PassEnv)
	if he, ok := l.Next.(hookEnver); ok {
		extra, err := he.HookEnv(ctx, run)
		if err != nil {
			return fmt.Errorf("settings of the hooks of run %s: %w", run.ID, err)
		}
		env = append(env, extra...)
	}
	env = append(env, worker.EnvRunID+"="+run.ID, agentEnvRun+"="+string(doc))
	if l.Env != nil {
		extra, err := l.Env(ctx, run)
		if err != nil {
			return fmt.Errorf("environment of the hooks of run %s: %w", run.ID, err)
		}
		env = append(env, extra...)
	}
	hctx, cancel := context.WithTimeout(ctx, hooksTimeout)
	defer cancel()
	cmd := exec.CommandContext(hctx, b.Binary, "hooks", "--run-id", run.ID)
	cmd.Env = env
	out := worker.NewOutputLog(l.Store, run.ID, 20, l.logger())
	stdout, stderr := out.Writer(slog.LevelInfo), out.Writer(slog.LevelWarn)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	err = cmd.Run()
	stdout.End()
	stderr.End()
	out.Close()
	if err != nil {
		return fmt.Errorf("flow binary of commit %s: hooks: %w; last output:\n%s", short(b.Commit), err, strings.Join(out.Tail(), "\n"))
	}
	return nil
}

// hookEnver is a launcher whose runs get settings of their own (the
// docker launcher's job template env): a run's hooks get them too.
type hookEnver interface {
	HookEnv(ctx context.Context, run store.FlowRun) ([]string, error)
}

// agentEnvRun is the variable a flow binary reads the run from
// (runtime/agent's EnvRun; this package does not link the agent).
const agentEnvRun = "NETAUTO_RUN"

// hooksTimeout bounds a flow binary running a run's hooks.
const hooksTimeout = 5 * time.Minute
