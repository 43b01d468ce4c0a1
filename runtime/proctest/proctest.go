// Package proctest runs orchestrator binaries as real processes in tests:
// build a main package, start its server on a free loopback port, run its
// client commands.
package proctest

import (
	"bufio"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Build compiles the main package pkg (an import path or ./dir relative to
// the test's directory) into t.TempDir() and returns the binary's path.
// The binary is built without -race: it is the system under test, driven
// from outside, and a race build would slow every process start.
func Build(t testing.TB, pkg string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "orchestrator")
	cmd := exec.Command("go", "build", "-o", bin, pkg)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, out)
	}
	return bin
}

// Proc is a started process.
type Proc struct {
	Cmd  *exec.Cmd
	URL  string // the API URL a server printed
	done chan struct{}
	err  error
	out  *syncBuffer
}

// Output returns what the process wrote so far.
func (p *Proc) Output() string { return p.out.String() }

// Signal sends sig to the process.
func (p *Proc) Signal(t testing.TB, sig os.Signal) {
	t.Helper()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits for the process to end, at most d, and returns its error.
func (p *Proc) Wait(t testing.TB, d time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
		p.Cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not end within %s; output:\n%s", p.Cmd.Args, d, p.Output())
		return nil
	}
}

// Start starts bin with args and env (added to the test's environment).
// It is killed when the test ends, if still running.
func Start(t testing.TB, env []string, bin string, args ...string) *Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), env...)
	p := &Proc{Cmd: cmd, done: make(chan struct{}), out: newSyncBuffer()}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	go func() { p.err = cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("output of %s:\n%s", strings.Join(cmd.Args, " "), p.Output())
		}
	})
	return p
}

// StartServer starts `bin server` on a free loopback port with args and
// waits until it prints its API URL.
func StartServer(t testing.TB, env []string, bin string, args ...string) *Proc {
	t.Helper()
	p := Start(t, env, bin, append([]string{"server", "--listen", "127.0.0.1:0"}, args...)...)
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if u := p.out.after("API on "); u != "" {
			p.URL = u
			return p
		}
		select {
		case <-p.done:
			t.Fatalf("server exited: %v\n%s", p.err, p.Output())
		case <-p.out.changed():
		case <-time.After(time.Second):
		}
	}
	t.Fatalf("server printed no URL within 60s:\n%s", p.Output())
	return nil
}

// Run runs bin with args to its end (at most 2 minutes) and returns its
// output and exit code.
func Run(t testing.TB, env []string, bin string, args ...string) (string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("%s: %v", cmd.Args, err)
		}
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = -1
		}
	}
	return out.String(), code
}

// syncBuffer collects output from several writers and signals changes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
	ch  chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{ch: make(chan struct{})} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	close(b.ch)
	b.ch = make(chan struct{})
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *syncBuffer) changed() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.ch
}

// after returns the first word after marker in the output, "" if none.
func (b *syncBuffer) after(marker string) string {
	sc := bufio.NewScanner(strings.NewReader(b.String()))
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), marker); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				return f[0]
			}
		}
	}
	return ""
}
