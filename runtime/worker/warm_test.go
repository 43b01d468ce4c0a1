//go:build linux

package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// dumpLauncher is a launcher whose children write what they see (the
// "envdump" helper) to dir/<run>.json, each run with its own token.
func dumpLauncher(t *testing.T, dir string, warm int) *Process {
	t.Helper()
	p := &Process{
		Warm:        warm,
		WarmCommand: helperArgv(),
		WarmEnv:     []string{"NETAUTO_WORKER_HELPER=1", "NETAUTO_HELPER_SITE=a"},
		Command:     func(store.FlowRun) ([]string, error) { return helperArgv(), nil },
		Env: func(_ context.Context, run store.FlowRun) ([]string, error) {
			return []string{"NETAUTO_WORKER_HELPER=1", "NETAUTO_HELPER_SITE=a", "NETAUTO_HELPER_MODE=envdump",
				"NETAUTO_HELPER_OUT=" + filepath.Join(dir, run.ID+".json"), "NETAUTO_RUN_TOKEN=nrt1.secret-of-" + run.ID}, nil
		},
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// launchDump launches run id with p and returns what its child saw.
func launchDump(t *testing.T, p *Process, dir, id string) envDump {
	t.Helper()
	var pid string
	lease := NewLease(context.Background(), time.Now().Add(time.Minute))
	err := p.Launch(context.Background(), Job{Run: store.FlowRun{ID: id}, Lease: lease, Started: func(s string) { pid = s }, Fenced: func() bool { return false }})
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Status != 0 || ee.Signal != "" {
		t.Fatalf("launch %s: %v", id, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, id+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var d envDump
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if pid != fmt.Sprintf("pid:%d", d.Pid) {
		t.Errorf("run %s: Started(%q), but its child is %d", id, pid, d.Pid)
	}
	return d
}

// idlePids returns the process IDs of p's idle warm children.
func idlePids(p *Process) []int {
	if p.warm == nil {
		return nil
	}
	p.warm.mu.Lock()
	defer p.warm.mu.Unlock()
	var pids []int
	for _, c := range p.warm.idle {
		pids = append(pids, c.cmd.Process.Pid)
	}
	return pids
}

// processState returns the state letter of process pid (R, S, T, Z...),
// 0 when it is gone.
func processState(pid int) byte {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2]
	}
	return 0
}

// processAlive reports whether pid runs (not a zombie).
func processAlive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i < 0 || i+2 >= len(s) || (s[i+2] != 'Z' && s[i+2] != 'X')
}

// TestWarmChildExecutesOneRun: with warm children, each run still gets a
// process of its own, started before the run was claimed, which executes
// that run only and exits; it saw its own token, never another run's,
// and never in its argv or the environment it was started with; what it
// sees is what a child started for the run sees. Close kills the idle
// ones.
func TestWarmChildExecutesOneRun(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	dir := t.TempDir()
	p := dumpLauncher(t, dir, 2)
	cold := launchDump(t, dumpLauncher(t, dir, 0), dir, "cold")
	first := launchDump(t, p, dir, "r0") // starts the pool
	waitFor(t, "two warm children", func() bool { return len(idlePids(p)) == 2 })
	seen := map[int]string{first.Pid: "r0", cold.Pid: "cold"}
	for i := 1; i <= 4; i++ {
		id := fmt.Sprintf("r%d", i)
		waitFor(t, "the pool to be topped up", func() bool { return len(idlePids(p)) == 2 })
		idle := idlePids(p)
		d := launchDump(t, p, dir, id)
		if !slices.Contains(idle, d.Pid) {
			t.Errorf("run %s ran in %d, not in a warm child %v", id, d.Pid, idle)
		}
		if other, dup := seen[d.Pid]; dup {
			t.Fatalf("runs %s and %s ran in one process %d", other, id, d.Pid)
		}
		seen[d.Pid] = id
		if processAlive(d.Pid) {
			t.Errorf("the child of run %s still runs after its run", id)
		}
		tok := "nrt1.secret-of-" + id
		env := strings.Join(d.Environ, "\n")
		if !strings.Contains(env, "NETAUTO_RUN_TOKEN="+tok) {
			t.Errorf("run %s: its child lacks its token", id)
		}
		if strings.Contains(d.Initial, "secret-of-") || strings.Contains(d.Cmdline, "secret-of-") {
			t.Errorf("run %s: a token in the warm child's argv or initial environment", id)
		}
		if n := strings.Count(env, "secret-of-"); n != 1 {
			t.Errorf("run %s: its child sees %d tokens", id, n)
		}
		if !strings.Contains(d.Initial, wire.EnvSecretEnv+"=stdin") {
			t.Errorf("run %s: its child was not started warm", id)
		}
		// The same environment as a cold child's, but for what is the
		// run's own.
		norm := func(env []string) []string {
			var out []string
			for _, kv := range env {
				kv = strings.ReplaceAll(kv, id, "RUN")
				kv = strings.ReplaceAll(kv, "cold", "RUN")
				out = append(out, kv)
			}
			slices.Sort(out)
			return out
		}
		if got, want := norm(d.Environ), norm(cold.Environ); !slices.Equal(got, want) {
			t.Errorf("run %s: a warm child's environment\n%q\nis not a cold child's\n%q", id, got, want)
		}
	}
	waitFor(t, "the pool to be topped up", func() bool { return len(idlePids(p)) == 2 })
	idle := idlePids(p)
	p.Close()
	for _, pid := range idle {
		if processAlive(pid) {
			t.Errorf("warm child %d runs on after Close", pid)
		}
	}
	if n := len(idlePids(p)); n != 0 {
		t.Errorf("%d warm children after Close", n)
	}
}

// TestWarmChildDiedIdle: a warm child killed while it waited is dropped
// and replaced; the next run executes (in a live child) all the same.
func TestWarmChildDiedIdle(t *testing.T) {
	dir := t.TempDir()
	p := dumpLauncher(t, dir, 1)
	launchDump(t, p, dir, "r0")
	waitFor(t, "a warm child", func() bool { return len(idlePids(p)) == 1 })
	dead := idlePids(p)[0]
	if err := syscall.Kill(dead, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the dead child to be dropped", func() bool { return !slices.Contains(idlePids(p), dead) })
	d := launchDump(t, p, dir, "r1")
	if d.Pid == dead {
		t.Fatal("the run went to the dead child")
	}
	waitFor(t, "a new warm child", func() bool {
		pids := idlePids(p)
		return len(pids) == 1 && pids[0] != dead && pids[0] != d.Pid
	})
	launchDump(t, p, dir, "r2")
}

// TestWarmChildrenTurnOff: a binary whose warm children die before they
// get a run (one that does not know `execute --warm`) turns warming off
// after a few attempts, instead of starting children in a loop; runs
// start cold.
func TestWarmChildrenTurnOff(t *testing.T) {
	dir := t.TempDir()
	p := dumpLauncher(t, dir, 2)
	p.WarmCommand = []string{"/bin/sh", "-c", "echo no such command: execute --warm >&2; exit 2"}
	launchDump(t, p, dir, "r0")
	waitFor(t, "warming to turn off", func() bool {
		p.warm.mu.Lock()
		defer p.warm.mu.Unlock()
		return p.warm.disabled && p.warm.starting == 0
	})
	launchDump(t, p, dir, "r1")
	if n := len(idlePids(p)); n != 0 {
		t.Fatalf("%d warm children after warming turned off", n)
	}
}

// TestWarmChildDiedUnread: a run handed to a warm child that is dead but
// not yet reaped (it died as it was handed the run) and never read it
// goes to another child: nothing of it executed.
func TestWarmChildDiedUnread(t *testing.T) {
	dir := t.TempDir()
	p := dumpLauncher(t, dir, 1)
	launchDump(t, p, dir, "r0")
	waitFor(t, "a warm child", func() bool { return len(idlePids(p)) == 1 })
	// Stop it, so that it reads nothing, then take it as a run would.
	c := p.warm.take(ChildEnviron(os.Environ(), p.PassEnv))
	if c == nil {
		t.Fatal("no warm child")
	}
	if err := syscall.Kill(c.cmd.Process.Pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the child to be stopped", func() bool { return processState(c.cmd.Process.Pid) == 'T' })
	job := Job{Run: store.FlowRun{ID: "r1"}, Lease: NewLease(context.Background(), time.Now().Add(time.Minute)), Started: func(string) {}, Fenced: func() bool { return false }}
	vars, err := p.runEnv(context.Background(), job.Run)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.assign(vars); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(c.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = p.supervise(context.Background(), job, c)
	var nr *notRunError
	if !errors.As(err, &nr) {
		t.Fatalf("a child killed before it read its run ended %v, want it seen as never run", err)
	}
}

// BenchmarkProcessLaunch measures how long a run waits for its child to
// execute it (from Launch to the child's first word, one run after the
// other): cold (the child starts for the run) and warm (handed to a
// child started ahead, waiting for its run). The children are the test
// binary; their exit (and the start of a warm replacement) is not timed.
func BenchmarkProcessLaunch(b *testing.B) {
	for _, warm := range []int{0, 1} {
		b.Run(map[int]string{0: "cold", 1: "warm"}[warm], func(b *testing.B) {
			fifo := filepath.Join(b.TempDir(), "ping")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				b.Fatal(err)
			}
			pings, err := os.OpenFile(fifo, os.O_RDWR, 0) // read end that never sees EOF
			if err != nil {
				b.Fatal(err)
			}
			defer pings.Close()
			p := &Process{
				Warm:        warm,
				WarmCommand: warmHelperArgv(),
				Command:     func(store.FlowRun) ([]string, error) { return helperArgv(), nil },
				Env: func(context.Context, store.FlowRun) ([]string, error) {
					return []string{"NETAUTO_WORKER_HELPER=1", "NETAUTO_HELPER_MODE=ping", "NETAUTO_HELPER_OUT=" + fifo}, nil
				},
			}
			defer p.Close()
			lease := NewLease(context.Background(), time.Now().Add(time.Hour))
			launch := func(i int) {
				done := make(chan error, 1)
				go func() {
					done <- p.Launch(context.Background(), Job{Run: store.FlowRun{ID: fmt.Sprint("r", i)}, Lease: lease, Started: func(string) {}, Fenced: func() bool { return false }})
				}()
				if _, err := pings.Read(make([]byte, 1)); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				var ee *ExitError
				if err := <-done; !errors.As(err, &ee) || ee.Status != 0 {
					b.Fatal(err)
				}
				if warm > 0 {
					waitFor(b, "a warm child waiting for its run", func() bool {
						pids := idlePids(p)
						return len(pids) == warm && readingPipe(pids[0])
					})
				}
				b.StartTimer()
			}
			launch(-1) // starts the warm child
			b.ResetTimer()
			for i := range b.N {
				launch(i)
			}
		})
	}
}

// readingPipe reports whether a thread of process pid waits reading a
// pipe (what the kernel says it waits in).
func readingPipe(pid int) bool {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/wchan", pid))
	for _, f := range tasks {
		if b, _ := os.ReadFile(f); strings.Contains(string(b), "pipe") {
			return true
		}
	}
	return false
}

// TestWarmEnvMustAgree: a run whose variables do not give WarmEnv's
// values (the API URL changed, say) is not handed a warm child, which
// started with them: it starts cold.
func TestWarmEnvMustAgree(t *testing.T) {
	dir := t.TempDir()
	p := dumpLauncher(t, dir, 1)
	launchDump(t, p, dir, "r0")
	waitFor(t, "a warm child", func() bool { return len(idlePids(p)) == 1 })
	warm := idlePids(p)[0]
	env := p.Env
	p.Env = func(ctx context.Context, run store.FlowRun) ([]string, error) {
		vars, err := env(ctx, run)
		return append(vars, "NETAUTO_HELPER_SITE=b"), err // not the warm children's
	}
	if d := launchDump(t, p, dir, "r1"); d.Pid == warm || strings.Contains(d.Initial, wire.EnvSecretEnv) {
		t.Fatal("a run with other variables went to a warm child")
	}
	if !slices.Equal(idlePids(p), []int{warm}) {
		t.Fatal("the warm child was not kept for the next run")
	}
	p.Env = env
	if d := launchDump(t, p, dir, "r2"); d.Pid != warm {
		t.Fatalf("run r2 ran in %d, not in the warm child %d", d.Pid, warm)
	}
}
