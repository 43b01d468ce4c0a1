package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/examples/netauto/envconfig"
	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// The Docker variant of the end-to-end scenario: the example binary runs
// as server and worker processes, the runs of netauto-docker-pool execute
// in containers of a FROM scratch image of the same binary, the fakes run
// in this test process.
const (
	dockerE2EImage  = "netauto-e2e-worker:docker-e2e"
	dockerE2ELabel  = "netauto-e2e.test"
	dockerE2EValue  = "netauto-docker-e2e"
	dockerE2EWorker = "netauto-docker-e2e-worker"
)

// dockerE2ECleanup removes the containers the test's pool started and,
// with images set, the test image: everything carrying the test's label.
func dockerE2ECleanup(cli *mclient.Client, images bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	label := mclient.Filters{}.Add("label", dockerE2ELabel+"="+dockerE2EValue)
	if cs, err := cli.ContainerList(ctx, mclient.ContainerListOptions{All: true, Filters: label}); err == nil {
		for _, c := range cs.Items {
			_, _ = cli.ContainerRemove(ctx, c.ID, mclient.ContainerRemoveOptions{Force: true})
		}
	}
	if !images {
		return
	}
	if ims, err := cli.ImageList(ctx, mclient.ImageListOptions{Filters: label}); err == nil {
		for _, im := range ims.Items {
			_, _ = cli.ImageRemove(ctx, im.ID, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
		}
	}
}

// dockerE2EBuild builds the example as a static binary and its FROM
// scratch worker image; it returns the binary's path.
func dockerE2EBuild(t *testing.T, cli *mclient.Client) string {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "netauto")
	cmd := exec.Command("go", "build", "-tags", "timetzdata", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./examples/netauto: %v\n%s", err, out)
	}
	df := "FROM scratch\nCOPY netauto /usr/local/bin/netauto\nENV PATH=/usr/local/bin\n"
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := docker.BuildImage(ctx, cli, docker.BuildOptions{
		ContextDir: dir, Tags: []string{dockerE2EImage}, Labels: map[string]string{dockerE2ELabel: dockerE2EValue},
	}); err != nil {
		t.Fatalf("build worker image: %v", err)
	}
	return bin
}

// dockerE2EPool is netauto-docker-pool for this machine: the test image,
// never pulled, host networking (the containers reach the API and the
// fakes on 127.0.0.1), the configuration a run without a database reads
// (NETAUTO_INFRAHUB_URL and friends, see the README's limits) taken from
// the production NetAutoConfig block, its secret fields by reference.
func dockerE2EPool(notifyURL string) store.Pool {
	block := func(field string) string {
		return "{{ blocks." + envconfig.BlockName("production") + "." + field + " }}"
	}
	tmpl, _ := json.Marshal(map[string]any{
		"image":             dockerE2EImage,
		"image_pull_policy": "Never",
		"network_mode":      "host",
		"labels":            map[string]string{dockerE2ELabel: dockerE2EValue},
		"env": map[string]string{
			envconfig.EnvEnvironment:   "production",
			envconfig.EnvInfrahubURL:   block("infrahub_url"),
			envconfig.EnvInfrahubToken: block("infrahub_token"),
			envconfig.EnvF5URL:         block("f5_url"),
			envconfig.EnvF5Username:    block("f5_username"),
			envconfig.EnvF5Password:    block("f5_password"),
			envconfig.EnvNotifyURL:     notifyURL, // nested in the block: not referable
			envconfig.EnvNotifyKey:     block("notify.signing_key"),
		},
		// The pool says what it allows: host networking here (tests reach
		// the API and the fakes on 127.0.0.1); job variables may set env
		// values and resources only.
		"allow": map[string]any{"network_modes": []string{"host"}},
	})
	return store.Pool{Name: DockerPool, Type: docker.PoolType, Description: "Docker work pool of the e2e test", JobTemplate: tmpl}
}

// apiConfigs saves configuration blocks through the API: what
// store.SaveConfig needs of a store.
type apiConfigs struct {
	store.Configs // nil: only SaveBlock is called
	c             *client.Client
}

func (a apiConfigs) SaveBlock(ctx context.Context, b store.Block) error { return a.c.SaveBlock(ctx, b) }

// containerCreates records the engine's container create events of the
// test's containers, by run id.
type containerCreates struct {
	mu   sync.Mutex
	byID map[string]events.Message
	errs []error
	more chan struct{}
}

func watchCreates(ctx context.Context, cli *mclient.Client) *containerCreates {
	w := &containerCreates{byID: map[string]events.Message{}, more: make(chan struct{}, 1)}
	res := cli.Events(ctx, mclient.EventsListOptions{Filters: mclient.Filters{}.
		Add("type", "container").Add("event", "create").Add("label", dockerE2ELabel+"="+dockerE2EValue)})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				w.mu.Lock()
				w.byID[m.Actor.Attributes[docker.LabelRun]] = m
				w.mu.Unlock()
				select {
				case w.more <- struct{}{}:
				default:
				}
			case err := <-res.Err:
				w.mu.Lock()
				w.errs = append(w.errs, err)
				w.mu.Unlock()
				return
			}
		}
	}()
	return w
}

// of waits for the create event of the container of run id.
func (w *containerCreates) of(ctx context.Context, runID string) (events.Message, bool) {
	for {
		w.mu.Lock()
		m, ok := w.byID[runID]
		w.mu.Unlock()
		if ok {
			return m, true
		}
		select {
		case <-ctx.Done():
			return events.Message{}, false
		case <-w.more:
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestDockerNetautoE2E runs the scenario's webhook and failure steps with
// the runs in containers, through the public API only.
func TestDockerNetautoE2E(t *testing.T) {
	cli := proctest.DockerEngine(t)
	dockerE2ECleanup(cli, false)
	t.Cleanup(func() { dockerE2ECleanup(cli, true) })
	bin := dockerE2EBuild(t, cli)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	s, err := StartSystem(ctx, SystemOptions{Dir: t.TempDir(), Devices: 2, FakesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)

	// Server and worker, as docker-compose runs them.
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	env := []string{
		"NETAUTO_DB=" + filepath.Join(t.TempDir(), "netauto.db"),
		store.EnvSecretKey + "=" + base64.StdEncoding.EncodeToString(key),
		"NETAUTO_INFRAHUB_WEBHOOK_KEY=" + string(s.WebhookKey),
		// The processes declare the production Docker pool (Pools(true));
		// the test then applies its own variant of it through the API.
	}
	srv := proctest.StartServer(t, env, bin, "--no-worker")
	env = append(env, "NETAUTO_API_URL="+srv.URL)
	if out, code := proctest.Run(t, env, bin, "deploy"); code != 0 {
		t.Fatalf("deploy: exit %d\n%s", code, out)
	}
	if s.Client, err = client.New(srv.URL, client.Options{Token: client.LocalKey(srv.URL)}); err != nil {
		t.Fatal(err)
	}
	s.APIURL = srv.URL
	cfg := envconfig.NetAutoConfig{
		Environment: "production", InfrahubURL: s.InfrahubURL, InfrahubToken: store.NewSecret(infrahubtest.DefaultAPIToken),
		F5URL: s.BigIPURL, F5Username: "admin", F5Password: store.NewSecret("admin"),
		Notify: envconfig.Notification{WebhookURL: s.NotifyURL, SigningKey: store.NewSecret(string(s.NotifyKey)), Channel: "#netauto-production"},
	}
	if err := envconfig.Save(ctx, apiConfigs{c: s.Client}, cfg, false); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Client.ApplyPool(ctx, dockerE2EPool(s.NotifyURL)); err != nil {
		t.Fatal(err)
	}
	creates := watchCreates(ctx, cli)
	proctest.Start(t, env, bin, "worker", "--pool", DockerPool, "--name", dockerE2EWorker,
		"--poll", "200ms", "--lease", "15s", "--grace", "5s", "--concurrency", "2")

	// inContainer checks that run d executed in a container of the pool
	// that carried the run's labels.
	inContainer := func(t *testing.T, d store.FlowRun) {
		t.Helper()
		id, ok := strings.CutPrefix(d.InfrastructureID, "docker:")
		if !ok || id == "" {
			t.Fatalf("run %s infrastructure_id %q, want docker:<container>", d.ID, d.InfrastructureID)
		}
		wctx, c := context.WithTimeout(ctx, 10*time.Second)
		defer c()
		m, ok := creates.of(wctx, d.ID)
		if !ok {
			t.Fatalf("no container created with label %s=%s (errors %v)", docker.LabelRun, d.ID, creates.errs)
		}
		a := m.Actor.Attributes
		if m.Actor.ID != id || a["image"] != dockerE2EImage || a[docker.LabelPool] != DockerPool ||
			a[docker.LabelDeployment] != d.Deployment || a[docker.LabelWorker] != dockerE2EWorker {
			t.Errorf("container %s (image %s, labels %v), want %s of %s with pool %s, deployment %s, worker %s",
				m.Actor.ID, a["image"], a, id, dockerE2EImage, DockerPool, d.Deployment, dockerE2EWorker)
		}
	}

	t.Run("webhook deploys AS3 from a container", func(t *testing.T) {
		if s.BigIP.Tenant(seed.Tenant) != nil {
			t.Fatalf("tenant %s exists before any run", seed.Tenant)
		}
		sid := s.Infrahub.PutObject(seed.AS3("v2", "10.1.20.21", "10.1.20.22"))
		wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid)
		st, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
		if err != nil || st != 202 || len(acc.RunIDs) != 1 {
			t.Fatalf("webhook: %d %+v %v", st, acc, err)
		}
		d, err := s.WaitRun(ctx, acc.RunIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		if d.Run.State.Type != flow.TypeCompleted {
			t.Fatalf("run %s ended %s: %s", d.Run.ID, d.Run.State.Name, d.Run.State.Message)
		}
		inContainer(t, d.Run)
		if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 2 {
			t.Errorf("BIG-IP pool members = %d, want 2", n)
		}
	})

	t.Run("broken change fails in a container, rolls back, notifies", func(t *testing.T) {
		before, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant))
		sid := s.Infrahub.PutObject(seed.AS3("broken"))
		wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid)
		st, acc, err := PostWebhook(ctx, s.APIURL, s.WebhookKey, wh.Body())
		if err != nil || st != 202 || len(acc.RunIDs) != 1 {
			t.Fatalf("webhook: %d %+v %v", st, acc, err)
		}
		run := acc.RunIDs[0]
		d, err := s.WaitRun(ctx, run)
		if err != nil {
			t.Fatal(err)
		}
		if d.Run.State.Type != flow.TypeFailed {
			t.Fatalf("run %s ended %s (%s), want Failed", run, d.Run.State.Name, d.Run.State.Message)
		}
		inContainer(t, d.Run)
		if err := s.waitCompensated(ctx, run, "declare"); err != nil {
			t.Error(err)
		}
		if m, err := s.WaitNotification(ctx, run); err != nil {
			t.Error(err)
		} else if m.State != "Failed" || m.Environment != "production" || m.Error == "" {
			t.Errorf("notification %+v", m)
		}
		if after, _ := json.Marshal(s.BigIP.Tenant(seed.Tenant)); !jsonSame(before, after) {
			t.Errorf("BIG-IP tenant after rollback:\n%s\nbefore:\n%s", after, before)
		}
	})
}
