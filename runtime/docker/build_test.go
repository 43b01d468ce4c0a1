package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// buildTestProbe compiles testdata/buildprobe as a static binary into
// dir/name (the Go build cache makes every call after the first quick).
func buildTestProbe(t *testing.T, dir, name string) {
	t.Helper()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, name), "./testdata/buildprobe")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/buildprobe: %v\n%s", err, b)
	}
}

// buildTestTag returns a tag unique to this test run, and removes the
// image at the end of the test.
func buildTestTag(t *testing.T, cli *client.Client) string {
	t.Helper()
	var rnd [6]byte
	rand.Read(rnd[:])
	tag := "netauto-buildtest:" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cli.ImageRemove(ctx, tag, client.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	return tag
}

// writeBuildFiles creates files under dir; a name ending in "/" is a directory.
func writeBuildFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// runBuiltImage runs a container of image with cmd (nil: the image's own) and
// returns its combined output and exit code. The container is removed.
func runBuiltImage(t *testing.T, cli *client.Client, image string, cmd ...string) (string, int64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	created, err := cli.ContainerCreate(ctx, client.ContainerCreateOptions{
		Config:     &container.Config{Image: image, Cmd: cmd, Labels: map[string]string{"netauto.test": t.Name()}},
		HostConfig: &container.HostConfig{NetworkMode: "none"},
	})
	if err != nil {
		t.Fatalf("create container of %s: %v", image, err)
	}
	defer cli.ContainerRemove(context.Background(), created.ID, client.ContainerRemoveOptions{Force: true})
	// Wait for the exit before starting, so a fast exit cannot be missed.
	wait := cli.ContainerWait(ctx, created.ID, client.ContainerWaitOptions{Condition: container.WaitConditionNextExit})
	if _, err := cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		t.Fatalf("start container of %s: %v", image, err)
	}
	var code int64
	select {
	case r := <-wait.Result:
		if r.Error != nil {
			t.Fatalf("wait for container of %s: %s", image, r.Error.Message)
		}
		code = r.StatusCode
	case err := <-wait.Error:
		t.Fatalf("wait for container of %s: %v", image, err)
	}
	logs, err := cli.ContainerLogs(ctx, created.ID, client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true})
	if err != nil {
		t.Fatalf("logs of container of %s: %v", image, err)
	}
	defer logs.Close()
	var out bytes.Buffer
	if _, err := stdcopy.StdCopy(&out, &out, logs); err != nil {
		t.Fatalf("read logs of container of %s: %v", image, err)
	}
	return out.String(), code
}

func TestDockerBuildImageRuns(t *testing.T) {
	cli := proctest.DockerEngine(t)
	dir := t.TempDir()
	buildTestProbe(t, dir, "probe")
	writeBuildFiles(t, dir, map[string]string{"Dockerfile": `FROM scratch
ARG GREETING=unset
ENV GREETING=${GREETING}
COPY probe /probe
LABEL org.netauto.from-dockerfile=yes
ENTRYPOINT ["/probe"]
`})
	tag := buildTestTag(t, cli)
	var streamed bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := BuildImage(ctx, cli, BuildOptions{
		ContextDir: dir,
		Tags:       []string{tag},
		BuildArgs:  map[string]string{"GREETING": "hello-from-build-arg"},
		Labels:     map[string]string{"org.netauto.from-options": "yes"},
		Output:     &streamed,
	})
	if err != nil {
		t.Fatalf("BuildImage: %v\nlog:\n%s", err, res.Log)
	}
	if !strings.HasPrefix(res.ImageID, "sha256:") {
		t.Errorf("ImageID = %q, want sha256:…", res.ImageID)
	}
	if streamed.String() != res.Log {
		t.Errorf("streamed output differs from Log:\nstreamed %q\nlog      %q", streamed.String(), res.Log)
	}
	if !strings.Contains(res.Log, "COPY probe /probe") {
		t.Errorf("log does not show the COPY step:\n%s", res.Log)
	}

	img, err := cli.ImageInspect(ctx, tag)
	if err != nil {
		t.Fatalf("inspect %s: %v", tag, err)
	}
	if img.ID != res.ImageID {
		t.Errorf("%s has ID %s, BuildImage returned %s", tag, img.ID, res.ImageID)
	}
	for _, l := range []string{"org.netauto.from-dockerfile", "org.netauto.from-options"} {
		if img.Config == nil || img.Config.Labels[l] != "yes" {
			t.Errorf("image label %s missing: %v", l, img.Config)
		}
	}
	out, code := runBuiltImage(t, cli, tag)
	if code != 0 || out != "probe GREETING=hello-from-build-arg\n" {
		t.Errorf("container: exit %d, output %q", code, out)
	}
}

func TestDockerBuildImageFailingStep(t *testing.T) {
	cli := proctest.DockerEngine(t)
	dir := t.TempDir()
	buildTestProbe(t, dir, "probe")
	writeBuildFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\nCOPY probe /probe\nRUN [\"/probe\", \"fail\"]\nLABEL never=reached\n"})
	tag := buildTestTag(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: dir, Tags: []string{tag}})
	var be *BuildError
	if !errors.As(err, &be) {
		t.Fatalf("err = %v (%T), want *BuildError", err, err)
	}
	if !strings.HasPrefix(be.Step, "Step 3/4 : RUN") {
		t.Errorf("Step = %q, want the RUN step", be.Step)
	}
	if !strings.Contains(be.Message, "non-zero code: 3") {
		t.Errorf("Message = %q, want the step's exit code", be.Message)
	}
	if be.Code != 3 {
		t.Errorf("Code = %d, want the step's exit code 3", be.Code)
	}
	if !slices.ContainsFunc(be.Tail, func(l string) bool { return strings.Contains(l, "failing on purpose") }) {
		t.Errorf("Tail lacks the step's output: %q", be.Tail)
	}
	if msg := err.Error(); !strings.Contains(msg, be.Step) || !strings.Contains(msg, "failing on purpose") {
		t.Errorf("Error() = %q, want the step and the output", msg)
	}
	if strings.Contains(res.Log, "\x1b") {
		t.Errorf("Log keeps terminal escape codes: %q", res.Log)
	}
	if !strings.Contains(res.Log, "Step 2/4 : COPY") {
		t.Errorf("Log of the failed build lacks the earlier steps:\n%s", res.Log)
	}
	if _, err := cli.ImageInspect(ctx, tag); err == nil {
		t.Errorf("image %s exists after a failed build", tag)
	}
}

// A Dockerfile the engine cannot parse, or a target it lacks: a
// *BuildError with the engine's reason, the line named.
func TestDockerBuildImageInvalidDockerfile(t *testing.T) {
	cli := proctest.DockerEngine(t)
	for _, c := range []struct{ dockerfile, target, want string }{
		{"FROM scratch\nFROBNICATE x\n", "", "line 2: unknown instruction: FROBNICATE"},
		{"FROM scratch AS base\nLABEL a=b\n", "nope", "build target nope"},
	} {
		dir := t.TempDir()
		writeBuildFiles(t, dir, map[string]string{"Dockerfile": c.dockerfile})
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		_, err := BuildImage(ctx, cli, BuildOptions{ContextDir: dir, Target: c.target})
		cancel()
		var be *BuildError
		if !errors.As(err, &be) || !strings.Contains(be.Message, c.want) {
			t.Errorf("%q: err = %v (%T), want a *BuildError with %q", c.dockerfile, err, err, c.want)
		}
	}
}

func TestDockerBuildImageDockerignore(t *testing.T) {
	cli := proctest.DockerEngine(t)
	dir := t.TempDir()
	buildTestProbe(t, dir, "probe")
	writeBuildFiles(t, dir, map[string]string{
		"Dockerfile":        "FROM scratch\nCOPY . /ctx/\nENTRYPOINT [\"/ctx/probe\", \"ls\", \"/ctx\"]\n",
		".dockerignore":     "# secrets and logs stay home\nsecret.env\nlogs\n!logs/keep.log\n**/*.tmp\n",
		"keep.txt":          "k",
		"secret.env":        "TOKEN=do-not-send",
		"logs/a.log":        "a",
		"logs/keep.log":     "kept by an exception",
		"sub/deep/x.tmp":    "x",
		"sub/deep/y.txt":    "y",
		"sub/secret.env":    "only the top-level secret.env is ignored",
		"empty-dir/":        "",
		"logs/nested/b.log": "b",
	})
	tag := buildTestTag(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: dir, Tags: []string{tag}}); err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, res.Log)
	}
	out, code := runBuiltImage(t, cli, tag)
	if code != 0 {
		t.Fatalf("container exit %d: %s", code, out)
	}
	got := strings.Fields(out)
	want := []string{".dockerignore", "Dockerfile", "keep.txt", "logs/keep.log", "probe", "sub/deep/y.txt", "sub/secret.env"}
	if !slices.Equal(got, want) {
		t.Errorf("files in the image:\n got %q\nwant %q", got, want)
	}
}

func TestDockerBuildImageDockerfileOutsideContext(t *testing.T) {
	cli := proctest.DockerEngine(t)
	ctxDir, dfDir := t.TempDir(), t.TempDir()
	buildTestProbe(t, ctxDir, "probe")
	df := filepath.Join(dfDir, "worker.Dockerfile")
	writeBuildFiles(t, dfDir, map[string]string{
		"worker.Dockerfile": "FROM scratch AS first\nCOPY probe /app/probe\nENTRYPOINT [\"/app/probe\", \"ls\", \"/app\"]\n" +
			"FROM first AS second\nCOPY probe /app/probe2\n",
		// The Dockerfile's own ignore file wins over the context's.
		"worker.Dockerfile.dockerignore": "nothing-to-ignore\n",
	})
	writeBuildFiles(t, ctxDir, map[string]string{".dockerignore": "probe\n"})
	tag := buildTestTag(t, cli)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	res, err := BuildImage(ctx, cli, BuildOptions{ContextDir: ctxDir, Dockerfile: df, Tags: []string{tag}, Target: "first"})
	if err != nil {
		t.Fatalf("BuildImage: %v\n%s", err, res.Log)
	}
	out, code := runBuiltImage(t, cli, tag)
	if code != 0 || out != "probe\n" {
		t.Errorf("container: exit %d, files %q; want only /app/probe (stage first)", code, out)
	}
}

func TestBuildImageInvalidOptions(t *testing.T) {
	dir := t.TempDir()
	writeBuildFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "file": "x"})
	cases := []struct {
		field string
		opts  BuildOptions
	}{
		{"BuildOptions.ContextDir", BuildOptions{}},
		{"BuildOptions.ContextDir", BuildOptions{ContextDir: filepath.Join(dir, "missing")}},
		{"BuildOptions.ContextDir", BuildOptions{ContextDir: filepath.Join(dir, "file")}},
		{"BuildOptions.Dockerfile", BuildOptions{ContextDir: dir, Dockerfile: "Nope"}},
		{"BuildOptions.Tags[1]", BuildOptions{ContextDir: dir, Tags: []string{"ok:1", "Bad Tag"}}},
		{"BuildOptions.Tags[0]", BuildOptions{ContextDir: dir, Tags: []string{"x@sha256:" + strings.Repeat("a", 64)}}},
		{"BuildOptions.BuildArgs", BuildOptions{ContextDir: dir, BuildArgs: map[string]string{"A=B": "c"}}},
		{"BuildOptions.Labels", BuildOptions{ContextDir: dir, Labels: map[string]string{" ": "c"}}},
		{"BuildOptions.Target", BuildOptions{ContextDir: dir, Target: "two words"}},
	}
	for _, c := range cases {
		_, err := BuildImage(context.Background(), unusedBuilder{t}, c.opts)
		var ie *store.InvalidError
		if !errors.As(err, &ie) || ie.Field != c.field {
			t.Errorf("%+v: err = %v, want *store.InvalidError on %s", c.opts, err, c.field)
		}
	}
	if _, err := BuildImage(context.Background(), nil, BuildOptions{ContextDir: dir}); err == nil {
		t.Error("nil client: no error")
	}
}

// unusedBuilder fails the test if a build reaches the engine.
type unusedBuilder struct{ t *testing.T }

func (u unusedBuilder) ImageBuild(context.Context, io.Reader, client.ImageBuildOptions) (client.ImageBuildResult, error) {
	u.t.Error("ImageBuild called with invalid options")
	return client.ImageBuildResult{}, errors.New("unexpected")
}

// recordingBuilder reads the context it is sent and answers with a canned
// engine stream.
type recordingBuilder struct {
	files  map[string]string // name → content ("" for directories)
	opts   client.ImageBuildOptions
	answer string
}

func (r *recordingBuilder) ImageBuild(_ context.Context, body io.Reader, opts client.ImageBuildOptions) (client.ImageBuildResult, error) {
	r.opts, r.files = opts, map[string]string{}
	tr := tar.NewReader(body)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return client.ImageBuildResult{}, err
		}
		b, _ := io.ReadAll(tr)
		r.files[h.Name] = string(b)
	}
	return client.ImageBuildResult{Body: io.NopCloser(strings.NewReader(r.answer))}, nil
}

func (r *recordingBuilder) names() []string {
	var n []string
	for k := range r.files {
		n = append(n, k)
	}
	slices.Sort(n)
	return n
}

const okStream = `{"stream":"Step 1/1 : FROM scratch\n"}
{"aux":{"ID":"sha256:0123"}}
{"stream":"Successfully built 0123\n"}
`

func TestBuildContextIgnoreRules(t *testing.T) {
	dir := t.TempDir()
	writeBuildFiles(t, dir, map[string]string{
		"build/Dockerfile":              "FROM scratch\n",
		"build/Dockerfile.dockerignore": "# the Dockerfile's own ignore file\n.git\n**/*.o\nbuild\n!build/keep\n",
		".dockerignore":                 "everything-else\n",
		".git/HEAD":                     "ref",
		"src/a.go":                      "package a",
		"src/a.o":                       "obj",
		"build/keep":                    "kept",
		"build/drop":                    "dropped",
		"everything-else":               "sent: the context's .dockerignore is not the one in force",
	})
	if err := os.Symlink("src/a.go", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	rb := &recordingBuilder{answer: okStream}
	res, err := BuildImage(context.Background(), rb, BuildOptions{ContextDir: dir, Dockerfile: "build/Dockerfile"})
	if err != nil || res.ImageID != "sha256:0123" {
		t.Fatalf("BuildImage = %+v, %v", res, err)
	}
	want := []string{".dockerignore", "build/Dockerfile", "build/Dockerfile.dockerignore", "build/keep", "everything-else", "link", "src/", "src/a.go"}
	if got := rb.names(); !slices.Equal(got, want) {
		t.Errorf("context:\n got %q\nwant %q", got, want)
	}
	if rb.opts.Dockerfile != "build/Dockerfile" || rb.opts.Version != "1" || !rb.opts.ForceRemove {
		t.Errorf("options sent: %+v", rb.opts)
	}
}

func TestBuildContextDockerfileOutside(t *testing.T) {
	ctxDir, other := t.TempDir(), t.TempDir()
	writeBuildFiles(t, ctxDir, map[string]string{"a": "1"})
	writeBuildFiles(t, other, map[string]string{"Dockerfile": "FROM scratch\nCOPY a /a\n"})
	rb := &recordingBuilder{answer: okStream}
	if _, err := BuildImage(context.Background(), rb, BuildOptions{ContextDir: ctxDir, Dockerfile: filepath.Join(other, "Dockerfile")}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(rb.opts.Dockerfile, ".dockerfile.") || rb.files[rb.opts.Dockerfile] != "FROM scratch\nCOPY a /a\n" || rb.files["a"] != "1" {
		t.Errorf("Dockerfile %q, files %q", rb.opts.Dockerfile, rb.files)
	}
}

func TestBuildOutputErrors(t *testing.T) {
	dir := t.TempDir()
	writeBuildFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n"})
	cases := []struct {
		name, stream, want string
	}{
		{"no image ID", `{"stream":"Step 1/1 : FROM scratch\n"}`, "no image ID"},
		{"truncated stream", `{"stream":"Step 1/1`, "read the engine's output"},
		{"error without detail", `{"stream":"Step 1/2 : FROM scratch\n"}{"error":"boom"}`, "build image: Step 1/2 : FROM scratch: boom"},
	}
	for _, c := range cases {
		_, err := BuildImage(context.Background(), &recordingBuilder{answer: c.stream}, BuildOptions{ContextDir: dir})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
		}
	}
}

// refusingBuilder answers without reading the context, as an engine that
// rejects the request does.
type refusingBuilder struct{}

func (refusingBuilder) ImageBuild(_ context.Context, body io.Reader, _ client.ImageBuildOptions) (client.ImageBuildResult, error) {
	// The HTTP transport closes the request body once it has the answer.
	body.(io.Closer).Close()
	return client.ImageBuildResult{}, errors.New("engine says no")
}

// An engine that stops reading does not leave the context writer blocked.
func TestBuildImageEngineRefuses(t *testing.T) {
	dir := t.TempDir()
	writeBuildFiles(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "big": strings.Repeat("x", 1<<20)})
	done := make(chan error, 1)
	go func() {
		_, err := BuildImage(context.Background(), refusingBuilder{}, BuildOptions{ContextDir: dir})
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "engine says no") {
			t.Errorf("err = %v, want the engine's refusal", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("BuildImage blocked after the engine refused")
	}
}
