package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/cgi"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/api/types/events"
	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/examples/netauto/schema"
	"github.com/netauto-dev/netauto/examples/netauto/seed"
	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/infrahub/infrahubtest"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/client"
	"github.com/netauto-dev/netauto/runtime/docker"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// The production deployment, as a real host runs it: docker-compose
// starts the server and the worker from the base image built from the
// Dockerfile, with a .env; runs start in containers of that image, their
// flows built from a Git repository. Nothing can be pulled here, so:
//
//   - the Dockerfile's Go image is a stand-in made once with debootstrap
//     from Debian's mirror and the host's Go, imported under the name the
//     Dockerfile's GO_IMAGE/GO_VERSION select, and kept between runs;
//   - the image's module cache is filled from the host's, served on
//     127.0.0.1 as a module proxy (GOPROXY build argument, host network);
//   - PostgreSQL is the host's (NETAUTO_TEST_POSTGRES_DSN), a database of
//     the test's own, reached through POSTGRES_HOST in .env;
//   - server, workers and runs share the host's network (.env's
//     NETAUTO_RUN_NETWORK=host and the test's override, which also sets
//     the addresses): the fake Infrahub, BIG-IP and notification receiver,
//     the Git server and PostgreSQL all listen on 127.0.0.1.
const (
	// composeGoImage is the stand-in's name: GO_IMAGE of the test's .env.
	composeGoImage = "netauto-e2e-golang"
	composeProject = "netauto-e2e"
	composeLabel   = "netauto-e2e.compose"
)

// goVersionTag is the Dockerfile's GO_VERSION-DEBIAN_RELEASE for the host's Go.
func goVersionTag(t *testing.T) (version, tag string) {
	t.Helper()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	full := strings.TrimPrefix(strings.TrimSpace(string(out)), "go")
	m := regexp.MustCompile(`^(\d+\.\d+)`).FindString(full)
	if m == "" {
		t.Fatalf("go version %q", full)
	}
	return full, m + "-bookworm"
}

// ensureGoStandIn returns the stand-in Go image's tag, making it when the
// engine does not have it: a Debian bookworm root file system made with
// debootstrap (with the tools the Dockerfile installs, so that its build
// needs no network) and the host's Go in /usr/local/go, as the official
// image lays them out.
func ensureGoStandIn(t *testing.T, cli *mclient.Client) (goVersion string) {
	t.Helper()
	full, tag := goVersionTag(t)
	ref := composeGoImage + ":" + tag
	if _, err := cli.ImageInspect(context.Background(), ref); err == nil {
		return strings.Split(tag, "-")[0]
	}
	deboot, err := exec.LookPath("debootstrap")
	if err != nil {
		if os.Getenv("NETAUTO_CI") != "" {
			t.Fatal("debootstrap is not installed (.ci/run installs it) and the stand-in Go image " + ref + " does not exist")
		}
		t.Skip("debootstrap is not installed: cannot make the stand-in Go image " + ref)
	}
	start := time.Now()
	root := filepath.Join(t.TempDir(), "rootfs")
	out, err := exec.Command(deboot, "--variant=minbase",
		"--include=ca-certificates,curl,git,iputils-ping,openssh-client,telnet,tzdata",
		"bookworm", root, "http://deb.debian.org/debian").CombinedOutput()
	if err != nil {
		t.Fatalf("debootstrap (as root, from deb.debian.org): %v\n%s", err, lastLines(string(out), 20))
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatal(err)
	}
	script := fmt.Sprintf(`set -e
rm -rf %[1]s/var/cache/apt/archives/*.deb %[1]s/var/lib/apt/lists/*
cp -a %[2]s %[1]s/usr/local/go
mkdir -p %[1]s/go/bin %[1]s/go/src && chmod -R 777 %[1]s/go
tar -C %[1]s -c . | docker import \
  --change 'ENV PATH=/go/bin:/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV GOPATH=/go' --change 'ENV GOLANG_VERSION=%[3]s' --change 'WORKDIR /go' --change 'CMD ["bash"]' \
  - %[4]s`, root, strings.TrimSpace(string(goroot)), full, ref)
	if out, err := exec.Command("sh", "-c", script).CombinedOutput(); err != nil {
		t.Fatalf("import the stand-in Go image: %v\n%s", err, lastLines(string(out), 20))
	}
	_ = exec.Command("rm", "-rf", root).Run()
	t.Logf("made the stand-in Go image %s in %s (kept for the next runs)", ref, time.Since(start).Round(time.Second))
	return strings.Split(tag, "-")[0]
}

func lastLines(s string, n int) string {
	l := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(l[max(0, len(l)-n):], "\n")
}

// serveModuleCache serves the host's module cache as a module proxy on
// 127.0.0.1, after checking it holds every module `go mod download`
// fetches in the image.
func serveModuleCache(t *testing.T) string {
	t.Helper()
	check := exec.Command("go", "mod", "download")
	check.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=mod")
	if out, err := check.CombinedOutput(); err != nil {
		t.Fatalf("the host's module cache lacks modules the base image downloads (run `go mod download`; .ci/run does): %v\n%s", err, out)
	}
	out, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(strings.TrimSpace(string(out)), "cache", "download"))))
	t.Cleanup(srv.Close)
	return srv.URL
}

// flowsRepo is the Git repository the workers take the flows from: this
// module as the working tree holds it, committed, pushed to a bare
// repository served over smart HTTP by git http-backend on 127.0.0.1.
type flowsRepo struct {
	t         *testing.T
	work, url string
	bare      string
}

func newFlowsRepo(t *testing.T) *flowsRepo {
	t.Helper()
	root := filepath.Dir(mustGoEnv(t, "GOMOD"))
	dir := t.TempDir()
	r := &flowsRepo{t: t, work: filepath.Join(dir, "work"), bare: filepath.Join(dir, "srv", "flows.git")}
	ls := exec.Command("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard")
	ls.Dir = root
	out, err := ls.Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		src := filepath.Join(root, f)
		fi, err := os.Lstat(src)
		if err != nil || !fi.Mode().IsRegular() {
			continue // deleted in the working tree, or not a file
		}
		copyFile(t, src, filepath.Join(r.work, f), fi.Mode().Perm())
	}
	r.git("init", "-q", "-b", "main")
	r.commit("netauto at the test's working tree")
	if out, err := exec.Command("git", "clone", "-q", "--bare", r.work, r.bare).CombinedOutput(); err != nil {
		t.Fatalf("git clone --bare: %v\n%s", err, out)
	}
	gitPath, err := exec.LookPath("git")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(&cgi.Handler{Path: gitPath, Args: []string{"http-backend"},
		Env: []string{"GIT_PROJECT_ROOT=" + filepath.Dir(r.bare), "GIT_HTTP_EXPORT_ALL=1"}})
	t.Cleanup(srv.Close)
	r.url = srv.URL + "/flows.git"
	return r
}

func mustGoEnv(t *testing.T, name string) string {
	t.Helper()
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

func (r *flowsRepo) git(args ...string) string {
	r.t.Helper()
	cmd := exec.Command("git", append([]string{"-c", "user.name=netauto e2e", "-c", "user.email=e2e@example.com"}, args...)...)
	cmd.Dir = r.work
	out, err := cmd.CombinedOutput()
	if err != nil {
		r.t.Fatalf("git %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// commit commits the working tree and returns the commit's hash.
func (r *flowsRepo) commit(msg string) string {
	r.git("add", "-A")
	r.git("commit", "-q", "-m", msg)
	return r.git("rev-parse", "HEAD")
}

// push pushes main to the served repository.
func (r *flowsRepo) push() { r.git("push", "-q", r.bare, "main:main") }

// composeStack is the stack docker-compose runs from the shipped files.
type composeStack struct {
	t            *testing.T
	tool         []string
	dir, envFile string
	override     string
}

func (c *composeStack) run(timeout time.Duration, args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	full := append(slices.Clone(c.tool[1:]), "-p", composeProject, "--env-file", c.envFile, "-f", "docker-compose.yml", "-f", c.override)
	cmd := exec.CommandContext(ctx, c.tool[0], append(full, args...)...)
	cmd.Dir = c.dir
	// Only the env file speaks for the stack: no variable of the test's
	// environment reaches the compose files.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (c *composeStack) must(timeout time.Duration, args ...string) string {
	c.t.Helper()
	out, err := c.run(timeout, args...)
	if err != nil {
		c.t.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, lastLines(out, 40))
	}
	return out
}

// envFileFrom is .env.example with the REQUIRED values and the test's
// settings filled in: what an operator's .env holds.
func envFileFrom(t *testing.T, example string, set map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		k, _, ok := strings.Cut(strings.TrimPrefix(l, "#"), "=")
		if v, in := set[k]; ok && in {
			l = k + "=" + v
			delete(set, k)
		}
		lines = append(lines, l)
	}
	for _, k := range slices.Sorted(mapsKeys(set)) {
		lines = append(lines, k+"="+set[k])
	}
	p := filepath.Join(t.TempDir(), ".env")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).AddrPort().String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// runContainers records the run containers the engine creates: their
// image and, inspected at once, their environment.
type runContainers struct {
	mu    sync.Mutex
	byRun map[string]runContainer
	errs  []error
	more  chan struct{}
}

type runContainer struct {
	id, image string
	env       []string
	stdin     bool
}

func watchRunContainers(ctx context.Context, cli *mclient.Client) *runContainers {
	w := &runContainers{byRun: map[string]runContainer{}, more: make(chan struct{}, 1)}
	res := cli.Events(ctx, mclient.EventsListOptions{Filters: mclient.Filters{}.
		Add("type", "container").Add("event", "create").Add("label", docker.LabelPool+"="+DockerPool)})
	go func() {
		for {
			select {
			case m := <-res.Messages:
				rc := w.inspect(ctx, cli, m)
				w.mu.Lock()
				w.byRun[m.Actor.Attributes[docker.LabelRun]] = rc
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

// inspect reads a just created container's configuration: it lives while
// its run does (the run waits for its secrets on stdin first).
func (w *runContainers) inspect(ctx context.Context, cli *mclient.Client, m events.Message) runContainer {
	rc := runContainer{id: m.Actor.ID, image: m.Actor.Attributes["image"]}
	ins, err := cli.ContainerInspect(ctx, m.Actor.ID, mclient.ContainerInspectOptions{})
	if err != nil {
		w.mu.Lock()
		w.errs = append(w.errs, fmt.Errorf("inspect %s: %w", m.Actor.ID, err))
		w.mu.Unlock()
		return rc
	}
	rc.env, rc.stdin = ins.Container.Config.Env, ins.Container.Config.OpenStdin
	return rc
}

// failures returns what went wrong watching.
func (w *runContainers) failures() []error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.errs)
}

func (w *runContainers) of(ctx context.Context, runID string) (runContainer, bool) {
	for {
		w.mu.Lock()
		rc, ok := w.byRun[runID]
		w.mu.Unlock()
		if ok {
			return rc, true
		}
		select {
		case <-ctx.Done():
			return rc, false
		case <-w.more:
		}
	}
}

// TestComposeProduction brings the production stack up with
// docker-compose from the shipped files and drives it as production
// would: Infrahub's signed webhook starts a run in a container of the base
// image, its flow fetched from Git and built there; a pushed commit is run
// next without building any base image; deploying the older commit rolls
// back; the runs see .env's settings, their secrets never in docker
// inspect; more workers join the pool.
func TestComposeProduction(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the base image and runs the compose stack")
	}
	cli := proctest.DockerEngine(t)
	tool := composeTool(t)
	dsn := storetest.PostgresDSN(t)
	start := time.Now()
	goVersion := ensureGoStandIn(t, cli)
	standIn := time.Since(start)

	// Bounds the fakes and the setup; what runs after the image build has
	// a deadline of its own (the build's time depends on the machine).
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Minute)
	defer cancel()
	proxy := serveModuleCache(t)
	repo := newFlowsRepo(t)
	commit1 := repo.git("rev-parse", "HEAD")
	s, err := StartSystem(ctx, SystemOptions{Dir: t.TempDir(), Devices: 2, FakesOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	dbName := "netauto_e2e_" + randomHex(4)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + dbName); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + dbName + " WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", dbName, err)
		}
		admin.Close()
	})
	pg, err := parsePostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}

	// The operator's .env: .env.example with its REQUIRED values filled
	// in, the settings of this host, and the ones the runs must receive.
	apiAddr := freePort(t)
	apiURL := "http://" + apiAddr
	apiKey := "na_" + randomHex(24)
	workerKey := "na_" + randomHex(24)
	secretKey := make([]byte, 32)
	_, _ = rand.Read(secretKey)
	baseImage := "netauto-e2e-base:" + randomHex(4)
	dockerGID := "0"
	if out, err := exec.Command("stat", "-c", "%g", "/var/run/docker.sock").Output(); err == nil {
		dockerGID = strings.TrimSpace(string(out))
	}
	const channel = "#e2e-from-dotenv"
	dir, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	envFile := envFileFrom(t, filepath.Join(dir, ".env.example"), map[string]string{
		"COMPOSE_FILE":      "", // the test names its files
		"POSTGRES_HOST":     "127.0.0.1",
		"POSTGRES_PORT":     pg.port,
		"POSTGRES_USER":     pg.user,
		"POSTGRES_PASSWORD": pg.password,
		"POSTGRES_DB":       dbName,
		"DOCKER_GID":        dockerGID,
		"GO_IMAGE":          composeGoImage,
		"GO_VERSION":        goVersion,
		"GOPROXY":           proxy,
		"NETAUTO_IMAGE":     baseImage,
		// Nothing to pull: the pool's image is the one just built.
		"NETAUTO_IMAGE_PULL_POLICY": "Never",
		"NETAUTO_RUN_NETWORK":       "host",
		"NETAUTO_LISTEN":            apiAddr,
		"NETAUTO_WORKER_API_URL":    apiURL,
		// Named keys with roles, as .env.example asks: the CLI's admin
		// key, and a worker key the API confines to the Docker pool.
		"NETAUTO_API_KEYS":             "ci:admin:" + apiKey + ",docker-worker:worker@netauto-docker-pool:" + workerKey,
		"NETAUTO_API_KEY":              apiKey,
		"NETAUTO_WORKER_API_KEY":       workerKey,
		"NETAUTO_TOKEN_SECRET":         randomHex(32),
		"NETAUTO_SECRET_KEY":           base64.StdEncoding.EncodeToString(secretKey),
		"NETAUTO_INFRAHUB_WEBHOOK_KEY": string(s.WebhookKey),
		"NETAUTO_FLOWS_REPO":           repo.url,
		"NETAUTO_FLOWS_REF":            "main",
		"NETAUTO_ENVIRONMENT":          "production",
		"NETAUTO_INFRAHUB_URL":         s.InfrahubURL,
		"NETAUTO_INFRAHUB_TOKEN":       infrahubtest.DefaultAPIToken,
		"NETAUTO_F5_URL":               s.BigIPURL,
		"NETAUTO_F5_USERNAME":          "admin",
		"NETAUTO_F5_PASSWORD":          "admin",
		"NETAUTO_NOTIFY_URL":           s.NotifyURL,
		"NETAUTO_NOTIFY_KEY":           string(s.NotifyKey),
		"NETAUTO_NOTIFY_CHANNEL":       channel,
		"NETAUTO_LOG_LEVEL":            "debug",
	})
	// The host's network for the build (the module proxy), the server and
	// the workers; the server's own commands use its address.
	override := filepath.Join(t.TempDir(), "docker-compose.e2e.yml")
	if err := os.WriteFile(override, []byte(`services:
  server:
    build:
      network: host
    network_mode: host
    labels: {`+composeLabel+`: "1"}
    environment:
      NETAUTO_API_URL: `+apiURL+`
  worker:
    network_mode: host
    labels: {`+composeLabel+`: "1"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	stack := &composeStack{t: t, tool: tool, dir: dir, envFile: envFile, override: override}
	// A run killed by go test's timeout skips its cleanup and leaves its
	// server and worker running: take down what an earlier run left.
	_, _ = stack.run(5*time.Minute, "down", "-v", "--remove-orphans")
	t.Cleanup(func() {
		if out, err := stack.run(5*time.Minute, "down", "-v", "--remove-orphans"); err != nil {
			t.Errorf("docker-compose down: %v\n%s", err, out)
		}
		if t.Failed() {
			if out, err := stack.run(time.Minute, "logs", "--no-color", "--tail", "80"); err == nil {
				t.Logf("compose logs:\n%s", out)
			}
		}
		rctx, c := context.WithTimeout(context.Background(), 2*time.Minute)
		defer c()
		_, _ = cli.ImageRemove(rctx, baseImage, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
		_, _ = cli.VolumeRemove(rctx, "netauto-backups", mclient.VolumeRemoveOptions{})
	})

	// Build: the base image from the Dockerfile, by docker-compose (the
	// classic builder, through the root .dockerignore).
	t0 := time.Now()
	out := stack.must(30*time.Minute, "build", "server")
	build := time.Since(t0)
	if m := regexp.MustCompile(`Sending build context to Docker daemon\s+([0-9.]+)([kMG]B)`).FindStringSubmatch(out); m == nil {
		t.Errorf("no build context size in the build's output:\n%s", lastLines(out, 20))
	} else if size, _ := strconv.ParseFloat(m[1], 64); m[2] == "GB" || m[2] == "MB" && size > 20 {
		t.Errorf("build context of %s%s: want a few MB (no .git, no caches)", m[1], m[2])
	}
	baseID := imageID(t, cli, baseImage)
	if files := imageFileList(t, baseImage, "/src", "/usr/local/bin"); strings.Contains(files, "examples") || !strings.Contains(files, "/usr/local/bin/netauto") {
		t.Errorf("the base image holds flow code or lacks the orchestrator:\n%s", files)
	}

	// Up: the server, healthy, then configure and deploy from inside it,
	// then the worker. From here on, 30 minutes at most.
	ctx, cancelRuns := context.WithTimeout(ctx, 30*time.Minute)
	defer cancelRuns()
	t0 = time.Now()
	stack.must(5*time.Minute, "up", "-d", "--no-deps", "server")
	c, err := client.New(apiURL, client.Options{Token: apiKey})
	if err != nil {
		t.Fatal(err)
	}
	s.Client = c
	waitHealthy(ctx, t, apiURL)
	out = stack.must(2*time.Minute, "exec", "-T", "server", "netauto", "configure")
	if !strings.Contains(out, "block netauto-config-production: saved from NETAUTO_INFRAHUB_URL, NETAUTO_INFRAHUB_TOKEN, NETAUTO_F5_URL") ||
		strings.Contains(out, infrahubtest.DefaultAPIToken) || strings.Contains(out, string(s.NotifyKey)) {
		t.Fatalf("configure:\n%s", out)
	}
	out = stack.must(2*time.Minute, "exec", "-T", "server", "netauto", "deploy")
	if !strings.Contains(out, "deployment f5-as3-production: created") || !strings.Contains(out, "pool netauto-docker-pool:") {
		t.Fatalf("deploy:\n%s", out)
	}
	d, err := c.Deployment(ctx, "f5-as3-production")
	if err != nil {
		t.Fatal(err)
	}
	if d.Source == nil || d.Source.Repository != repo.url || d.Source.Ref != "main" || d.Source.Entrypoint != "./examples/netauto/cmd/flows" {
		t.Fatalf("deployment source %+v", d.Source)
	}
	creates := watchRunContainers(ctx, cli)
	t.Cleanup(func() {
		// The images the launcher derived from the base image, per commit.
		creates.mu.Lock()
		defer creates.mu.Unlock()
		seen := map[string]bool{}
		for _, rc := range creates.byRun {
			if rc.image != "" && !seen[rc.image] {
				seen[rc.image] = true
				_, _ = cli.ImageRemove(context.Background(), rc.image, mclient.ImageRemoveOptions{Force: true, PruneChildren: true})
			}
		}
	})
	stack.must(5*time.Minute, "up", "-d", "--no-deps", "worker")
	up := time.Since(t0)

	// webhook posts a signed artifact.updated for an AS3 declaration and
	// returns the run once final, with its container.
	type ran struct {
		run       store.FlowRun
		container runContainer
	}
	webhook := func(t *testing.T, declaration string, members ...string) (res ran) {
		t.Helper()
		sid := s.Infrahub.PutObject(seed.AS3(declaration, members...))
		wh := ArtifactUpdated(s.AS3ArtifactID, "f5-as3-app", schema.KindNetautoFlexApplication, s.AS3TargetID, sid)
		st, acc, err := PostWebhook(ctx, apiURL, s.WebhookKey, wh.Body())
		if err != nil || st != http.StatusAccepted || len(acc.RunIDs) != 1 {
			t.Fatalf("webhook: %d %+v %v", st, acc, err)
		}
		wctx, c2 := context.WithTimeout(ctx, 20*time.Minute)
		defer c2()
		// Production changes wait for approval (the environment's
		// block, set by configure): the test approves as an operator
		// would, with the CLI's key (the run was made by a webhook,
		// so four-eyes does not stand in the way).
		approved := false
		var det wire.RunDetail
		for {
			det, err = c.Run(wctx, acc.RunIDs[0])
			if err != nil {
				t.Fatal(err)
			}
			if det.Run.State.Final() {
				break
			}
			if det.Run.State.Name == flow.NameAwaitingInput && !approved {
				if _, err := c.Approve(wctx, det.Run.ID, "", json.RawMessage(`{}`)); err != nil {
					t.Fatalf("approve run %s: %v", det.Run.ID, err)
				}
				approved = true
			}
			select {
			case <-wctx.Done():
				t.Fatalf("run %s still %s", det.Run.ID, det.Run.State.Name)
			case <-time.After(200 * time.Millisecond):
			}
		}
		if !approved && det.Run.State.Type == flow.TypeCompleted {
			t.Errorf("production run %s completed without waiting for approval", det.Run.ID)
		}
		res.run = det.Run
		rc, ok := creates.of(wctx, det.Run.ID)
		if !ok {
			t.Fatalf("no container of run %s (%v)", det.Run.ID, creates.failures())
		}
		res.container = rc
		return res
	}
	logsOf := func(t *testing.T, id string) string {
		t.Helper()
		page, err := c.Logs(ctx, store.LogQuery{FlowRunID: id, Limit: 10000})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		for _, le := range page.Logs {
			b.WriteString(le.Message + "\n")
		}
		return b.String()
	}
	const marker = "flows built from the second commit"
	var firstRun time.Duration

	t.Run("webhook runs the flow from Git in a container of the base image", func(t *testing.T) {
		t0 := time.Now()
		got := webhook(t, "v2", "10.1.20.21", "10.1.20.22")
		firstRun = time.Since(t0)
		r := got.run
		if r.State.Type != flow.TypeCompleted {
			t.Fatalf("run %s ended %s: %s\nlogs:\n%s", r.ID, r.State.Name, r.State.Message, logsOf(t, r.ID))
		}
		if r.SourceCommit != commit1 || r.Origin.Kind != store.OriginTrigger || r.EventID == "" {
			t.Errorf("run: commit %s (want %s), origin %+v, event %q", r.SourceCommit, commit1, r.Origin, r.EventID)
		}
		if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 2 {
			t.Errorf("BIG-IP pool members = %d, want 2", n)
		}
		checkRunContainer(t, cli, got.container, commit1, baseID)
		if strings.Contains(logsOf(t, r.ID), marker) {
			t.Error("the first commit's run printed the second's marker")
		}
	})

	t.Run("broken change notifies where .env says", func(t *testing.T) {
		got := webhook(t, "broken")
		if got.run.State.Type != flow.TypeFailed {
			t.Fatalf("run ended %s (%s), want Failed", got.run.State.Name, got.run.State.Message)
		}
		nctx, c := context.WithTimeout(ctx, time.Minute)
		defer c()
		// First "awaits approval" (production's gate), then the failure.
		if m, err := s.WaitNotificationState(nctx, got.run.ID, flow.NameAwaitingInput); err != nil || m.Prompt == "" {
			t.Errorf("no awaits-approval notification with its prompt: %+v %v", m, err)
		}
		m, err := s.WaitNotificationState(nctx, got.run.ID, "Failed")
		if err != nil {
			t.Fatal(err)
		}
		if m.State != "Failed" || m.Environment != "production" || m.Channel != channel {
			t.Errorf("notification %+v, want Failed for production on %s (.env's NETAUTO_NOTIFY_CHANNEL)", m, channel)
		}
	})

	var commit2 string
	var secondRun time.Duration
	t.Run("a pushed commit runs next, no image built", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(repo.work, "examples", "netauto", "cmd", "flows", "marker.go"), []byte(`package main

import (
	"fmt"
	"os"
)

func init() { fmt.Fprintln(os.Stderr, "`+marker+`") }
`), 0o644); err != nil {
			t.Fatal(err)
		}
		commit2 = repo.commit("print a marker")
		repo.push()
		t0 := time.Now()
		got := webhook(t, "v3", "10.1.20.21", "10.1.20.22", "10.1.20.23")
		secondRun = time.Since(t0)
		if got.run.State.Type != flow.TypeCompleted || got.run.SourceCommit != commit2 {
			t.Fatalf("run %s ended %s (%s) from commit %s, want Completed from %s", got.run.ID, got.run.State.Name, got.run.State.Message, got.run.SourceCommit, commit2)
		}
		if !strings.Contains(logsOf(t, got.run.ID), marker) {
			t.Errorf("the run's logs lack the new commit's marker:\n%s", logsOf(t, got.run.ID))
		}
		if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 3 {
			t.Errorf("BIG-IP pool members = %d, want 3", n)
		}
		checkRunContainer(t, cli, got.container, commit2, baseID)
		if id := imageID(t, cli, baseImage); id != baseID {
			t.Errorf("the base image changed: %s, was %s", id, baseID)
		}
	})

	t.Run("deploying the older commit rolls back", func(t *testing.T) {
		out := stack.must(2*time.Minute, "exec", "-T", "-e", "NETAUTO_FLOWS_REF="+commit1, "server", "netauto", "deploy")
		if !strings.Contains(out, "deployment f5-as3-production: updated") || !strings.Contains(out, commit1) {
			t.Fatalf("deploy of %s:\n%s", commit1, out)
		}
		got := webhook(t, "v2", "10.1.20.21", "10.1.20.22")
		if got.run.State.Type != flow.TypeCompleted || got.run.SourceCommit != commit1 {
			t.Fatalf("run ended %s (%s) from commit %s, want Completed from %s", got.run.State.Name, got.run.State.Message, got.run.SourceCommit, commit1)
		}
		if strings.Contains(logsOf(t, got.run.ID), marker) {
			t.Error("the rolled-back run printed the second commit's marker")
		}
		if n := poolMembers(s.BigIP.Tenant(seed.Tenant)); n != 2 {
			t.Errorf("BIG-IP pool members = %d, want 2", n)
		}
	})

	t.Run("more workers join the pool", func(t *testing.T) {
		stack.must(5*time.Minute, "up", "-d", "--no-deps", "--scale", "worker=2", "worker")
		for {
			ws, err := c.Workers(ctx, DockerPool)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, w := range ws {
				if w.Pool == DockerPool && time.Since(w.LastSeen) < time.Minute {
					n++
				}
			}
			if n >= 2 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("%d live workers of %s, want 2", n, DockerPool)
			case <-time.After(500 * time.Millisecond):
			}
		}
	})
	t.Logf("timings: stand-in Go image %s, base image build %s, up+configure+deploy %s, first run (flow build) %s, run of a new commit %s, total %s",
		standIn.Round(time.Second), build.Round(time.Second), up.Round(time.Second), firstRun.Round(time.Second), secondRun.Round(time.Second), time.Since(start).Round(time.Second))
}

// checkRunContainer checks a run's container: an image derived from the
// base image for its commit, its secrets not in its configuration.
func checkRunContainer(t *testing.T, cli *mclient.Client, rc runContainer, commit, baseID string) {
	t.Helper()
	ins, err := cli.ImageInspect(context.Background(), rc.image)
	if err != nil {
		t.Fatalf("image %s of the run's container: %v", rc.image, err)
	}
	base, err := cli.ImageInspect(context.Background(), baseID)
	if err != nil {
		t.Fatal(err)
	}
	var labels map[string]string
	if ins.Config != nil {
		labels = ins.Config.Labels
	}
	if labels[docker.LabelDerived] != commit || ins.RootFS.Layers == nil || !slices.Equal(ins.RootFS.Layers[:min(len(base.RootFS.Layers), len(ins.RootFS.Layers))], base.RootFS.Layers) {
		t.Errorf("run container's image %s (labels %v), want one derived from the base image for commit %s", rc.image, labels, commit)
	}
	env := strings.Join(rc.env, "\n")
	for _, secret := range []string{"NETAUTO_RUN_TOKEN=", "NETAUTO_CONFIG=", "NETAUTO_RUN=", infrahubtest.DefaultAPIToken} {
		if strings.Contains(env, secret) {
			t.Errorf("docker inspect shows %s in the run's environment", strings.TrimSuffix(secret, "="))
		}
	}
	if !slices.Contains(rc.env, "NETAUTO_SECRET_ENV=stdin") || !slices.Contains(rc.env, "NETAUTO_ENVIRONMENT=production") || !rc.stdin {
		t.Errorf("run environment %q (stdin %v): want the secrets handed over on stdin", rc.env, rc.stdin)
	}
}

func imageID(t *testing.T, cli *mclient.Client, ref string) string {
	t.Helper()
	ins, err := cli.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("image %s: %v", ref, err)
	}
	return ins.ID
}

// imageFileList lists the files under dirs in an image.
func imageFileList(t *testing.T, image string, dirs ...string) string {
	t.Helper()
	out, err := exec.Command("docker", append([]string{"run", "--rm", "--network", "none", "--entrypoint", "find", image}, dirs...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("list files of %s: %v\n%s", image, err, out)
	}
	return string(out)
}

func waitHealthy(ctx context.Context, t *testing.T, url string) {
	t.Helper()
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server at %s did not become healthy: %v", url, err)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// composeTool is the docker-compose command (v1, Debian's package).
func composeTool(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if os.Getenv("NETAUTO_CI") != "" {
		t.Fatal("NETAUTO_CI is set and docker-compose is not installed")
	}
	t.Skip("docker-compose is not installed")
	return nil
}

// pgConn is what .env says of the host's PostgreSQL.
type pgConn struct{ user, password, port string }

func parsePostgres(dsn string) (pgConn, error) {
	m := regexp.MustCompile(`^postgres(?:ql)?://([^:@/]+):([^@/]*)@127\.0\.0\.1:(\d+)/`).FindStringSubmatch(dsn)
	if m == nil {
		return pgConn{}, fmt.Errorf("%s: want postgres://user:password@127.0.0.1:port/db", storetest.EnvPostgresDSN)
	}
	return pgConn{user: m[1], password: m[2], port: m[3]}, nil
}
