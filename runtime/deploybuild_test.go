package runtime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	dockerclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/runtime"
	"github.com/netauto-dev/netauto/runtime/proctest"
)

// deploy --build builds the app's image before it applies anything; a
// failed build stops the deploy with the failed step named.
func TestDockerDeployBuild(t *testing.T) {
	cli := proctest.DockerEngine(t)
	dir := t.TempDir()
	for name, content := range map[string]string{
		"Dockerfile":     "FROM scratch\nARG MARK\nLABEL mark=${MARK}\nCOPY marker /marker\n",
		"Bad.Dockerfile": "FROM scratch\nCOPY marker /marker\nRUN [\"/no-such-binary\"]\n",
		"marker":         "built by deploy --build",
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var rnd [6]byte
	rand.Read(rnd[:])
	tag := hex.EncodeToString(rnd[:])
	ref := "netauto-deploybuild-test:" + tag
	t.Cleanup(func() {
		cli.ImageRemove(context.Background(), ref, dockerclient.ImageRemoveOptions{Force: true, PruneChildren: true})
	})
	// No flows, pools or deployments: deploy has nothing to apply after
	// the build, so no server is needed.
	app := &runtime.App{Name: "deploybuild", Image: &runtime.DockerImage{
		Name: "netauto-deploybuild-test", Tag: tag, Context: dir, BuildArgs: map[string]string{"MARK": "from-the-app"},
	}}
	var out, errOut bytes.Buffer
	// --build-arg overrides the app's build arguments.
	if code := app.Run(context.Background(), []string{"deploy", "--build", "--build-arg", "MARK=" + tag, "--api", "http://127.0.0.1:1"}, &out, &errOut); code != runtime.ExitOK {
		t.Fatalf("deploy --build: exit %d\n%s\n%s", code, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "image "+ref+": built sha256:") {
		t.Errorf("stdout %q lacks the built image", out.String())
	}
	if !strings.Contains(errOut.String(), "COPY marker /marker") {
		t.Errorf("the build's output did not stream to stderr: %q", errOut.String())
	}
	img, err := cli.ImageInspect(context.Background(), ref)
	if err != nil {
		t.Fatalf("image %s not built: %v", ref, err)
	}
	if l := img.Config.Labels; l["mark"] != tag || l["dev.netauto.app"] != "deploybuild" {
		t.Errorf("image labels %v", l)
	}

	// With a flow to register and no server: the failed build stops the
	// deploy before the API is called.
	app = &runtime.App{Name: "deploybuild", Flows: app.Flows, Image: app.Image}
	app.Flows = append(app.Flows, echo)
	out.Reset()
	errOut.Reset()
	code := app.Run(context.Background(), []string{"deploy", "--build", "--dockerfile", "Bad.Dockerfile", "--image", ref + "-bad", "--api", "http://127.0.0.1:1"}, &out, &errOut)
	if code != runtime.ExitFailed {
		t.Fatalf("failed build: exit %d, want %d", code, runtime.ExitFailed)
	}
	// Step 4 is the label deploy adds.
	if !strings.Contains(errOut.String(), "Step 3/4 : RUN") || strings.Contains(out.String(), "registered") {
		t.Errorf("failed build: stdout %q\nstderr %q\nwant the RUN step named and nothing applied", out.String(), errOut.String())
	}
}

func TestDeployBuildFlags(t *testing.T) {
	tests := []struct {
		app  runtime.App
		args []string
		code int
		want string
	}{
		{runtime.App{}, []string{"deploy", "--image", "x"}, runtime.ExitUsage, "need --build"},
		{runtime.App{}, []string{"deploy", "--build"}, runtime.ExitUsage, "pass --image"},
		{runtime.App{}, []string{"deploy", "--build-arg", "A=1"}, runtime.ExitUsage, "need --build"},
		{runtime.App{}, []string{"deploy", "--build", "--build-arg", "novalue"}, runtime.ExitUsage, "want NAME=VALUE"},
		{runtime.App{Image: &runtime.DockerImage{Tag: "1"}}, []string{"deploy"}, runtime.ExitFailed, "image.name"},
		{runtime.App{}, []string{"deploy", "--build", "--image", "Bad Name", "--context", t.TempDir()}, runtime.ExitFailed, "BuildOptions.Tags[0]"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := tt.app.Run(context.Background(), tt.args, &out, &errOut)
		if code != tt.code || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want exit %d with %q", tt.args, code, errOut.String(), tt.code, tt.want)
		}
	}
}
