package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	goruntime "runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
	"github.com/netauto-dev/netauto/runtime/store"
)

// EnvRunID is the environment variable carrying the run ID to a child
// process (also passed as --run-id).
const EnvRunID = "NETAUTO_RUN_ID"

// Process is the process launcher: each run executes in a child process,
// by default the worker's own binary running `execute --run-id ID`, which
// reports its states and logs over the API. The launcher manages the
// process: it starts it, streams each line of its stdout and stderr into
// the run's logs, stops it on cancel (SIGTERM, then SIGKILL after Grace),
// kills it at once when the worker loses the run's lease, and reports how
// it ended (exit status, last lines of output). A child never outlives its
// worker: see [Process.Launch].
type Process struct {
	// Logs receives the child's output lines as the run's log records.
	Logs LogAppender
	// Command returns the child's argv for a run; default the running
	// binary with "execute --run-id ID".
	Command func(run store.FlowRun) ([]string, error)
	// Env returns environment variables added for a run's child, besides
	// NETAUTO_RUN_ID and the variables passed from the worker's
	// environment: the API URL and the run-scoped token, say. Values are
	// never logged.
	Env func(ctx context.Context, run store.FlowRun) ([]string, error)
	// PassEnv names variables of the worker's environment the child gets
	// besides [DefaultChildEnv]: exact names, or prefixes ending in "*"
	// ("NETAUTO_DEVICE_*"). Everything else of the worker's environment
	// (its API key, database URL, secret key, webhook keys, device and
	// F5 passwords, PGPASSWORD...) stays out of the child: a flow's code,
	// Git-sourced included, sees only what it is given.
	PassEnv []string
	// Grace is how long a child has to stop after SIGTERM before it is
	// killed; default 10s.
	Grace time.Duration
	// Tail is how many last lines of output an ended child's error
	// carries; default 20.
	Tail int
	// Logger receives errors writing the child's logs; default
	// slog.Default().
	Logger *slog.Logger
	// Warm is how many children the launcher keeps started ahead of
	// demand, each blocked reading its run on standard input (`execute
	// --warm`, see [wire.WarmArg]): a run then skips the child's start
	// (the binary's loading and initialisation), which happened while
	// earlier runs executed. Each warm child still executes exactly one
	// run and exits. 0: none, every run starts its child (cold). Warm
	// children start at the first Launch, are replaced as they are used,
	// wait without using CPU, and are killed by [Process.Close] and with
	// the worker. Runs of a Job with a Binary (a Git source's build,
	// which may speak an older protocol) always start cold.
	Warm int
	// WarmCommand is the argv of a warm child; default the running
	// binary with "execute --warm". With Command set and WarmCommand not,
	// there are no warm children (Command may differ per run).
	WarmCommand []string
	// WarmEnv are variables Env gives every run the same (the API URL):
	// a warm child starts with them, so that it can prepare what needs
	// no secret (reach the API) while it waits. A run whose Env does not
	// give each the same value is not handed a warm child.
	WarmEnv []string

	warmOnce sync.Once
	warm     *warmPool
}

// ExitError describes how a child process ended, with its last lines of
// output. The worker records it as the Crashed message of a run whose
// child ended without reporting a final state.
type ExitError struct {
	// Status is the exit status, -1 when a signal ended the process.
	Status int
	// Signal is the signal that ended the process, if any.
	Signal string
	// Err is a failure to wait for the process, if any.
	Err  error
	Tail []string
}

func (e *ExitError) Error() string {
	var b strings.Builder
	switch {
	case e.Signal != "":
		fmt.Fprintf(&b, "process killed by signal %s", e.Signal)
	case e.Err != nil:
		fmt.Fprintf(&b, "process failed: %v", e.Err)
	default:
		fmt.Fprintf(&b, "process exited with status %d", e.Status)
	}
	if len(e.Tail) > 0 {
		b.WriteString("; last output:\n")
		b.WriteString(strings.Join(e.Tail, "\n"))
	}
	return b.String()
}

func (e *ExitError) Unwrap() error { return e.Err }

// Launch implements [Launcher]. A job with a Binary runs that binary's
// `execute --run-id ID` instead of Command. It returns an *[ExitError]
// however the child ended (status 0 included: only the store knows
// whether the child reported a final state), or an error when it could
// not start.
//
// The child runs in a process group of its own, which the launcher kills
// whole (children of the child included) when the run is stopped and
// when the child has exited, so that nothing it started runs on. It
// dies with the worker: on Linux the kernel kills it when the worker
// dies (Pdeathsig), and it reads the worker's lease on a pipe (file
// descriptor 3, see [wire.EnvLeaseFD]): when the pipe ends (the worker
// died), says stop (the lease is lost) or the lease runs out unrenewed,
// an `execute` child kills its own process group at once. A run being
// cancelled gets SIGTERM, to its group, and SIGKILL after Grace; a run
// whose lease is lost or that the worker abandons is killed at once,
// since its retry may start elsewhere.
func (p *Process) Launch(ctx context.Context, job Job) error {
	vars, err := p.runEnv(ctx, job.Run)
	if err != nil {
		return err
	}
	if c := p.warmChild(job, vars); c != nil {
		// A warm child's environment is the cold one's: the worker's
		// allow-listed variables then the run's, set in that order.
		if err := c.assign(vars); err != nil {
			c.discard()
		} else {
			err := p.supervise(ctx, job, c)
			var nr *notRunError
			if !errors.As(err, &nr) {
				return err
			}
			if ctx.Err() != nil {
				return nr.ExitError
			}
			// It died before it read its run (killed while it waited):
			// nothing of the run executed; a new child executes it.
			p.logger().Warn("warm child died before it got its run; starting another", slog.String("run_id", job.Run.ID), slog.String("error", nr.Error()))
		}
	}
	c, err := p.startCold(job, vars)
	if err != nil {
		return err
	}
	return p.supervise(ctx, job, c)
}

// notRunError is the end of a warm child that exited before it read its
// run.
type notRunError struct{ *ExitError }

// runEnv returns the variables a run's child gets besides the worker's
// allow-listed ones: its ID and what Env adds.
func (p *Process) runEnv(ctx context.Context, run store.FlowRun) ([]string, error) {
	vars := []string{EnvRunID + "=" + run.ID}
	if p.Env == nil {
		return vars, nil
	}
	var extra []string
	if err := store.RetryUnavailable(ctx, 0, "", func(ctx context.Context) error {
		var err error
		extra, err = p.Env(ctx, run)
		return err
	}); err != nil {
		return nil, fmt.Errorf("environment of run %s: %w", run.ID, err)
	}
	return append(vars, extra...), nil
}

// child is a started child process and the launcher's ends of its pipes.
type child struct {
	cmd    *exec.Cmd
	exited *childExit
	pipes  *childPipes
	// base is the worker's allow-listed environment the child started
	// with; stdin the pipe a warm child reads its run from, stdinR the
	// launcher's copy of its read end (see gotRun), written the end of
	// the write.
	base          []string
	stdin, stdinR *os.File
	written       chan error
	// discarded: the launcher killed it before it got a run.
	discarded atomic.Bool
}

// startCold starts a child for job's run with the run's variables vars
// in its environment.
func (p *Process) startCold(job Job, vars []string) (*child, error) {
	argv, err := p.argv(job.Run)
	if err != nil {
		return nil, err
	}
	if job.Binary != "" {
		// A build of the run's Git source replaces the worker's binary.
		argv = []string{job.Binary, "execute", "--run-id", job.Run.ID}
	}
	env := append(ChildEnviron(os.Environ(), p.PassEnv), vars...)
	pipes, err := newChildPipes(job.Lease != nil)
	if err != nil {
		return nil, fmt.Errorf("start child of run %s: %w", job.Run.ID, err)
	}
	if job.Lease != nil {
		env = append(env, wire.EnvLeaseFD+"=3")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = pipes.outW, pipes.errW
	if pipes.leaseR != nil {
		cmd.ExtraFiles = []*os.File{pipes.leaseR}
	}
	cmd.SysProcAttr = childProcAttr()
	exited, err := startLocked(cmd)
	if err != nil {
		pipes.closeAll()
		return nil, fmt.Errorf("start %s for run %s: %w", argv[0], job.Run.ID, err)
	}
	pipes.closeChildEnds()
	return &child{cmd: cmd, exited: exited, pipes: pipes}, nil
}

// supervise follows a started child executing job's run to its end: its
// output into the run's logs, its lease, its stop when ctx ends.
func (p *Process) supervise(ctx context.Context, job Job, c *child) error {
	defer c.pipes.closeAll()
	cmd, exited, pipes := c.cmd, c.exited, c.pipes
	grace := p.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	pid := cmd.Process.Pid
	job.Started("pid:" + strconv.Itoa(pid))

	out := NewOutputLog(p.Logs, job.Run.ID, p.Tail, p.Logger)
	stdout, stderr := out.Writer(slog.LevelInfo), out.Writer(slog.LevelWarn)
	copied := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(stdout, pipes.outR); copied <- struct{}{} }()
	go func() { _, _ = io.Copy(stderr, pipes.errR); copied <- struct{}{} }()

	feedDone := make(chan struct{})
	if job.Lease != nil && pipes.leaseW != nil {
		go func() {
			defer close(feedDone)
			FeedLease(job.Lease, pipes.leaseW, exited.done)
		}()
	} else {
		close(feedDone)
	}
	// Stop the child when ctx ends: gracefully for a cancel, at once for
	// a lost lease or an abandoned run.
	stopDone := make(chan struct{})
	go func() {
		defer close(stopDone)
		select {
		case <-exited.done:
			return
		case <-ctx.Done():
		}
		if job.Fenced != nil && job.Fenced() {
			killGroup(cmd.Process, syscall.SIGKILL)
			return
		}
		killGroup(cmd.Process, syscall.SIGTERM)
		t := time.NewTimer(grace)
		defer t.Stop()
		select {
		case <-exited.done:
		case <-t.C:
			killGroup(cmd.Process, syscall.SIGKILL)
		}
	}()
	<-exited.done
	werr := exited.err
	notRun := c.stdinR != nil && !c.gotRun()
	// Whatever the child left behind in its group goes with it.
	killGroup(cmd.Process, syscall.SIGKILL)
	<-stopDone
	<-feedDone
	for range 2 {
		select {
		case <-copied:
		case <-time.After(5 * time.Second): // a grandchild that left the group holds the pipe
		}
	}
	stdout.End()
	stderr.End()
	out.Close()
	ee := &ExitError{Status: cmd.ProcessState.ExitCode(), Tail: out.Tail()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ee.Signal = ws.Signal().String()
	}
	var xe *exec.ExitError
	if werr != nil && !errors.As(werr, &xe) {
		ee.Err = werr
	}
	if notRun {
		return &notRunError{ee}
	}
	return ee
}

// DefaultChildEnv are the variables of the worker's environment every
// child of the process launcher gets: what a program needs to run (path,
// home, locale, time zone, temporary directory, CA certificates, proxies,
// Go runtime settings) and nothing that authenticates.
var DefaultChildEnv = []string{
	"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR", "TERM",
	"SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy",
	"GODEBUG", "GOMAXPROCS", "GOMEMLIMIT", "GOTRACEBACK", "GOCOVERDIR", "NETAUTO_LOG_LEVEL", "NETAUTO_TLS_CA",
}

// ChildEnviron returns the variables of environ (KEY=VALUE, as
// os.Environ gives) that [DefaultChildEnv] or pass name: exact names, or
// prefixes ending in "*".
func ChildEnviron(environ, pass []string) []string {
	allowed := func(k string) bool {
		for _, list := range [][]string{DefaultChildEnv, pass} {
			for _, n := range list {
				if p, ok := strings.CutSuffix(n, "*"); ok && strings.HasPrefix(k, p) || n == k {
					return true
				}
			}
		}
		return false
	}
	var out []string
	for _, kv := range environ {
		if k, _, ok := strings.Cut(kv, "="); ok && allowed(k) {
			out = append(out, kv)
		}
	}
	return out
}

// childExit is a started child's end.
type childExit struct {
	done chan struct{}
	err  error
}

// startLocked starts cmd from a goroutine locked to its OS thread until
// the child has exited: Linux sends a child its Pdeathsig when the
// thread that started it ends, not the process, and the Go runtime may
// end a thread; a locked one lives until its goroutine returns.
func startLocked(cmd *exec.Cmd) (*childExit, error) {
	ce := &childExit{done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		goruntime.LockOSThread()
		// Not unlocked: the thread ends with this goroutine, after the
		// child.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		ce.err = cmd.Wait()
		close(ce.done)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return ce, nil
}

// childPipes are the pipes of a child: its output and its lease.
type childPipes struct {
	outR, outW, errR, errW *os.File
	leaseR, leaseW         *os.File
}

func newChildPipes(lease bool) (*childPipes, error) {
	p := &childPipes{}
	var err error
	if p.outR, p.outW, err = os.Pipe(); err != nil {
		return nil, err
	}
	if p.errR, p.errW, err = os.Pipe(); err != nil {
		p.closeAll()
		return nil, err
	}
	if lease {
		if p.leaseR, p.leaseW, err = os.Pipe(); err != nil {
			p.closeAll()
			return nil, err
		}
	}
	return p, nil
}

// closeChildEnds closes the launcher's copies of the ends the child
// uses, so that the output ends when the child's side does.
func (p *childPipes) closeChildEnds() {
	for _, f := range []*os.File{p.outW, p.errW, p.leaseR} {
		if f != nil {
			f.Close()
		}
	}
}

func (p *childPipes) closeAll() {
	for _, f := range []*os.File{p.outR, p.outW, p.errR, p.errW, p.leaseR, p.leaseW} {
		if f != nil {
			f.Close()
		}
	}
}

// FeedLease writes the lease to w as the lease channel's lines (see
// [wire.LeaseStop]): the time left at once and after every renewal,
// stop when the lease is lost. It returns when done is closed or the
// lease is lost, or w fails (the process is gone).
func FeedLease(lease *Lease, w io.Writer, done <-chan struct{}) {
	for {
		renewed := lease.Renewed()
		if _, err := io.WriteString(w, wire.LeaseLine(time.Until(lease.Deadline()))); err != nil {
			return
		}
		select {
		case <-done:
			return
		case <-lease.Done():
			_, _ = io.WriteString(w, wire.LeaseStop+"\n")
			return
		case <-renewed:
		}
	}
}

func (p *Process) argv(run store.FlowRun) ([]string, error) {
	if p.Command != nil {
		argv, err := p.Command(run)
		if err != nil {
			return nil, fmt.Errorf("command of run %s: %w", run.ID, err)
		}
		if len(argv) == 0 {
			return nil, fmt.Errorf("command of run %s: empty", run.ID)
		}
		return argv, nil
	}
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("command of run %s: find own binary: %w", run.ID, err)
	}
	return []string{self, "execute", "--run-id", run.ID}, nil
}
