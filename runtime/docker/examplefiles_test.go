package docker

// Checks of the deployment files shipped in examples/netauto: the
// Dockerfile's offline stage builds and runs on the real engine, the
// compose files are valid with .env.example, and .env.example documents
// every variable the runtime reads.

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/proctest"
	"gopkg.in/yaml.v3"
)

// exampleFilesDir returns the repository root and examples/netauto in it.
func exampleFilesDir(t *testing.T) (root, dir string) {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("repository root not found from the test's directory: %v", err)
	}
	return root, filepath.Join(root, "examples", "netauto")
}

func copyExampleFile(t *testing.T, from, to string, mode os.FileMode) {
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

// The Dockerfile's stages in order, with the instructions the issue asks
// of the worker stage.
func TestDockerExampleDockerfileLayout(t *testing.T) {
	_, dir := exampleFilesDir(t)
	b, err := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []string
	stage := map[string][]string{}
	cur := ""
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if f := strings.Fields(l); len(f) == 4 && strings.EqualFold(f[0], "FROM") && strings.EqualFold(f[2], "AS") {
			cur = f[3]
			stages = append(stages, cur)
			stage[cur] = append(stage[cur], f[1])
			continue
		}
		if cur != "" && l != "" && !strings.HasPrefix(l, "#") {
			stage[cur] = append(stage[cur], l)
		}
	}
	// The classic builder runs every stage before the target: the one
	// that needs no pull comes first, the worker (the default) last.
	if want := []string{"release", "toolchain", "build", "worker"}; !slices.Equal(stages, want) {
		t.Fatalf("stages %q, want %q", stages, want)
	}
	if stage["release"][0] != "scratch" {
		t.Errorf("release stage is FROM %s, want scratch", stage["release"][0])
	}
	worker := strings.Join(stage["worker"], "\n")
	for _, want := range []string{"HEALTHCHECK ", `CMD ["netauto", "worker", "--pool", "netauto-docker-pool"]`} {
		if !strings.Contains(worker, want) {
			t.Errorf("worker stage lacks %s", want)
		}
	}
	toolchain := strings.Join(stage["toolchain"], "\n")
	for _, tool := range []string{"git", "openssh-client", "iputils-ping", "telnet", "curl", "go mod download"} {
		if !strings.Contains(toolchain, tool) {
			t.Errorf("toolchain stage lacks %s", tool)
		}
	}
}

// The release stage, FROM scratch, builds through BuildImage from a
// context laid out as the repository, and its image runs the binary. With
// dist/ empty it builds too: a classic build of the default target runs
// it first.
func TestDockerExampleReleaseImage(t *testing.T) {
	cli := proctest.DockerEngine(t)
	root, dir := exampleFilesDir(t)
	ctxDir := t.TempDir()
	exDir := filepath.Join(ctxDir, "examples", "netauto")
	for _, f := range []string{"Dockerfile", "dist/.gitignore", "release/data/README"} {
		copyExampleFile(t, filepath.Join(dir, f), filepath.Join(exDir, f), 0o644)
	}
	copyExampleFile(t, filepath.Join(root, ".dockerignore"), filepath.Join(ctxDir, ".dockerignore"), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	emptyTag := buildTestTag(t, cli)
	if res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: ctxDir, Dockerfile: "examples/netauto/Dockerfile", Target: "release", Tags: []string{emptyTag}}); err != nil {
		t.Fatalf("release stage with an empty dist/: %v\n%s", err, res.Log)
	}

	// The orchestrator without flows, as the Dockerfile says.
	pkg := "./examples/netauto/cmd/netauto"
	bin := filepath.Join(exDir, "dist", "usr", "local", "bin", "netauto")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-tags", "timetzdata", "-o", bin, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		copyExampleFile(t, "/etc/ssl/certs/ca-certificates.crt", filepath.Join(exDir, "dist", "etc", "ssl", "certs", "ca-certificates.crt"), 0o644)
	}

	tag := buildTestTag(t, cli)
	res, err := BuildImage(ctx, cli, BuildOptions{
		ContextDir: ctxDir,
		Dockerfile: "examples/netauto/Dockerfile",
		Target:     "release",
		Tags:       []string{tag},
	})
	if err != nil {
		t.Fatalf("BuildImage release: %v\n%s", err, res.Log)
	}
	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatal(err)
	}
	if c := img.Config; c == nil || !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/netauto"}) || !slices.Equal(c.Cmd, []string{"server", "--no-worker"}) ||
		c.User != "65532:65532" || c.WorkingDir != "/var/lib/netauto" || len(c.Volumes) != 1 {
		t.Errorf("release image config: %+v", img.Config)
	}
	out, code := runBuiltImage(t, cli, tag, "flows")
	if code != 0 || !strings.HasPrefix(out, "FLOW") {
		t.Errorf("netauto flows in the release image: exit %d, output %q", code, out)
	}
	files := imageFiles(t, cli, tag)
	if slices.Contains(files, ".gitignore") {
		t.Errorf("the release image holds dist/'s .gitignore: %q", files)
	}
	// Its default command starts: the store is created in its data
	// directory (the volume), not refused for want of a writable path.
	out = runUntil(t, cli, tag, []string{"NETAUTO_API_KEYS=release-test-key-0123456789", "NETAUTO_TOKEN_SECRET=release-test-token-secret-0123456789abcdef"}, "API on ")
	if strings.Contains(out, "permission denied") {
		t.Errorf("release image's server:\n%s", out)
	}
}

// imageFiles lists the paths of an image's file system.
func imageFiles(t *testing.T, cli *client.Client, image string) []string {
	t.Helper()
	ctx := context.Background()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: &container.Config{Image: image, Cmd: []string{"none"}}})
	if err != nil {
		t.Fatalf("create container of %s: %v", image, err)
	}
	defer cli.ContainerRemove(ctx, created.ID, client.ContainerRemoveOptions{Force: true})
	rc, err := cli.ContainerExport(ctx, created.ID, client.ContainerExportOptions{})
	if err != nil {
		t.Fatalf("export %s: %v", image, err)
	}
	defer rc.Close()
	var out []string
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("export %s: %v", image, err)
		}
		out = append(out, strings.TrimSuffix(h.Name, "/"))
	}
	slices.Sort(out)
	return out
}

// runUntil starts image's default command with env, returns its output
// once a line contains want (failing the test when it exits or takes a
// minute first), and removes the container.
func runUntil(t *testing.T, cli *client.Client, image string, env []string, want string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: image, Env: env, Labels: map[string]string{"netauto.test": t.Name()}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatalf("create container of %s: %v", image, err)
	}
	defer cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container of %s: %v", image, err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
	if err != nil {
		t.Fatalf("logs of %s: %v", image, err)
	}
	defer logs.Close()
	pr, pw := io.Pipe()
	go func() { _, err := stdcopy.StdCopy(pw, pw, logs); pw.CloseWithError(err) }()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), want) {
			return out.String()
		}
	}
	t.Fatalf("%s's default command ended before %q (%v):\n%s", image, want, sc.Err(), out.String())
	return ""
}

// Both builders — the classic one (DOCKER_BUILDKIT=0, docker-compose v1)
// and netauto's BuildImage — send the same context for the Dockerfile:
// the root .dockerignore, without .git and .gitignore files.
func TestDockerExampleBuildContextEveryBuilder(t *testing.T) {
	cli := proctest.DockerEngine(t)
	root, dir := exampleFilesDir(t)
	if _, err := os.Stat(filepath.Join(dir, "Dockerfile.dockerignore")); err == nil {
		t.Fatal("examples/netauto/Dockerfile.dockerignore exists: BuildKit would read it, the classic builder the root .dockerignore")
	}
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker CLI for the classic builder")
	}
	df := filepath.Join(t.TempDir(), "Dockerfile")
	if err := os.WriteFile(df, []byte("FROM scratch\nCOPY . /ctx/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	classic := buildTestTag(t, cli)
	cmd := exec.CommandContext(ctx, "docker", "build", "-q", "-f", df, "-t", classic, root)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("classic build: %v\n%s", err, out)
	}
	own := buildTestTag(t, cli)
	if res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: root, Dockerfile: df, Tags: []string{own}}); err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, res.Log)
	}
	a, b := imageFiles(t, cli, classic), imageFiles(t, cli, own)
	if !slices.Equal(a, b) {
		var onlyA, onlyB []string
		for _, f := range a {
			if !slices.Contains(b, f) {
				onlyA = append(onlyA, f)
			}
		}
		for _, f := range b {
			if !slices.Contains(a, f) {
				onlyB = append(onlyB, f)
			}
		}
		t.Errorf("the builders sent different contexts: only the classic one %q, only netauto's %q", onlyA, onlyB)
	}
	for _, f := range a {
		if base := filepath.Base(f); base == ".git" || base == ".gitignore" || strings.HasPrefix(f, "ctx/.git/") {
			t.Errorf("the build context holds %s", f)
		}
	}
	if !slices.Contains(a, "ctx/go.mod") || !slices.Contains(a, "ctx/examples/netauto/Dockerfile") {
		t.Errorf("the build context lacks the module: %d files", len(a))
	}
}

// composeCommand returns the command running Docker Compose: docker-compose
// (v1, Debian's package) or the docker CLI's compose plugin.
func composeCommand(t *testing.T) []string {
	t.Helper()
	if p, err := exec.LookPath("docker-compose"); err == nil {
		return []string{p}
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if os.Getenv("NETAUTO_CI") == "1" {
		t.Fatal("NETAUTO_CI=1 and neither docker-compose nor `docker compose` is installed")
	}
	t.Skip("neither docker-compose nor `docker compose` is installed")
	return nil
}

// filledEnv is .env.example with its REQUIRED values filled in, as a user
// does, written to a file of its own.
func filledEnv(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	fill := map[string]string{
		"POSTGRES_PASSWORD": "pg-test-password", "NETAUTO_API_KEYS": "cli:admin:compose-test-key-0123456789,docker-worker:worker@netauto-docker-pool:compose-worker-key-0123456789",
		"NETAUTO_API_KEY": "compose-test-key-0123456789", "NETAUTO_WORKER_API_KEY": "compose-worker-key-0123456789",
		"NETAUTO_TOKEN_SECRET": "compose-test-token-secret-0123456789abcdef", "NETAUTO_SECRET_KEY": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=",
		"NETAUTO_INFRAHUB_WEBHOOK_KEY": "compose-test-webhook-key-0123456789", "NETAUTO_FLOWS_REPO": "https://git.example.net/netops/netauto.git",
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && v == "" && fill[k] != "" {
			l = k + "=" + fill[k]
			delete(fill, k)
		}
		lines = append(lines, l)
	}
	if len(fill) > 0 {
		t.Fatalf(".env.example has no empty REQUIRED line for %v", fill)
	}
	p := filepath.Join(t.TempDir(), "env")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// composeConfig runs `config` on files with envFile; it returns the
// rendered configuration, or the error output when it fails.
func composeConfig(t *testing.T, tool []string, dir, envFile string, files ...string) ([]byte, string, error) {
	t.Helper()
	args := append(slices.Clone(tool[1:]), "--env-file", envFile)
	for _, f := range files {
		args = append(args, "-f", f)
	}
	args = append(args, "config")
	cmd := exec.Command(tool[0], args...)
	cmd.Dir = dir
	// Only the env file speaks: no variable of the caller's shell.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	return out, stderr.String(), err
}

// .env.example as shipped does not start anything: its REQUIRED values
// are empty, and the compose file's guards name them.
func TestDockerExampleEnvGuards(t *testing.T) {
	tool := composeCommand(t)
	_, dir := exampleFilesDir(t)
	_, stderr, err := composeConfig(t, tool, dir, ".env.example", "docker-compose.yml")
	if err == nil || !strings.Contains(stderr, "set ") || !strings.Contains(stderr, "in .env") {
		t.Fatalf("config with .env.example as shipped: %v\n%s\nwant a guard naming a REQUIRED variable", err, stderr)
	}
	b, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	// A placeholder would defeat the guard: no value says "change me".
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(k, "#") && regexp.MustCompile(`(?i)change.?me|<password>`).MatchString(v) {
			t.Errorf(".env.example sets a placeholder: %s", l)
		}
	}
}

// The compose files, alone and with each override, are valid with the
// values of .env.example once filled in; the worker can be scaled; the
// server and the worker receive the settings .env holds for them.
func TestDockerExampleComposeConfig(t *testing.T) {
	tool := composeCommand(t)
	_, dir := exampleFilesDir(t)
	envFile := filledEnv(t, dir)
	example, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(example), "\nCOMPOSE_FILE=docker-compose.yml:docker-compose.publish.yml\n") {
		t.Error(".env.example does not name docker-compose.publish.yml in COMPOSE_FILE: a plain up would publish no port")
	}
	for _, files := range [][]string{
		{"docker-compose.yml", "docker-compose.publish.yml"},
		{"docker-compose.yml", "docker-compose.dev.yml"},
		{"docker-compose.yml", "docker-compose.prod.yml"},
	} {
		args := append(slices.Clone(tool[1:]), "--env-file", envFile)
		for _, f := range files {
			args = append(args, "-f", f)
		}
		args = append(args, "config")
		cmd := exec.Command(tool[0], args...)
		cmd.Dir = dir
		// Only .env.example speaks: no variable of the caller's shell.
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: %v\n%s", strings.Join(args, " "), err, stderr.String())
			continue
		}
		var cfg struct {
			Services map[string]map[string]any
			Networks map[string]struct{ Name string }
		}
		var envs struct {
			Services map[string]struct{ Environment map[string]string }
		}
		_ = yaml.Unmarshal(out, &envs)
		if err := yaml.Unmarshal(out, &cfg); err != nil {
			t.Errorf("%v: config output: %v", files, err)
			continue
		}
		for _, s := range []string{"postgres", "server", "worker"} {
			if cfg.Services[s] == nil {
				t.Errorf("%v: no service %s", files, s)
			}
		}
		w := cfg.Services["worker"]
		for _, k := range []string{"container_name", "ports"} {
			if _, ok := w[k]; ok {
				t.Errorf("%v: worker has %s: it could not be scaled", files, k)
			}
		}
		if _, ok := cfg.Services["server"]["ports"]; !ok {
			t.Errorf("%v: server publishes no port for the API and webhooks", files)
		}
		if cfg.Networks["default"].Name != "netauto" {
			t.Errorf("%v: the default network is named %q, not netauto: run containers could not join it", files, cfg.Networks["default"].Name)
		}
		server, worker := envs.Services["server"].Environment, envs.Services["worker"].Environment
		for _, k := range []string{"NETAUTO_INFRAHUB_WEBHOOK_KEY", "NETAUTO_POOL_TYPE", "NETAUTO_IMAGE", "NETAUTO_FLOWS_REPO", "NETAUTO_FLOWS_REF",
			"NETAUTO_INFRAHUB_URL", "NETAUTO_INFRAHUB_TOKEN", "NETAUTO_F5_URL", "NETAUTO_F5_USERNAME", "NETAUTO_F5_PASSWORD",
			"NETAUTO_DEVICE_USERNAME", "NETAUTO_DEVICE_PASSWORD", "NETAUTO_ENVIRONMENT", "NETAUTO_DB", "NETAUTO_SECRET_KEY", "NETAUTO_API_KEYS", "NETAUTO_TOKEN_SECRET"} {
			if _, ok := server[k]; !ok {
				t.Errorf("%v: the server does not receive %s", files, k)
			}
		}
		if server["NETAUTO_INFRAHUB_WEBHOOK_KEY"] != "compose-test-webhook-key-0123456789" {
			t.Errorf("%v: the server's webhook key is %q, not .env's", files, server["NETAUTO_INFRAHUB_WEBHOOK_KEY"])
		}
		for _, k := range []string{"NETAUTO_DB", "NETAUTO_SECRET_KEY", "NETAUTO_API_URL", "NETAUTO_API_KEY", "NETAUTO_IMAGE"} {
			if _, ok := worker[k]; !ok {
				t.Errorf("%v: the worker does not receive %s", files, k)
			}
		}
	}
}

var envNamePattern = regexp.MustCompile(`"(NETAUTO_[A-Z0-9_]+)"`)

// .env.example names every NETAUTO_* variable the runtime reads (test
// helper packages, named *test, aside).
func TestDockerExampleEnvFile(t *testing.T) {
	root, dir := exampleFilesDir(t)
	example, err := os.ReadFile(filepath.Join(dir, ".env.example"))
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^#?(NETAUTO_[A-Z0-9_]+)=`).FindAllStringSubmatch(string(example), -1) {
		documented[m[1]] = true
	}
	read := map[string]bool{}
	err = filepath.WalkDir(filepath.Join(root, "runtime"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "testdata" || strings.HasSuffix(d.Name(), "test")) {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envNamePattern.FindAllStringSubmatch(string(b), -1) {
			read[m[1]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(read) < 5 {
		t.Fatalf("found only %d NETAUTO_* names in runtime/: the scan is broken", len(read))
	}
	for name := range read {
		if !documented[name] {
			t.Errorf("examples/netauto/.env.example does not document %s, which the runtime reads", name)
		}
	}
}
