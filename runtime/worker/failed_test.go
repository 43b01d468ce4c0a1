package worker

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

type launcherFunc func(ctx context.Context, job Job) error

func (f launcherFunc) Launch(ctx context.Context, job Job) error { return f(ctx, job) }

// TestGitFailedErrorSettlesFailed: a launcher's *FailedError (a source that
// did not build, parameters that do not fit) ends the run Failed, not
// Crashed, and is not retried; any other error still crashes the run.
func TestGitFailedErrorSettlesFailed(t *testing.T) {
	e := newEnv(t)
	e.deploy(t, store.Deployment{Name: "d", Flow: "f", Retries: 2})
	w, _ := e.startWorker(t, Options{Launcher: launcherFunc(func(_ context.Context, job Job) error {
		if strings.Contains(string(job.Run.Parameters), "fail") {
			return &FailedError{Err: errors.New("build commit abc: go build: exit status 1")}
		}
		return errors.New("infrastructure broke")
	})})
	failed := e.createRun(t, "d", `{"x":"fail"}`)
	crashed := e.createRun(t, "d", `{"x":"other"}`)
	w.Wake()
	run := e.waitFinal(t, failed)
	if run.State.Name != flow.NameFailed || !strings.Contains(run.State.Message, "go build") || run.Attempt != 1 {
		t.Errorf("failed run: %s attempt %d", run.State, run.Attempt)
	}
	hist, err := e.st.RunHistory(context.Background(), crashed)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the other run crashed", func() bool {
		hist, err = e.st.RunHistory(context.Background(), crashed)
		for _, s := range hist {
			if s.Type == flow.TypeCrashed {
				return true
			}
		}
		return err != nil
	})
}
