package docker

// Checks of the deployment files shipped in examples/netauto: the
// Dockerfile's offline stage builds and runs on the real engine, the
// compose files are valid with .env.example, and .env.example documents
// every variable the runtime reads.

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

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
	for _, f := range []string{"Dockerfile", "Dockerfile.dockerignore", "dist/.gitignore"} {
		copyExampleFile(t, filepath.Join(dir, f), filepath.Join(exDir, f), 0o644)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	emptyTag := buildTestTag(t, cli)
	if res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: ctxDir, Dockerfile: "examples/netauto/Dockerfile", Target: "release", Tags: []string{emptyTag}}); err != nil {
		t.Fatalf("release stage with an empty dist/: %v\n%s", err, res.Log)
	}

	// The example's binary once it exists on this branch, else the
	// smallest runtime example: the stage only needs a static netauto.
	pkg := "./examples/netauto"
	if _, err := os.Stat(filepath.Join(dir, "main.go")); err != nil {
		pkg = "./examples/hello"
		t.Logf("examples/netauto has no main package yet: the image carries %s", pkg)
	}
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
	if c := img.Config; c == nil || !slices.Equal(c.Entrypoint, []string{"/usr/local/bin/netauto"}) || !slices.Equal(c.Cmd, []string{"server"}) || c.User != "65532:65532" {
		t.Errorf("release image config: %+v", img.Config)
	}
	out, code := runBuiltImage(t, cli, tag, "flows")
	if code != 0 || !strings.HasPrefix(out, "FLOW") {
		t.Errorf("netauto flows in the release image: exit %d, output %q", code, out)
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

// The compose files, alone and with each override, are valid with the
// values of .env.example; the worker can be scaled.
func TestDockerExampleComposeConfig(t *testing.T) {
	tool := composeCommand(t)
	_, dir := exampleFilesDir(t)
	for _, files := range [][]string{
		{"docker-compose.yml"},
		{"docker-compose.yml", "docker-compose.dev.yml"},
		{"docker-compose.yml", "docker-compose.prod.yml"},
	} {
		args := append(slices.Clone(tool[1:]), "--env-file", ".env.example")
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
		if cfg.Networks["netauto"].Name != "netauto" {
			t.Errorf("%v: network netauto has name %q: run containers could not join it", files, cfg.Networks["netauto"].Name)
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
