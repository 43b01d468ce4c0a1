package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/agent"
	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// TestHelperProcess is the child process of the process launcher's tests:
// the test binary run again with NETAUTO_WORKER_HELPER set, behaving as
// NETAUTO_HELPER_MODE says.
func TestHelperProcess(t *testing.T) {
	if os.Getenv("NETAUTO_WORKER_HELPER") != "1" {
		t.Skip("only run as a child process")
	}
	if os.Getenv(wire.EnvSecretEnv) == "stdin" {
		// A warm child: its run comes on standard input.
		if err := agent.AwaitRun(os.Stdin); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
	}
	runID := os.Getenv(EnvRunID)
	switch os.Getenv("NETAUTO_HELPER_MODE") {
	case "quiet":
		os.Exit(0)
	case "ping":
		// Says it has its run (on a FIFO), then exits.
		if f, err := os.OpenFile(os.Getenv("NETAUTO_HELPER_OUT"), os.O_WRONLY, 0); err == nil {
			f.Write([]byte{1})
			f.Close()
		}
		os.Exit(0)
	case "envdump":
		// What the child sees: its environment now, the one it was
		// started with, its argv.
		initial, _ := os.ReadFile("/proc/self/environ")
		cmdline, _ := os.ReadFile("/proc/self/cmdline")
		b, _ := json.Marshal(envDump{Pid: os.Getpid(), Environ: os.Environ(), Initial: string(initial), Cmdline: string(cmdline)})
		if err := os.WriteFile(os.Getenv("NETAUTO_HELPER_OUT"), b, 0o600); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		os.Exit(0)
	case "exit0":
		for i := range 30 {
			fmt.Printf("line %d\n", i)
		}
		fmt.Fprint(os.Stderr, "warning without newline")
		os.Exit(0)
	case "selfkill":
		fmt.Println("about to be killed")
		syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "term":
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGTERM)
		fmt.Println("ready")
		<-c
		fmt.Println("stopping on SIGTERM")
		os.Exit(3)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	case "report":
		// Reports its states itself, as `execute` does over the API.
		ctx := context.Background()
		st, err := sqlite.Open(ctx, os.Getenv("NETAUTO_HELPER_DB"), store.Options{})
		if err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		defer st.Close()
		if _, err := st.SetRunState(ctx, runID, flow.Running(), nil); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		if _, err := st.SetRunState(ctx, runID, flow.Completed(), &flow.Result{FlowRunID: runID, Value: json.RawMessage(`42`)}); err != nil {
			fmt.Println(err)
			os.Exit(1)
		}
		fmt.Println("reported")
	}
	os.Exit(0)
}

// envDump is what an "envdump" helper child writes.
type envDump struct {
	Pid              int
	Environ          []string
	Initial, Cmdline string
}

// helperArgv is the argv of a helper child.
func helperArgv() []string { return []string{os.Args[0], "-test.run=^TestHelperProcess$"} }

// warmHelperArgv is the argv of a warm helper child: the helper switch
// must be in its environment before it has a run.
func warmHelperArgv() []string {
	return append([]string{"/usr/bin/env", "NETAUTO_WORKER_HELPER=1"}, helperArgv()...)
}

// warmProcessLauncher is processLauncher keeping warm children.
func (e *env) warmProcessLauncher(t testing.TB, grace time.Duration, warm int) *Process {
	p := e.processLauncher(grace)
	p.Warm, p.WarmCommand = warm, warmHelperArgv()
	t.Cleanup(func() { p.Close() })
	return p
}

func (e *env) processLauncher(grace time.Duration) *Process {
	return &Process{
		Logs:    e.st,
		Grace:   grace,
		Tail:    5,
		Command: func(store.FlowRun) ([]string, error) { return helperArgv(), nil },
		Env: func(_ context.Context, run store.FlowRun) ([]string, error) {
			var p struct{ Mode string }
			if err := json.Unmarshal(run.Parameters, &p); err != nil {
				return nil, err
			}
			return []string{"NETAUTO_WORKER_HELPER=1", "NETAUTO_HELPER_MODE=" + p.Mode, "NETAUTO_HELPER_DB=" + e.path}, nil
		},
	}
}

func (e *env) logs(t testing.TB, id string) []string {
	t.Helper()
	recs, _, err := e.st.Logs(context.Background(), store.LogQuery{FlowRunID: id})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.Message
	}
	return out
}

func TestProcessLauncher(t *testing.T) {
	for _, warm := range []int{0, 2} {
		t.Run(fmt.Sprintf("warm=%d", warm), func(t *testing.T) { testProcessLauncher(t, warm) })
	}
}

func testProcessLauncher(t *testing.T, warm int) {
	e := newEnv(t)
	e.deploy(t, store.Deployment{Name: "child", Flow: "child"})
	w, _ := e.startWorker(t, Options{Launcher: e.warmProcessLauncher(t, 10*time.Second, warm), LauncherType: "process", Concurrency: 4, Lease: 5 * time.Second})
	tests := []struct {
		mode    string
		state   string
		message []string
		logs    int
	}{
		{"exit0", flow.NameCrashed, []string{"process exited with status 0", "line 26\nline 27\nline 28\nline 29\nwarning without newline"}, 31},
		{"selfkill", flow.NameCrashed, []string{"process killed by signal killed", "about to be killed"}, 1},
		{"report", flow.NameCompleted, nil, 1},
	}
	ids := make([]string, len(tests))
	for i, tt := range tests {
		ids[i] = e.createRun(t, "child", `{"mode": "`+tt.mode+`"}`)
	}
	w.Wake()
	for i, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			run := e.waitFinal(t, ids[i])
			if run.State.Name != tt.state {
				t.Fatalf("run ended %s, want %s", run.State, tt.state)
			}
			for _, m := range tt.message {
				if !strings.Contains(run.State.Message, m) {
					t.Errorf("message %q lacks %q", run.State.Message, m)
				}
			}
			if !strings.HasPrefix(run.InfrastructureID, "pid:") {
				t.Errorf("infrastructure id %q, want the child's pid", run.InfrastructureID)
			}
			// A child that reported its final state may still have output
			// the launcher is storing: await it, then count exactly.
			waitFor(t, "the child's output to be stored", func() bool { return len(e.logs(t, ids[i])) >= tt.logs })
			if n := len(e.logs(t, ids[i])); n != tt.logs {
				t.Errorf("%d log lines, want %d: %q", n, tt.logs, e.logs(t, ids[i]))
			}
		})
	}
}

func TestProcessCancel(t *testing.T) {
	for _, mode := range []string{"term", "ignore-term", "warm/term", "warm/ignore-term"} {
		t.Run(mode, func(t *testing.T) {
			e := newEnv(t)
			e.deploy(t, store.Deployment{Name: "child", Flow: "child"})
			warm := 0
			if m, ok := strings.CutPrefix(mode, "warm/"); ok {
				mode, warm = m, 1
			}
			e.startWorker(t, Options{Launcher: e.warmProcessLauncher(t, 100*time.Millisecond, warm), Lease: 3 * time.Second})
			if warm > 0 {
				// A first run starts the warm child the second one gets.
				e.waitFinal(t, e.createRun(t, "child", `{"mode": "exit0"}`))
			}
			id := e.createRun(t, "child", `{"mode": "`+mode+`"}`)
			waitFor(t, "the child to be ready", func() bool {
				logs := e.logs(t, id)
				return len(logs) > 0 && logs[0] == "ready"
			})
			if _, err := e.st.CancelRun(context.Background(), id, "operator asked"); err != nil {
				t.Fatal(err)
			}
			run := e.waitFinal(t, id)
			if run.State.Name != flow.NameCancelled || run.State.Message != "operator asked" {
				t.Fatalf("run ended %s, want Cancelled with the reason", run.State)
			}
			if logs := e.logs(t, id); mode == "term" && (len(logs) != 2 || logs[1] != "stopping on SIGTERM") {
				t.Errorf("logs %q: the child should have seen SIGTERM", logs)
			}
		})
	}
}

func TestProcessStartFailure(t *testing.T) {
	p := &Process{Command: func(store.FlowRun) ([]string, error) { return []string{"/nonexistent/netauto"}, nil }}
	err := p.Launch(context.Background(), Job{Run: store.FlowRun{ID: "r1"}, Started: func(string) { t.Error("Started called") }, Fenced: func() bool { return false }})
	if err == nil || !strings.Contains(err.Error(), "start /nonexistent/netauto for run r1") {
		t.Fatalf("Launch = %v", err)
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		t.Fatal("a process that never started has no exit status")
	}
}

func TestLineWriter(t *testing.T) {
	o := NewOutputLog(nil, "r", 3, nil)
	w := o.Writer(0)
	long := strings.Repeat("x", maxLine+10)
	for _, chunk := range []string{"a", "b\nc\r\n", long + "\n", "tail"} {
		if n, err := w.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	w.End()
	o.Close()
	got := o.Tail()
	want := []string{"c", strings.Repeat("x", maxLine) + " …(line cut)", "tail"}
	if len(got) != 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("tail %q", got)
	}
}
