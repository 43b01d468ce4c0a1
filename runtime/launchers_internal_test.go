package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/launch"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/worker"
)

// jobFactory is a launcher of another kind (a Kubernetes Jobs one, say):
// its runs execute elsewhere, its pools have a job template with a
// namespace, checked through it.
type jobFactory struct {
	got chan launch.Config
}

func (f jobFactory) New(_ context.Context, cfg launch.Config) (worker.Launcher, func() error, error) {
	f.got <- cfg
	return jobLauncher{}, func() error { return nil }, nil
}

func (jobFactory) CheckJobTemplate(pool store.Pool, vars ...json.RawMessage) error {
	var t struct {
		Namespace string `json:"namespace"`
		launch.Resources
	}
	if err := launch.Layer(&t, append([]json.RawMessage{pool.JobTemplate}, vars...)...); err != nil {
		return err
	}
	if t.Namespace == "" {
		return &fielderr.Error{Field: "namespace", Reason: "empty"}
	}
	return t.Resources.Validate()
}

func (jobFactory) Remote() bool { return true }

type jobLauncher struct{}

func (jobLauncher) Launch(context.Context, worker.Job) error { return errors.New("not here") }

// A launcher registered in App.Launchers is one entry: deploy checks its
// pools' job templates through it, a worker of its pool type gets it
// with the worker's name and a run environment, and --launcher accepts
// its type.
func TestRegisteredLauncher(t *testing.T) {
	f := jobFactory{got: make(chan launch.Config, 1)}
	flows := []flow.Definition{flow.New("noop", func(ctx context.Context, p struct{}) (struct{}, error) { return struct{}{}, nil })}
	app := &App{
		Flows:     flows,
		Launchers: launch.Registry{"k8s": f},
		Pools:     []store.Pool{{Name: "jobs", Type: "k8s", JobTemplate: json.RawMessage(`{"namespace":"netauto","memory_limit":"1Gi"}`)}},
	}
	c, err := app.compile()
	if err != nil {
		t.Fatal(err)
	}
	if got := c.launchers.Types(); strings.Join(got, ",") != "docker,in-process,k8s,process" {
		t.Errorf("launchers %v", got)
	}
	bad := *app
	bad.Pools = []store.Pool{{Name: "jobs", Type: "k8s", JobTemplate: json.RawMessage(`{"namespace":"n","memory_limit":"1Gb"}`)}}
	var fe *fielderr.Error
	if _, err := bad.compile(); !errors.As(err, &fe) || fe.Field != "pools[0].job_template.memory_limit" {
		t.Errorf("bad template: %v, want pools[0].job_template.memory_limit", err)
	}
	noDocker := *app
	noDocker.Launchers = launch.Registry{"docker": nil}
	if c, err := noDocker.compile(); err != nil || c.launchers["docker"] != nil {
		t.Errorf("a nil entry keeps the default: %v", err)
	}

	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e := &env{ctx: ctx, app: c, stdout: io.Discard, stderr: io.Discard, log: slog.New(slog.DiscardHandler)}
	launcher, pool, name := "k8s", "jobs", "w1"
	wf := workerFlags{pool: &pool, launcher: &launcher, name: &name, concurrency: new(1), lease: new(time.Duration(0)),
		grace: new(10 * time.Second), heartbeat: new(time.Duration(0)), poll: new(time.Second), sourceCache: new(t.TempDir()), allowFile: new(false), childEnv: new(""), warm: new(0)}
	if err := wf.check(c.launchers); err != nil {
		t.Fatal(err)
	}
	mint := func(context.Context, store.Fence) (string, error) { return "tok", nil }
	w, closeFn, err := newWorker(ctx, st, c, wf.options(), "http://127.0.0.1:1", mint, e.log)
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	cfg := <-f.got
	if cfg.Pool != "jobs" || cfg.Worker != "w1" || w.Name() != "w1" || cfg.ChildEnv == nil || cfg.Store == nil {
		t.Errorf("config %+v, worker %q", cfg, w.Name())
	}
	unknown := "nomad"
	wf.launcher = &unknown
	if err := wf.check(c.launchers); err == nil || !strings.Contains(err.Error(), "k8s") {
		t.Errorf("--launcher nomad: %v, want the registered types listed", err)
	}
}
