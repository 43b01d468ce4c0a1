package docker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	mclient "github.com/moby/moby/client"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/proctest"
	"github.com/netauto-dev/netauto/runtime/store"
)

// registryBinary is where Debian's docker-registry package installs the
// registry (github.com/docker/distribution 2.8).
const registryBinary = "/usr/bin/docker-registry"

// testRegistry is a docker-registry process serving 127.0.0.1:port from
// a temporary storage directory.
type testRegistry struct {
	host string // 127.0.0.1:port
	cmd  *exec.Cmd
	done chan error
	log  *lockedBuf
	once sync.Once
}

// startRegistry starts a registry on a free port of 127.0.0.1 and waits
// until it answers /v2/. It skips the test (fails it when NETAUTO_CI=1)
// when the package is not installed.
func startRegistry(t *testing.T) *testRegistry {
	t.Helper()
	bin := registryBinary
	if _, err := os.Stat(bin); err != nil {
		if p, lerr := exec.LookPath("docker-registry"); lerr == nil {
			bin = p
		} else {
			if os.Getenv("NETAUTO_CI") == "1" {
				t.Fatalf("docker-registry not installed (NETAUTO_CI=1; apt-get install docker-registry): %v", err)
			}
			t.Skipf("docker-registry not installed (apt-get install docker-registry), skipping: %v", err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
`, filepath.Join(dir, "storage"), host)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &testRegistry{host: host, done: make(chan error, 1), log: &lockedBuf{}}
	r.cmd = exec.Command(bin, "serve", cfgPath)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(r.stop)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return r
			}
		}
		select {
		case err := <-r.done:
			r.done <- err // for stop
			t.Fatalf("docker-registry exited: %v\n%s", err, r.log)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("docker-registry on %s does not answer /v2/: %v", host, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// lockedBuf is the registry's output, read while the process writes it.
type lockedBuf struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// stop ends the registry and waits for it; calling it again is a no-op.
func (r *testRegistry) stop() {
	r.once.Do(func() {
		_ = r.cmd.Process.Signal(os.Interrupt)
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
}

// TestDockerRegistryPull pulls a run's image from a registry on
// 127.0.0.1 (Debian's docker-registry, started by the test): the FROM
// scratch test image is pushed through the Engine API and its local tag
// removed; a run with image_pull_policy Always pulls it and completes;
// with the registry stopped, IfNotPresent uses the local image (no pull
// is possible) and Always fails the run with an error naming the image,
// the registry and the policy.
func TestDockerRegistryPull(t *testing.T) {
	if testing.Short() {
		t.Skip("builds, pushes and pulls an image, runs containers")
	}
	cli := proctest.DockerEngine(t)
	reg := startRegistry(t)
	gitCleanup(cli)
	t.Cleanup(func() { gitCleanup(cli) })
	ctx := context.Background()
	image := reg.host + "/netauto/test:1"
	gitBuildBase(t, cli, image)

	push, err := cli.ImagePush(ctx, image, mclient.ImagePushOptions{RegistryAuth: "e30="}) // "{}": no credentials
	if err != nil {
		t.Fatalf("push %s: %v", image, err)
	}
	if err := push.Wait(ctx); err != nil {
		t.Fatalf("push %s: %v\nregistry log:\n%s", image, err, reg.log)
	}
	if _, err := cli.ImageRemove(ctx, image, mclient.ImageRemoveOptions{Force: true}); err != nil {
		t.Fatalf("remove local %s: %v", image, err)
	}
	if _, err := cli.ImageInspect(ctx, image); err == nil {
		t.Fatalf("%s still present locally after its removal", image)
	}

	g := newGitDocker(t, cli, `{"image":"`+image+`","image_pull_policy":"Never","network_mode":"host","allow":{"network_modes":["host"],"override":["image_pull_policy"]}}`)
	if err := g.st.RegisterFlow(ctx, store.Flow{Name: "hello"}); err != nil {
		t.Fatal(err)
	}
	for dep, policy := range map[string]string{"always": "Always", "if-not-present": "IfNotPresent"} {
		vars, _ := json.Marshal(map[string]string{"image_pull_policy": policy})
		if _, err := g.st.ApplyDeployment(ctx, store.Deployment{Name: dep, Flow: "hello", Pool: gitPool, JobVariables: vars}); err != nil {
			t.Fatalf("deploy %s: %v", dep, err)
		}
	}

	run, took := g.runParams("always", `{"lines":1}`)
	if run.State.Type != flow.TypeCompleted {
		t.Fatalf("run pulling %s: %s; logs:\n%s\nregistry log:\n%s", image, run.State, g.logs(run.ID), reg.log)
	}
	if _, err := cli.ImageInspect(ctx, image); err != nil {
		t.Fatalf("%s not present after a run with policy Always: %v", image, err)
	}
	t.Logf("run with policy Always, image pulled from %s: create → final %v", reg.host, took)

	reg.stop()
	if resp, err := http.Get("http://" + reg.host + "/v2/"); err == nil {
		resp.Body.Close()
		t.Fatalf("registry on %s still answers after it was stopped", reg.host)
	}

	t.Run("IfNotPresentUsesLocalImage", func(t *testing.T) {
		run, _ := g.runParams("if-not-present", `{"lines":1}`)
		if run.State.Type != flow.TypeCompleted {
			t.Fatalf("run with policy IfNotPresent and the registry down: %s; logs:\n%s", run.State, g.logs(run.ID))
		}
	})

	t.Run("AlwaysFailsWithRegistryDown", func(t *testing.T) {
		run, _ := g.runParams("always", `{"lines":1}`)
		if run.State.Type != flow.TypeFailed {
			t.Fatalf("run with policy Always and the registry down ended %s, want Failed (no retry against the same registry)", run.State)
		}
		msg := run.State.Message
		for _, want := range []string{image, "registry " + reg.host, "Always", "pull"} {
			if !strings.Contains(msg, want) {
				t.Errorf("state message %q does not mention %q", msg, want)
			}
		}
		t.Logf("run with the registry down: %s: %s", run.State.Name, msg)
	})
}
