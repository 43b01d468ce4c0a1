package docker

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// Labels the launcher puts on its containers and derived images.
const (
	labelPrefix = "netauto."
	// LabelRun names the run a container executes.
	LabelRun = "netauto.run"
	// LabelDeployment names the run's deployment.
	LabelDeployment = "netauto.deployment"
	// LabelWorker names the worker that launched the container.
	LabelWorker = "netauto.worker"
	// LabelPool names the work pool of the run.
	LabelPool = "netauto.pool"
	// LabelDerived marks an image derived from a base image and a flow
	// binary; its value is the source commit.
	LabelDerived = "netauto.derived"
)

// apiURLEnv is the API URL variable of the execute process, which a
// pool's template may set for its containers.
const apiURLEnv = "NETAUTO_API_URL"

// DefaultBinary is the orchestrator's binary run in the container, looked
// up in the image's PATH, when the job template has no command.
const DefaultBinary = "netauto"

// derivedBinary is where a derived image holds the run's flow binary.
const derivedBinary = "/usr/local/bin/netauto-flow"

// Store is what the launcher reads and writes: the run's pool and
// deployment (for the job template), the secrets, blocks and variables
// env values reference, and the run's logs. A store.Store is one.
type Store interface {
	launch.Resolver
	GetPool(ctx context.Context, name string) (store.Pool, error)
	GetDeployment(ctx context.Context, name string) (store.Deployment, error)
	AppendLogs(ctx context.Context, recs []flow.LogRecord) error
}

// Launcher is the Docker launcher, a [worker.Launcher]: each run executes
// in a container started from the job template of the run's pool, layered
// with its deployment's and its own job variables. The container runs the
// orchestrator's `execute --run-id ID`, which reports states, task runs
// and logs over the API with the run-scoped token Env provides. The
// launcher streams the container's output into the run's logs, stops it
// on cancel (SIGTERM, then SIGKILL after Grace), kills it at once when
// the worker loses the run's lease, and reports how it ended. The
// container's `execute` reads the worker's lease on its standard input
// and stops by itself when the worker is gone or the lease runs out, so
// that a dead worker's containers stop before their runs are retried.
type Launcher struct {
	// Client is the Engine API client. Required.
	Client *client.Client
	// Store gives job templates, referenced secrets and the logs.
	// Required.
	Store Store
	// Worker is the worker's name, put on the containers' labels; see
	// [Launcher.Recover].
	Worker string
	// Env returns the API URL and the run-scoped token for a run's
	// container, as for the process launcher. Values are never logged.
	Env func(ctx context.Context, run store.FlowRun) ([]string, error)
	// Grace is how long a container has to stop before it is killed;
	// default 10s.
	Grace time.Duration
	// Tail is how many last lines of output an error carries; default 20.
	Tail int
	// Logger receives what the launcher does; default slog.Default().
	Logger *slog.Logger

	builds sync.Map // derived image tag -> *derivedBuild
}

var _ worker.Launcher = (*Launcher)(nil)

// ExitError says how a run's container ended, with its last lines of
// output. The worker records it as the Crashed message of a run that
// ended without a final state.
type ExitError struct {
	// Container is the container's ID.
	Container string
	// Status is the container's exit code.
	Status int
	// OOMKilled reports that the kernel killed it for lack of memory.
	OOMKilled bool
	// Err is a failure to wait for the container, if any.
	Err  error
	Tail []string
}

func (e *ExitError) Error() string {
	var b strings.Builder
	id := shortID(e.Container)
	switch {
	case e.Err != nil:
		fmt.Fprintf(&b, "container %s: wait failed: %v", id, e.Err)
	case e.OOMKilled:
		fmt.Fprintf(&b, "container %s killed for lack of memory (exit code %d)", id, e.Status)
	default:
		fmt.Fprintf(&b, "container %s exited with code %d", id, e.Status)
	}
	if len(e.Tail) > 0 {
		b.WriteString("; last output:\n")
		b.WriteString(strings.Join(e.Tail, "\n"))
	}
	return b.String()
}

func (e *ExitError) Unwrap() error { return e.Err }

// ImageError is a run's image that could not be had: a failed pull, or a
// missing image under the Never policy.
type ImageError struct {
	Image  string
	Policy PullPolicy
	Err    error
}

func (e *ImageError) Error() string {
	reg := registryOf(e.Image)
	return fmt.Sprintf("image %q (registry %s, pull policy %s): %v", e.Image, reg, e.Policy, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// registryOf returns the registry host of an image reference.
func registryOf(ref string) string {
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}

func (l *Launcher) logger() *slog.Logger {
	if l.Logger != nil {
		return l.Logger
	}
	return slog.Default()
}

// HookEnv returns the variables the run's job template gives its
// container ("KEY=VALUE", secret and block references resolved, secret
// values included), for a flow binary that runs the run's hooks outside a
// container (runtime/source's launcher, for a run the runtime ended
// itself): the hooks need the settings the run had, such as where
// notifications go. The launcher's own variables (run, token, API key)
// are left out; the caller sets its own.
func (l *Launcher) HookEnv(ctx context.Context, run store.FlowRun) ([]string, error) {
	t, err := l.Template(ctx, run)
	if err != nil {
		return nil, err
	}
	var env []string
	for _, k := range sortedKeys(t.Env) {
		if slices.Contains(secretEnvNames, k) {
			continue
		}
		v, _, err := launch.Expand(ctx, t.Env[k], run, l.Store)
		if err != nil {
			return nil, fmt.Errorf("job template: env.%s: %w", k, err)
		}
		env = append(env, k+"="+v)
	}
	return env, nil
}

// Template returns the job template of a run: its pool's template, its
// deployment's job variables and its own, layered and checked against the
// pool's [Policy] (see [ResolveJobTemplate]).
func (l *Launcher) Template(ctx context.Context, run store.FlowRun) (JobTemplate, error) {
	var pool store.Pool
	if run.Pool != "" {
		p, err := l.Store.GetPool(ctx, run.Pool)
		if err != nil {
			return JobTemplate{}, fmt.Errorf("pool %q of run %s: %w", run.Pool, run.ID, err)
		}
		pool = p
	}
	var depVars json.RawMessage
	if run.Deployment != "" {
		d, err := l.Store.GetDeployment(ctx, run.Deployment)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return JobTemplate{}, fmt.Errorf("deployment %q of run %s: %w", run.Deployment, run.ID, err)
		}
		depVars = d.JobVariables
	}
	t, err := ResolveJobTemplate(pool, depVars, run.JobVariables)
	if err != nil {
		// The pool refuses what the run asks for (its policy may have
		// changed since the run was created): running it again would be
		// refused again.
		return JobTemplate{}, &worker.FailedError{Err: fmt.Errorf("run %s: job template: %w", run.ID, err)}
	}
	return t, nil
}

// Launch implements [worker.Launcher]. It returns an *[ExitError] however
// the container ended (code 0 included: only the store knows whether the
// run reported a final state), or an error when it could not start.
func (l *Launcher) Launch(ctx context.Context, job worker.Job) error {
	run := job.Run
	// The store's reads wait out an outage while the lease holds.
	var t JobTemplate
	if err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
		var err error
		t, err = l.Template(ctx, run)
		return err
	}); err != nil {
		return err
	}
	id, secrets, err := l.create(ctx, job, t)
	if err != nil {
		return err
	}
	return l.runContainer(ctx, job, id, t.AutoRemove, secrets)
}

// SecretEnvStdin is the variable that tells `execute` to read the rest
// of its environment from its standard input before anything else: one
// JSON object of names and values, then end of input (see
// JobTemplate.SecretEnv). runtime/agent reads it.
const SecretEnvStdin = wire.EnvSecretEnv

// secretEnvNames are variables of [Launcher.Env] handed over like secrets:
// the run token, an API key, and the claimed run (its parameters may
// carry credentials). They are runtime/agent's EnvRunToken, EnvAPIKey and
// EnvRun (a test checks).
var secretEnvNames = []string{"NETAUTO_RUN_TOKEN", "NETAUTO_API_KEY", "NETAUTO_RUN"}

// create makes the run's container, ready to start. secrets are the
// variables to write to its standard input once started (nil: none, the
// container's stdin stays closed).
func (l *Launcher) create(ctx context.Context, job worker.Job, t JobTemplate) (id string, secrets map[string]string, err error) {
	id, secrets, err = l.create1(ctx, job, t)
	var fe *fielderr.Error
	if errors.As(err, &fe) && !launch.IsTransient(err) && ctx.Err() == nil {
		// A reference that does not resolve (a missing block or secret, a
		// field the block lacks) fails the same way on every retry: the
		// run fails, saying which.
		err = &worker.FailedError{Err: fmt.Errorf("job template: %w", err)}
	}
	return id, secrets, err
}

func (l *Launcher) create1(ctx context.Context, job worker.Job, t JobTemplate) (string, map[string]string, error) {
	run := job.Run
	if t.Image == "" {
		return "", nil, &worker.FailedError{Err: fmt.Errorf("job template: %w", &fielderr.Error{Field: "image", Reason: "no image in the job template or job variables"})}
	}
	if err := l.ensureImage(ctx, t.Image, t.ImagePullPolicy); err != nil {
		if ctx.Err() != nil {
			return "", nil, err // stopped meanwhile: the worker settles it as such
		}
		// The run cannot start: it fails with the image error rather than
		// crashing into a retry against the same registry or policy.
		return "", nil, &worker.FailedError{Err: err}
	}
	image := t.Image
	argv := []string{DefaultBinary, "execute", "--run-id", run.ID}
	if job.Binary != "" {
		d, err := l.DerivedImage(ctx, t.Image, job.Binary, job.Commit)
		if err != nil {
			return "", nil, err
		}
		image, argv = d, []string{derivedBinary, "execute", "--run-id", run.ID}
	}
	if len(t.Command) > 0 {
		argv = argv[:0]
		for i, a := range t.Command {
			v, _, err := launch.Expand(ctx, a, run, nil)
			if err != nil {
				return "", nil, &fielderr.Error{Field: fmt.Sprintf("command[%d]", i), Reason: err.Error()}
			}
			argv = append(argv, v)
		}
	}
	var extra []string
	if l.Env != nil {
		err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
			var err error
			extra, err = l.Env(ctx, run)
			return err
		})
		if err != nil {
			return "", nil, fmt.Errorf("environment of run %s: %w", run.ID, err)
		}
	}
	extra = append(extra, worker.EnvRunID+"="+run.ID)
	if job.Lease != nil {
		// `execute` reads the worker's lease on its standard input (after
		// the secrets, when there are any), which closes when the
		// worker's attachment does (StdinOnce): a worker that dies takes
		// its containers' runs with it.
		extra = append(extra, wire.EnvLeaseFD+"=0")
	}
	// The launcher's variables (the run, its token) win over the
	// template's, except the API URL a pool's own template may set (its
	// containers may reach the API by another address than the worker);
	// job variables may set none of them (see ResolveJobTemplate).
	own := map[string]bool{}
	kept := extra[:0]
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		if _, set := t.Env[k]; set && k == apiURLEnv {
			continue
		}
		own[k] = true
		kept = append(kept, kv)
	}
	extra = kept
	var env []string
	stdin := t.SecretEnv != "env"
	var secrets map[string]string
	secret := func(k, v string) {
		if secrets == nil {
			secrets = map[string]string{}
		}
		secrets[k] = v
	}
	for _, k := range sortedKeys(t.Env) {
		if own[k] {
			continue
		}
		v, sec, err := launch.Expand(ctx, t.Env[k], run, l.Store)
		if launch.IsTransient(err) {
			return "", nil, fmt.Errorf("job template: env.%s: %w", k, err)
		}
		if err != nil {
			return "", nil, &fielderr.Error{Field: "env." + k, Reason: err.Error()}
		}
		if sec && stdin {
			secret(k, v)
			continue
		}
		env = append(env, k+"="+v)
	}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		if stdin && v != "" && slices.Contains(secretEnvNames, k) {
			secret(k, v)
			continue
		}
		env = append(env, kv)
	}
	if secrets != nil {
		env = append(env, SecretEnvStdin+"=stdin")
	}
	labels := map[string]string{}
	for k, v := range t.Labels {
		labels[k] = v
	}
	labels[LabelRun], labels[LabelDeployment], labels[LabelWorker], labels[LabelPool] = run.ID, run.Deployment, l.Worker, run.Pool
	hc := &container.HostConfig{AutoRemove: t.AutoRemove, NetworkMode: container.NetworkMode(t.NetworkMode)}
	if !t.CPULimit.IsZero() {
		hc.NanoCPUs, _ = t.CPULimit.NanoCPUs()
	}
	if !t.CPURequest.IsZero() {
		n, _ := t.CPURequest.NanoCPUs()
		hc.CPUShares = max(2, n*1024/1_000_000_000)
	}
	if !t.MemoryLimit.IsZero() {
		hc.Memory, _ = t.MemoryLimit.Bytes()
	}
	if !t.MemoryRequest.IsZero() {
		hc.MemoryReservation, _ = t.MemoryRequest.Bytes()
	}
	hc.Binds = append(hc.Binds, t.Volumes...)
	var nc *network.NetworkingConfig
	extraNets := t.Networks
	if len(t.Networks) > 0 && t.NetworkMode == "" {
		hc.NetworkMode = container.NetworkMode(t.Networks[0])
		nc = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{t.Networks[0]: {}}}
		extraNets = t.Networks[1:]
	}
	name := "netauto-" + run.ID
	if t.Name != "" {
		v, _, err := launch.Expand(ctx, t.Name, run, nil)
		if err != nil {
			return "", nil, &fielderr.Error{Field: "name", Reason: err.Error()}
		}
		name = v
	}
	// A container of an earlier attempt of this run must not keep running
	// beside its retry (its worker died; the reaper retried the run): it
	// is found by its label and removed first, or the retry does not
	// start. (One on another Docker host stops by itself when its lease
	// runs out, before the reaper could retry the run.)
	old, err := l.Client.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", LabelRun+"="+run.ID)})
	if err != nil {
		return "", nil, fmt.Errorf("look for containers of earlier attempts of run %s: %w", run.ID, err)
	}
	for _, c := range old.Items {
		if err := l.kill(ctx, c.ID); err != nil {
			return "", nil, fmt.Errorf("container of an earlier attempt of run %s: %w", run.ID, err)
		}
		l.logger().Warn("removed the container of an earlier attempt of the run", slog.String("run_id", run.ID), slog.String("container", shortID(c.ID)))
	}
	opts := client.ContainerCreateOptions{
		Name: name,
		Config: &container.Config{
			Image: image, Cmd: argv, Env: env, Labels: labels,
			AttachStdout: true, AttachStderr: true,
			// Standard input carries the secrets (one line, once started)
			// and then the worker's lease channel; it closes with the
			// worker's attachment.
			AttachStdin: secrets != nil || job.Lease != nil, OpenStdin: secrets != nil || job.Lease != nil, StdinOnce: secrets != nil || job.Lease != nil,
		},
		HostConfig:       hc,
		NetworkingConfig: nc,
	}
	res, err := l.Client.ContainerCreate(ctx, opts)
	if err != nil && job.Binary != "" && isNotFound(err) && strings.Contains(strings.ToLower(err.Error()), "image") {
		// The derived image was removed since it was built (an operator's
		// `docker image prune -a`, a cleanup job): build it again once
		// instead of failing the attempt on a cache that no longer holds.
		l.builds.Delete(image)
		l.logger().Warn("derived image gone; building it again", slog.String("run_id", run.ID), slog.String("image", image))
		d, derr := l.DerivedImage(ctx, t.Image, job.Binary, job.Commit)
		if derr != nil {
			return "", nil, derr
		}
		image, opts.Config.Image = d, d
		res, err = l.Client.ContainerCreate(ctx, opts)
	}
	if err != nil {
		return "", nil, fmt.Errorf("create container for run %s from %s: %w", run.ID, image, err)
	}
	for _, n := range extraNets {
		if _, err := l.Client.NetworkConnect(ctx, n, client.NetworkConnectOptions{Container: res.ID}); err != nil {
			l.remove(res.ID)
			return "", nil, fmt.Errorf("connect container of run %s to network %q: %w", run.ID, n, err)
		}
	}
	return res.ID, secrets, nil
}

// runContainer attaches to the container's output (and input, when
// secrets are to be handed over), waits for its exit (the wait starts
// before the container, so an auto-removed container cannot take its exit
// code with it), starts it, writes the secrets to its input and closes
// it, and stops it when ctx ends. It returns when the container has
// stopped.
func (l *Launcher) runContainer(ctx context.Context, job worker.Job, id string, autoRemove bool, secrets map[string]string) error {
	run := job.Run
	bg := context.WithoutCancel(ctx)
	out := worker.NewOutputLog(l.Store, run.ID, l.Tail, l.logger())
	att, err := l.Client.ContainerAttach(bg, id, client.ContainerAttachOptions{Stream: true, Stdin: secrets != nil || job.Lease != nil, Stdout: true, Stderr: true})
	if err != nil {
		out.Close()
		l.remove(id)
		return fmt.Errorf("attach to container of run %s: %w", run.ID, err)
	}
	copied := copyOutput(out, att.Reader, func() error { att.Close(); return nil })
	exited := make(chan struct{})
	defer close(exited)
	wait := l.Client.ContainerWait(bg, id, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := l.Client.ContainerStart(ctx, id, client.ContainerStartOptions{}); err != nil {
		out.Close()
		l.remove(id)
		return fmt.Errorf("start container of run %s: %w", run.ID, err)
	}
	if secrets != nil {
		// One JSON document on one line, then the lease channel or end of
		// input. A failed write leaves the process an incomplete document:
		// it exits, and the run crashes with its output, like any other
		// container that could not run.
		doc, _ := json.Marshal(secrets)
		if _, err := att.Conn.Write(append(doc, '\n')); err != nil {
			l.logger().Warn("hand secrets to container", slog.String("run_id", run.ID), slog.String("container", shortID(id)), slog.String("error", err.Error()))
		}
	}
	switch {
	case job.Lease != nil:
		// After the secrets, the lease channel: the container's input
		// stays open while the worker holds the run.
		go worker.FeedLease(job.Lease, att.Conn, exited)
	case secrets != nil:
		if err := att.CloseWrite(); err != nil {
			l.logger().Warn("close container input", slog.String("run_id", run.ID), slog.String("container", shortID(id)), slog.String("error", err.Error()))
		}
	}
	if job.Started != nil {
		job.Started("docker:" + id)
	}
	grace := l.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	done := ctx.Done()
	ee := &ExitError{Container: id}
	for {
		select {
		case <-done:
			done = nil
			if job.Fenced != nil && job.Fenced() {
				// The lease is lost: the run may already be retried
				// elsewhere. No grace, nothing recorded.
				if _, err := l.Client.ContainerKill(bg, id, client.ContainerKillOptions{Signal: "KILL"}); err != nil && !isNotFound(err) {
					l.logger().Warn("kill container", slog.String("run_id", run.ID), slog.String("container", shortID(id)), slog.String("error", err.Error()))
				}
				continue
			}
			secs := max(1, int(grace/time.Second))
			if _, err := l.Client.ContainerStop(bg, id, client.ContainerStopOptions{Timeout: &secs}); err != nil && !isNotFound(err) {
				l.logger().Warn("stop container", slog.String("run_id", run.ID), slog.String("container", shortID(id)), slog.String("error", err.Error()))
				_, _ = l.Client.ContainerKill(bg, id, client.ContainerKillOptions{Signal: "KILL"})
			}
			continue
		case r := <-wait.Result:
			ee.Status = int(r.StatusCode)
			if r.Error != nil && r.Error.Message != "" {
				ee.Err = errors.New(r.Error.Message)
			}
		case err := <-wait.Error:
			if isNotFound(err) {
				ee.Status = -1
				ee.Err = errors.New("container removed before its exit was seen")
			} else {
				ee.Err = err
			}
		}
		break
	}
	// The output ends with the container; don't hang on a stuck stream.
	select {
	case <-copied:
	case <-time.After(5 * time.Second):
	}
	out.Close()
	ee.Tail = out.Tail()
	if !autoRemove {
		if ins, err := l.Client.ContainerInspect(bg, id, client.ContainerInspectOptions{}); err == nil && ins.Container.State != nil {
			ee.OOMKilled = ins.Container.State.OOMKilled
		}
		l.remove(id)
	}
	return ee
}

func (l *Launcher) remove(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := l.Client.ContainerRemove(ctx, id, client.ContainerRemoveOptions{Force: true}); err != nil && !isNotFound(err) && !strings.Contains(err.Error(), "already in progress") {
		l.logger().Warn("remove container", slog.String("container", shortID(id)), slog.String("error", err.Error()))
	}
}

func isNotFound(err error) bool {
	return err != nil && (cerrdefs.IsNotFound(err) || strings.Contains(strings.ToLower(err.Error()), "no such"))
}

// ensureImage makes image present locally, per policy.
func (l *Launcher) ensureImage(ctx context.Context, image string, policy PullPolicy) error {
	if policy == "" {
		policy = PullIfNotPresent
	}
	if policy != PullAlways {
		_, err := l.Client.ImageInspect(ctx, image)
		if err == nil {
			return nil
		}
		if !isNotFound(err) {
			return &ImageError{Image: image, Policy: policy, Err: err}
		}
		if policy == PullNever {
			return &ImageError{Image: image, Policy: policy, Err: errors.New("not present locally and the policy forbids pulling")}
		}
	}
	resp, err := l.Client.ImagePull(ctx, image, client.ImagePullOptions{})
	if err != nil {
		return &ImageError{Image: image, Policy: policy, Err: fmt.Errorf("pull: %w", err)}
	}
	defer resp.Close()
	if err := resp.Wait(ctx); err != nil {
		return &ImageError{Image: image, Policy: policy, Err: fmt.Errorf("pull: %w", err)}
	}
	return nil
}

type derivedBuild struct {
	once sync.Once
	err  error
}

// DerivedImage returns the tag of an image made of base plus binary at
// the path the launcher runs it from, building it once per (commit, base
// image): concurrent callers share one build, and an image already built
// (by an earlier worker) is reused. Without a commit the binary's content
// identifies it.
func (l *Launcher) DerivedImage(ctx context.Context, base, binary, commit string) (string, error) {
	key := commit
	if key == "" {
		sum, err := fileSum(binary)
		if err != nil {
			return "", fmt.Errorf("derived image: %w", err)
		}
		key = "bin-" + sum
	}
	h := sha256.Sum256([]byte(base + "\x00" + key))
	tag := "netauto-flow:" + hex.EncodeToString(h[:12])
	v, _ := l.builds.LoadOrStore(tag, &derivedBuild{})
	b := v.(*derivedBuild)
	b.once.Do(func() { b.err = l.buildDerived(ctx, tag, base, binary, commit) })
	if b.err != nil {
		l.builds.CompareAndDelete(tag, b) // let a later run try again
		return "", b.err
	}
	return tag, nil
}

func (l *Launcher) buildDerived(ctx context.Context, tag, base, binary, commit string) error {
	if _, err := l.Client.ImageInspect(ctx, tag); err == nil {
		return nil
	}
	dir, err := os.MkdirTemp("", "netauto-derived-")
	if err != nil {
		return fmt.Errorf("derived image: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := copyFile(binary, filepath.Join(dir, "flow")); err != nil {
		return fmt.Errorf("derived image: %w", err)
	}
	df := "FROM " + base + "\nCOPY flow " + derivedBinary + "\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return fmt.Errorf("derived image: %w", err)
	}
	if _, err := BuildImage(ctx, l.Client, BuildOptions{ContextDir: dir, Tags: []string{tag}, Labels: map[string]string{LabelDerived: commit}}); err != nil {
		return fmt.Errorf("derived image of %s for commit %q: %w", base, commit, err)
	}
	return nil
}

func fileSum(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// copyOutput demultiplexes a container's output stream into log lines and
// closes the returned channel when the stream ends.
func copyOutput(o *worker.OutputLog, r io.Reader, closeFn func() error) chan struct{} {
	done := make(chan struct{})
	stdout, stderr := o.Writer(slog.LevelInfo), o.Writer(slog.LevelWarn)
	go func() {
		defer close(done)
		_, _ = stdcopy.StdCopy(stdout, stderr, r)
		stdout.End()
		stderr.End()
		_ = closeFn()
	}()
	return done
}
