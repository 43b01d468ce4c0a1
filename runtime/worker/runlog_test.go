package worker

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// A worker logs, at info, one line when it starts a run and one when the
// run is over, with its final state.
func TestWorkerLogsEachRun(t *testing.T) {
	e := newEnv(t)
	hello := flow.New("hello", func(ctx context.Context, _ struct{}) (int, error) { return 1, nil })
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	id := e.createRun(t, "hello", "")
	var buf syncBuffer
	w, err := New(e.st, Options{Pool: "default", Launcher: e.inProcess(t, hello), LauncherType: "in-process", Poll: 10 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan error, 1)
	go func() { ran <- w.Run(context.Background()) }()
	e.waitFinal(t, id)
	if err := w.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := <-ran; err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range []string{
		`msg="run started" worker=` + w.Name() + ` pool=default run_id=` + id + ` attempt=1 flow=hello deployment=hello launcher=in-process`,
		`msg="run finished" worker=` + w.Name() + ` pool=default run_id=` + id + ` attempt=1 state=Completed took=`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("worker log lacks %q:\n%s", want, out)
		}
	}
}

// The in-process launcher prints its runs' log lines to its console when
// given one, besides recording them.
func TestInProcessConsole(t *testing.T) {
	e := newEnv(t)
	hello := flow.New("hello", func(ctx context.Context, _ struct{}) (int, error) {
		flow.Logger(ctx).Info("configuring vlan", "vlan", 10)
		return 1, nil
	})
	e.deploy(t, store.Deployment{Name: "hello", Flow: "hello"})
	id := e.createRun(t, "hello", "")
	var buf syncBuffer
	ip := e.inProcess(t, hello)
	ip.SetConsole(&buf)
	_, stop := e.startWorker(t, Options{Launcher: ip})
	e.waitFinal(t, id)
	stop()
	if out := buf.String(); !strings.Contains(out, "INFO  run "+id[len(id)-8:]+" | configuring vlan") || !strings.Contains(out, `"vlan":10`) {
		t.Fatalf("console:\n%s", out)
	}
}
