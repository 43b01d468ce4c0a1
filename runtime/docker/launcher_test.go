package docker_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/api/types/container"
	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// e2eImage is the test orchestrator's image; the test app's pool names it.
const e2eImage = "netauto-dockertest:e2e"

// e2eLabel marks what the tests create, for the clean-up.
const e2eLabel = "netauto.test"

// e2eBuild builds the static test orchestrator and its FROM scratch image.
func e2eBuild(t testing.TB, cli *mclient.Client) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "netauto")
	cmd := exec.Command("go", "build", "-tags", "timetzdata", "-o", bin, "./internal/dockerapp")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY netauto /usr/local/bin/netauto\nENV PATH=/usr/local/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := docker.BuildImage(context.Background(), cli, docker.BuildOptions{ContextDir: dir, Tags: []string{e2eImage}, Labels: map[string]string{e2eLabel: "1"}}); err != nil {
		t.Fatalf("build test image: %v", err)
	}
	return bin
}

// e2eCleanup removes the containers of the test pool, the derived images
// of the test image and, with images set, the test image.
func e2eCleanup(t testing.TB, cli *mclient.Client, images bool) {
	ctx := context.Background()
	cs, _ := cli.ContainerList(ctx, mclient.ContainerListOptions{All: true, Filters: mclient.Filters{}.Add("label", docker.LabelPool+"=dockertest")})
	for _, c := range cs.Items {
		_, _ = cli.ContainerRemove(ctx, c.ID, mclient.ContainerRemoveOptions{Force: true})
	}
	// Only the derived images of this test's image (they inherit its
	// label): other packages' tests (examples/netauto's compose stack)
	// run at the same time with derived images of their own.
	ims, _ := cli.ImageList(ctx, mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", docker.LabelDerived).Add("label", e2eLabel)})
	for _, im := range ims.Items {
		_, _ = cli.ImageRemove(ctx, im.ID, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
	}
	if images {
		ims, _ = cli.ImageList(ctx, mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", e2eLabel)})
		for _, im := range ims.Items {
			_, _ = cli.ImageRemove(ctx, im.ID, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
}

type e2e struct {
	t      testing.TB
	poll   string
	cli    *mclient.Client
	bin    string
	env    []string
	c      *client.Client
	worker *proctest.Proc
	db     string
	key    string
	hooks  string // where the fragile flow's OnCrashed hook writes
}

const e2eWorker = "dockertest-worker"

func (e *e2e) startWorker() {
	e.worker = proctest.Start(e.t, e.env, e.bin, "worker", "--pool", "dockertest", "--name", e2eWorker,
		"--lease", "3s", "--poll", e.poll, "--grace", "6s", "--concurrency", "4")
}

func newE2E(t testing.TB, poll string) *e2e {
	cli := proctest.DockerEngine(t)
	e2eCleanup(t, cli, false)
	t.Cleanup(func() { e2eCleanup(t, cli, true) })
	bin := e2eBuild(t, cli)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	db := filepath.Join(t.TempDir(), "netauto.db")
	k64 := base64.StdEncoding.EncodeToString(key)
	hooks := t.TempDir()
	env := []string{"NETAUTO_DB=" + db, store.EnvSecretKey + "=" + k64, "DOCKERAPP_HOOKS=" + hooks}
	srv := proctest.StartServer(t, env, bin, "--no-worker", "--reap-interval", "300ms")
	env = append(env, "NETAUTO_API_URL="+srv.URL)
	if out, code := proctest.Run(t, env, bin, "deploy"); code != 0 {
		t.Fatalf("deploy: %d\n%s", code, out)
	}
	c, err := client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)})
	if err != nil {
		t.Fatal(err)
	}
	e := &e2e{t: t, poll: poll, cli: cli, bin: bin, env: env, c: c, db: db, key: k64, hooks: hooks}
	e.startWorker()
	return e
}

var errSeen = errors.New("seen")

// follow follows a run's logs to its end and returns its final state and
// log messages; with until set, it returns as soon as a line contains it.
func (e *e2e) follow(t *testing.T, id, until string) (flow.State, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var msgs []string
	st, err := e.c.FollowLogs(ctx, id, 0, func(le store.LogEntry) error {
		msgs = append(msgs, le.Message)
		if until != "" && strings.Contains(le.Message, until) {
			return errSeen
		}
		return nil
	})
	if until != "" && errors.Is(err, errSeen) {
		return flow.State{}, msgs
	}
	if err != nil {
		t.Fatalf("follow run %s: %v (logs %q)", id, err, msgs)
	}
	if until != "" {
		t.Fatalf("run %s ended %s before printing %q; logs %q", id, st.Name, until, msgs)
	}
	return st, msgs
}

func (e *e2e) create(t *testing.T, dep, params, vars string) store.FlowRun {
	t.Helper()
	req := wire.CreateRun{}
	if params != "" {
		req.Parameters = json.RawMessage(params)
	}
	if vars != "" {
		req.JobVariables = json.RawMessage(vars)
	}
	run, _, err := e.c.CreateRun(context.Background(), dep, req)
	if err != nil {
		t.Fatalf("create run of %s: %v", dep, err)
	}
	return run
}

func (e *e2e) containerOf(t *testing.T, runID string) container.Summary {
	t.Helper()
	cs, err := e.cli.ContainerList(context.Background(), mclient.ContainerListOptions{All: true, Filters: mclient.Filters{}.Add("label", docker.LabelRun+"="+runID)})
	if err != nil || len(cs.Items) != 1 {
		t.Fatalf("containers of run %s: %v, %d", runID, err, len(cs.Items))
	}
	return cs.Items[0]
}

// logsAfterExit waits until the launcher removed the run's container,
// which it does after storing the container's last output, and returns
// the run's log messages.
func (e *e2e) logsAfterExit(t *testing.T, runID string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cs, err := e.cli.ContainerList(ctx, mclient.ContainerListOptions{All: true, Filters: mclient.Filters{}.Add("label", docker.LabelRun+"="+runID)})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs.Items {
		w := e.cli.ContainerWait(ctx, c.ID, mclient.ContainerWaitOptions{Condition: container.WaitConditionRemoved})
		select {
		case <-w.Result:
		case err := <-w.Error:
			if !strings.Contains(strings.ToLower(err.Error()), "no such") {
				t.Fatalf("wait for the removal of %s: %v", c.ID, err)
			}
		}
	}
	page, err := e.c.Logs(ctx, store.LogQuery{FlowRunID: runID})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, l := range page.Logs {
		msgs = append(msgs, l.Message)
	}
	return msgs
}

func contains(msgs []string, s string) bool {
	for _, m := range msgs {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// TestDockerLauncher runs the test orchestrator's flows in containers
// started by a `worker` process (docker launcher chosen from the pool's
// type) against a server on 127.0.0.1, reached with host networking.
func TestDockerLauncher(t *testing.T) {
	if testing.Short() {
		t.Skip("builds an image and runs containers")
	}
	e := newE2E(t, "50ms")
	ctx := context.Background()
	key, err := store.ParseKey(e.key)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, e.db, store.Options{Key: key})
	if err != nil {
		t.Fatal(err)
	}
	secret := "tok-" + flow.NewID()
	err = st.PutSecret(ctx, "dtoken", store.NewSecret(secret))
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	secretSum := sha256.Sum256([]byte(secret))

	t.Run("CompletesWithEnvSecretsAndLogs", func(t *testing.T) {
		run := e.create(t, "hello", "", `{"env":{"TOKEN":"{{ secrets.dtoken }}"}}`)
		state, _ := e.follow(t, run.ID, "")
		if state.Type != flow.TypeCompleted {
			t.Fatalf("state %s %q", state.Name, state.Message)
		}
		msgs := e.logsAfterExit(t, run.ID)
		for i := 1; i <= 3; i++ {
			if !contains(msgs, fmt.Sprintf("hello line %d", i)) {
				t.Errorf("log line %d missing: %q", i, msgs)
			}
		}
		if contains(msgs, secret) {
			t.Error("the secret is in the run's logs")
		}
		res, err := e.c.RunResult(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var got struct{ Greeting, Token_SHA string }
		_ = json.Unmarshal(res, &got)
		sum := sha256.Sum256([]byte(secret))
		if got.Greeting != "hi "+run.ID || got.Token_SHA != hex.EncodeToString(sum[:]) {
			t.Errorf("container saw %s; want greeting %q and the secret's hash", res, "hi "+run.ID)
		}
		cs, _ := e.cli.ContainerList(ctx, mclient.ContainerListOptions{All: true, Filters: mclient.Filters{}.Add("label", docker.LabelRun+"="+run.ID)})
		if len(cs.Items) != 0 {
			t.Errorf("container of a finished run left behind: %d", len(cs.Items))
		}
	})

	t.Run("LimitsLabelsThenCancel", func(t *testing.T) {
		run := e.create(t, "sleep", "", `{"cpu_limit":"500m","cpu_request":"250m","memory_limit":"64Mi","memory_request":"32Mi","labels":{"team":"qa"},
			"env":{"TOKEN":"{{ secrets.dtoken }}","PLAIN":"visible-{{ run_id }}"}}`)
		e.follow(t, run.ID, "sleeping")
		c := e.containerOf(t, run.ID)
		ins, err := e.cli.ContainerInspect(ctx, c.ID, mclient.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		hc := ins.Container.HostConfig
		if hc.NanoCPUs != 5e8 || hc.CPUShares != 256 || hc.Memory != 64<<20 || hc.MemoryReservation != 32<<20 || string(hc.NetworkMode) != "host" {
			t.Errorf("resources: nano %d shares %d mem %d res %d net %s", hc.NanoCPUs, hc.CPUShares, hc.Memory, hc.MemoryReservation, hc.NetworkMode)
		}
		l := ins.Container.Config.Labels
		if l["team"] != "qa" || l[docker.LabelRun] != run.ID || l[docker.LabelDeployment] != "sleep" || l[docker.LabelWorker] != e2eWorker {
			t.Errorf("labels %v", l)
		}
		for _, kv := range ins.Container.Config.Env {
			if strings.HasPrefix(kv, "NETAUTO_API_KEY=") && kv != "NETAUTO_API_KEY=" || strings.HasPrefix(kv, store.EnvSecretKey+"=") && kv != store.EnvSecretKey+"=" {
				t.Errorf("the container's environment holds %s", strings.SplitN(kv, "=", 2)[0])
			}
		}
		// Secrets went to the container's input, not its configuration:
		// docker inspect shows neither the run token nor the secret.
		for _, name := range []string{"NETAUTO_RUN_TOKEN=", "TOKEN=", "NETAUTO_RUN="} {
			if envHas(ins.Container.Config.Env, name) {
				t.Errorf("docker inspect shows %s…", name)
			}
		}
		if env := ins.Container.Config.Env; !slices.Contains(env, docker.SecretEnvStdin+"=stdin") || !slices.Contains(env, "PLAIN=visible-"+run.ID) {
			t.Errorf("environment %q: want %s=stdin and the plain value", ins.Container.Config.Env, docker.SecretEnvStdin)
		}
		if cfg := ins.Container.Config; !cfg.OpenStdin || !cfg.StdinOnce {
			t.Errorf("stdin open %v once %v, want both", cfg.OpenStdin, cfg.StdinOnce)
		}
		if _, err := e.c.CancelRun(ctx, run.ID, "test"); err != nil {
			t.Fatal(err)
		}
		state, msgs := e.follow(t, run.ID, "")
		if state.Type != flow.TypeCancelled {
			t.Fatalf("state %s %q; logs %q", state.Name, state.Message, msgs)
		}
	})

	t.Run("SecretEnvInEnvironmentWhenAsked", func(t *testing.T) {
		// secret_env "env": for an image whose execute predates the
		// stdin hand-over; the run still completes with its secret.
		run := e.create(t, "hello", "", `{"secret_env":"env","env":{"TOKEN":"{{ secrets.dtoken }}"}}`)
		if state, _ := e.follow(t, run.ID, ""); state.Type != flow.TypeCompleted {
			t.Fatalf("state %s %q", state.Name, state.Message)
		}
		res, err := e.c.RunResult(ctx, run.ID)
		if err != nil || !strings.Contains(string(res), `"token_sha":"`+hex.EncodeToString(secretSum[:])+`"`) {
			t.Errorf("result %s %v, want the secret's hash", res, err)
		}
	})

	t.Run("MissingSecretFails", func(t *testing.T) {
		// A reference to nothing fails the run at once, naming it; no
		// retry would find it.
		run := e.create(t, "sleep", "", `{"env":{"TOKEN":"{{ secrets.no-such-secret }}"}}`)
		state, _ := e.follow(t, run.ID, "")
		if state.Type != flow.TypeFailed || !strings.Contains(state.Message, "no-such-secret") {
			t.Fatalf("state %s %q, want Failed naming the secret", state.Name, state.Message)
		}
	})

	t.Run("NonZeroExitCrashed", func(t *testing.T) {
		run := e.create(t, "exit", "", "")
		state, msgs := e.follow(t, run.ID, "")
		if state.Type != flow.TypeCrashed || !strings.Contains(state.Message, "exited with code 3") || !strings.Contains(state.Message, "about to exit") {
			t.Fatalf("state %s %q; logs %q", state.Name, state.Message, msgs)
		}
	})

	t.Run("AutoRemoveKeepsExitCode", func(t *testing.T) {
		run := e.create(t, "exit", `{"code":5}`, `{"auto_remove":true}`)
		state, _ := e.follow(t, run.ID, "")
		if state.Type != flow.TypeCrashed || !strings.Contains(state.Message, "exited with code 5") {
			t.Fatalf("state %s %q", state.Name, state.Message)
		}
	})

	t.Run("ZeroExitWithoutFinalStateCrashed", func(t *testing.T) {
		run := e.create(t, "exit", `{"code":0}`, "")
		state, _ := e.follow(t, run.ID, "")
		if state.Type != flow.TypeCrashed || !strings.Contains(state.Message, "exited with code 0") {
			t.Fatalf("state %s %q", state.Name, state.Message)
		}
	})

	t.Run("KilledCrashed", func(t *testing.T) {
		run := e.create(t, "sleep", "", "")
		e.follow(t, run.ID, "sleeping")
		c := e.containerOf(t, run.ID)
		if _, err := e.cli.ContainerKill(ctx, c.ID, mclient.ContainerKillOptions{Signal: "KILL"}); err != nil {
			t.Fatal(err)
		}
		// The deployment allows one retry: the killed attempt is Crashed,
		// then the run starts again as attempt 2 (which we cancel).
		fctx, cancel := context.WithTimeout(ctx, 90*time.Second)
		defer cancel()
		seen := 0
		_, err := e.c.FollowLogs(fctx, run.ID, 0, func(le store.LogEntry) error {
			if strings.Contains(le.Message, "sleeping") {
				if seen++; seen == 2 {
					return errSeen
				}
			}
			return nil
		})
		if !errors.Is(err, errSeen) {
			t.Fatalf("run %s did not start a second attempt: %v", run.ID, err)
		}
		d, err := e.c.Run(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		var crashed, retried bool
		for _, s := range d.History {
			crashed = crashed || (s.Type == flow.TypeCrashed && strings.Contains(s.Message, "code 137"))
			retried = retried || (crashed && s.Name == "AwaitingRetry")
		}
		if !crashed || !retried || d.Run.Attempt != 2 {
			t.Fatalf("attempt %d, history %+v: want Crashed (code 137), AwaitingRetry, attempt 2", d.Run.Attempt, d.History)
		}
		if _, err := e.c.CancelRun(ctx, run.ID, "test done"); err != nil {
			t.Fatal(err)
		}
		if state, _ := e.follow(t, run.ID, ""); state.Type != flow.TypeCancelled {
			t.Fatalf("after cancel: %s %q", state.Name, state.Message)
		}
	})

	t.Run("PullAlwaysUnreachableRegistry", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close() // nothing listens there any more
		image := addr + "/netauto/absent:1"
		run := e.create(t, "hello", "", fmt.Sprintf(`{"image":%q,"image_pull_policy":"Always"}`, image))
		state, _ := e.follow(t, run.ID, "")
		if state.Type != flow.TypeFailed || !strings.Contains(state.Message, image) || !strings.Contains(state.Message, "registry "+addr) {
			t.Fatalf("state %s %q", state.Name, state.Message)
		}
	})

	t.Run("IfNotPresentUsesLocalImage", func(t *testing.T) {
		run := e.create(t, "hello", "", `{"image_pull_policy":"IfNotPresent"}`)
		if state, msgs := e.follow(t, run.ID, ""); state.Type != flow.TypeCompleted {
			t.Fatalf("state %s %q; logs %q", state.Name, state.Message, msgs)
		}
		run = e.create(t, "hello", "", `{"image":"netauto-dockertest:absent","image_pull_policy":"Never"}`)
		if state, _ := e.follow(t, run.ID, ""); state.Type != flow.TypeFailed || !strings.Contains(state.Message, "not present locally") {
			t.Fatalf("Never without the image: state %s %q", state.Name, state.Message)
		}
	})

	t.Run("BadJobVariablesRejected", func(t *testing.T) {
		_, _, err := e.c.CreateRun(ctx, "hello", wire.CreateRun{JobVariables: json.RawMessage(`{"memory_limit":"lots"}`)})
		if err == nil || !strings.Contains(err.Error(), "memory_limit") {
			t.Fatalf("got %v, want an error naming memory_limit", err)
		}
	})

	t.Run("KilledContainerRunsCrashHooks", func(t *testing.T) {
		// A run without retries whose container is killed (as the OOM
		// killer does) ends Crashed; its flow's OnCrashed hook, which the
		// dead container could not run, runs in the worker.
		run := e.create(t, "fragile", "", "")
		e.follow(t, run.ID, "sleeping")
		c := e.containerOf(t, run.ID)
		if _, err := e.cli.ContainerKill(ctx, c.ID, mclient.ContainerKillOptions{Signal: "KILL"}); err != nil {
			t.Fatal(err)
		}
		if state, _ := e.follow(t, run.ID, ""); state.Type != flow.TypeCrashed {
			t.Fatalf("state %s %q, want Crashed", state.Name, state.Message)
		}
		hook := filepath.Join(e.hooks, run.ID+".Crashed")
		deadline := time.Now().Add(30 * time.Second)
		for {
			if b, err := os.ReadFile(hook); err == nil {
				if !strings.Contains(string(b), "code 137") {
					t.Errorf("hook saw %q, want the crash's message", b)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the OnCrashed hook of the killed container's run did not run")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})

	t.Run("WorkerDeathStopsItsContainers", func(t *testing.T) {
		run := e.create(t, "sleep", `{"ms":1500}`, "")
		e.follow(t, run.ID, "sleeping")
		old := e.containerOf(t, run.ID)
		e.worker.Signal(t, syscall.SIGKILL)
		_ = e.worker.Wait(t, 10*time.Second)
		// The container's stdin, the worker's lease channel, closes with
		// the worker's attachment: `execute` stops at once, recording
		// nothing. It used to run on, unseen, beside the run's retry.
		deadline := time.Now().Add(10 * time.Second)
		for {
			ins, err := e.cli.ContainerInspect(ctx, old.ID, mclient.ContainerInspectOptions{})
			if err != nil || !ins.Container.State.Running {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the container of the killed worker still runs 10s later")
			}
			time.Sleep(50 * time.Millisecond)
		}
		e.startWorker()
		// The run is reaped Crashed when its lease lapses and retried
		// (the attempt-1 container, stopped, is removed at start or when
		// attempt 2 launches), and attempt 2 completes.
		state, _ := e.follow(t, run.ID, "")
		for state.Type != flow.TypeCompleted {
			if state.Type != flow.TypeCrashed {
				t.Fatalf("state %s %q", state.Name, state.Message)
			}
			state, _ = e.follow(t, run.ID, "")
		}
		got, err := e.c.Run(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Run.Attempt != 2 {
			t.Errorf("attempt %d, want 2", got.Run.Attempt)
		}
		if _, err := e.cli.ContainerInspect(ctx, old.ID, mclient.ContainerInspectOptions{}); err == nil {
			t.Error("the container of the killed worker is still there")
		}
	})
}

func envHas(env []string, prefix string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, prefix) && len(kv) > len(prefix) {
			return true
		}
	}
	return false
}

// TestDockerDerivedImage builds a derived image from a base image and a
// binary once, even when asked concurrently, and runs the binary from it.
func TestDockerDerivedImage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images")
	}
	cli := proctest.DockerEngine(t)
	t.Cleanup(func() { e2eCleanup(t, cli, true) })
	bin := e2eBuild(t, cli)
	l := &docker.Launcher{Client: cli}
	commit := "c0ffee" + flow.NewID()[:6]
	var wg sync.WaitGroup
	tags := make([]string, 4)
	errs := make([]error, 4)
	for i := range tags {
		wg.Go(func() { tags[i], errs[i] = l.DerivedImage(context.Background(), e2eImage, bin, commit) })
	}
	wg.Wait()
	for i := range tags {
		if errs[i] != nil || tags[i] != tags[0] {
			t.Fatalf("derived image %d: %q, %v (first %q)", i, tags[i], errs[i], tags[0])
		}
	}
	ims, err := cli.ImageList(context.Background(), mclient.ImageListOptions{Filters: mclient.Filters{}.Add("label", docker.LabelDerived+"="+commit)})
	if err != nil || len(ims.Items) != 1 {
		t.Fatalf("images of commit %s: %v, %d", commit, err, len(ims.Items))
	}
	// A second launcher (a restarted worker) reuses the image.
	l2 := &docker.Launcher{Client: cli}
	if tag, err := l2.DerivedImage(context.Background(), e2eImage, bin, commit); err != nil || tag != tags[0] {
		t.Fatalf("reuse: %q, %v", tag, err)
	}
	out := runOnce(t, cli, tags[0], []string{"/usr/local/bin/netauto-flow", "flows"})
	if !strings.Contains(out, "hello") {
		t.Errorf("the derived image's binary printed %q", out)
	}
}

// runOnce runs argv in a container of image and returns its output.
func runOnce(t testing.TB, cli *mclient.Client, image string, argv []string) string {
	t.Helper()
	ctx := context.Background()
	c, err := cli.ContainerCreate(ctx, mclient.ContainerCreateOptions{Config: &container.Config{Image: image, Cmd: argv, Labels: map[string]string{docker.LabelPool: "dockertest"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, mclient.ContainerRemoveOptions{Force: true})
	wait := cli.ContainerWait(ctx, c.ID, mclient.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, c.ID, mclient.ContainerStartOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wait.Result:
	case err := <-wait.Error:
		t.Fatal(err)
	}
	logs, err := cli.ContainerLogs(ctx, c.ID, mclient.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatal(err)
	}
	defer logs.Close()
	var b strings.Builder
	buf := make([]byte, 4096)
	for {
		n, err := logs.Read(buf)
		b.Write(buf[:n])
		if err != nil {
			break
		}
	}
	return b.String()
}

var _ worker.Launcher = (*docker.Launcher)(nil)

// BenchmarkDockerLaunch measures create-run → Running of a run in a
// container (image present, worker polling every 10ms) against a bare
// container of the same image: create + start + first output. It reports
// the medians; run it with -benchtime=20x.
func BenchmarkDockerLaunch(b *testing.B) {
	e := newE2E(b, "10ms")
	ctx := context.Background()
	var runs, bare []time.Duration
	for b.Loop() {
		t0 := time.Now()
		run, _, err := e.c.CreateRun(ctx, "sleep", wire.CreateRun{Parameters: json.RawMessage(`{"ms":1}`)})
		if err != nil {
			b.Fatal(err)
		}
		for {
			st, err := e.c.RunState(ctx, run.ID)
			if err != nil {
				b.Fatal(err)
			}
			if st.Type == flow.TypeRunning || st.Final() {
				if st.Type != flow.TypeRunning && st.Type != flow.TypeCompleted {
					b.Fatalf("run %s: %s %q", run.ID, st.Name, st.Message)
				}
				break
			}
			time.Sleep(2 * time.Millisecond) // polling the API is the measurement
		}
		runs = append(runs, time.Since(t0))
		bare = append(bare, bareStart(b, e.cli))
	}
	b.StopTimer()
	p50 := func(ds []time.Duration) float64 {
		s := append([]time.Duration(nil), ds...)
		slices.Sort(s)
		return float64(s[len(s)/2].Microseconds()) / 1000
	}
	b.ReportMetric(p50(runs), "run-p50-ms")
	b.ReportMetric(p50(bare), "bare-p50-ms")
	b.ReportMetric(p50(runs)-p50(bare), "overhead-p50-ms")
}

// bareStart times create + start + first output of the test image.
func bareStart(b *testing.B, cli *mclient.Client) time.Duration {
	ctx := context.Background()
	t0 := time.Now()
	c, err := cli.ContainerCreate(ctx, mclient.ContainerCreateOptions{Config: &container.Config{Image: e2eImage, Cmd: []string{"netauto", "flows"},
		AttachStdout: true, Labels: map[string]string{docker.LabelPool: "dockertest"}},
		HostConfig: &container.HostConfig{NetworkMode: "host"}}) // as the test pool's template
	if err != nil {
		b.Fatal(err)
	}
	defer cli.ContainerRemove(ctx, c.ID, mclient.ContainerRemoveOptions{Force: true})
	att, err := cli.ContainerAttach(ctx, c.ID, mclient.ContainerAttachOptions{Stream: true, Stdout: true})
	if err != nil {
		b.Fatal(err)
	}
	defer att.Close()
	if _, err := cli.ContainerStart(ctx, c.ID, mclient.ContainerStartOptions{}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 64)
	if _, err := att.Reader.Read(buf); err != nil {
		b.Fatal(err)
	}
	return time.Since(t0)
}

// fakeStore gives a Launcher a pool's template and collects logs.
type fakeStore struct {
	pool store.Pool
	mu   sync.Mutex
	logs []flow.LogRecord
}

func (f *fakeStore) GetPool(context.Context, string) (store.Pool, error) { return f.pool, nil }
func (f *fakeStore) GetDeployment(context.Context, string) (store.Deployment, error) {
	return store.Deployment{}, store.ErrNotFound
}
func (f *fakeStore) GetSecret(context.Context, string) (store.Secret, error) {
	return store.Secret{}, store.ErrNotFound
}
func (f *fakeStore) GetBlock(context.Context, string) (store.Block, error) {
	return store.Block{}, store.ErrNotFound
}
func (f *fakeStore) GetVariable(context.Context, string) (json.RawMessage, error) {
	return nil, store.ErrNotFound
}
func (f *fakeStore) AppendLogs(_ context.Context, recs []flow.LogRecord) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.logs = append(f.logs, recs...)
	return nil
}

// TestDockerLaunchBinary launches a run whose job carries a Binary (a Git
// source build): the launcher runs it from a derived image. With no API
// to report to, `execute` fails; the error carries the exit code and the
// last lines, the output reaches the logs, and the container is removed.
func TestDockerLaunchBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds images")
	}
	cli := proctest.DockerEngine(t)
	t.Cleanup(func() { e2eCleanup(t, cli, true) })
	bin := e2eBuild(t, cli)
	fs := &fakeStore{pool: store.Pool{Name: "dockertest", Type: docker.PoolType,
		JobTemplate: json.RawMessage(`{"image":"` + e2eImage + `","image_pull_policy":"Never","network_mode":"none"}`)}}
	l := &docker.Launcher{Client: cli, Store: fs, Worker: "w1"}
	var started string
	run := store.FlowRun{ID: "bin-" + flow.NewID(), Pool: "dockertest", Attempt: 1}
	err := l.Launch(context.Background(), worker.Job{Run: run, Binary: bin, Commit: "c-" + flow.NewID()[:8],
		Started: func(id string) { started = id }, Fenced: func() bool { return false }})
	var ee *docker.ExitError
	if !errors.As(err, &ee) || ee.Status == 0 || len(ee.Tail) == 0 {
		t.Fatalf("got %v, want an ExitError with a non-zero code and output", err)
	}
	t.Logf("launch ended: %v", err)
	if !strings.HasPrefix(started, "docker:") {
		t.Errorf("Started(%q)", started)
	}
	fs.mu.Lock()
	n := len(fs.logs)
	fs.mu.Unlock()
	if n == 0 {
		t.Error("no output reached the logs")
	}
	ins, err := cli.ContainerInspect(context.Background(), strings.TrimPrefix(started, "docker:"), mclient.ContainerInspectOptions{})
	if err == nil {
		t.Errorf("container left behind: %s", ins.Container.ID)
	}
}

// A run's hooks get the settings its job template gives it (references
// resolved), without the launcher's own variables: HookEnv needs no engine.
func TestHookEnv(t *testing.T) {
	fs := &fakeStore{pool: store.Pool{Name: "p", Type: docker.PoolType,
		JobTemplate: json.RawMessage(`{"image":"w:1","env":{"NOTIFY_URL":"http://hooks.example.net","RUN_LABEL":"{{ run_id }}"}}`)}}
	l := &docker.Launcher{Store: fs}
	run := store.FlowRun{ID: "r-1", Pool: "p", Attempt: 1}
	env, err := l.HookEnv(t.Context(), run)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"NOTIFY_URL=http://hooks.example.net", "RUN_LABEL=r-1"}; !slices.Equal(env, want) {
		t.Fatalf("HookEnv = %q, want %q", env, want)
	}
	fs.pool.JobTemplate = json.RawMessage(`{"image":"w:1","env":{"TOKEN":"{{ secrets.absent }}"}}`)
	if _, err := l.HookEnv(t.Context(), run); err == nil || !strings.Contains(err.Error(), "env.TOKEN") {
		t.Fatalf("HookEnv with a secret that does not resolve: %v, want an error naming env.TOKEN", err)
	}
}
