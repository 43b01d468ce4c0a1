package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/runtime/store"
)

// EnvRunID is the environment variable carrying the run ID to a child
// process (also passed as --run-id).
const EnvRunID = "NETAUTO_RUN_ID"

// Process is the process launcher: each run executes in a child process,
// by default the worker's own binary running `execute --run-id ID`, which
// reports its states and logs over the API. The launcher manages the
// process: it starts it, streams each line of its stdout and stderr into
// the run's logs, stops it on cancel (SIGTERM, then SIGKILL after Grace)
// and reports how it ended (exit status, last lines of output).
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
// `execute --run-id ID` instead of Command. It returns an *[ExitError] however the
// child ended (status 0 included: only the store knows whether the child
// reported a final state), or an error when it could not start.
func (p *Process) Launch(ctx context.Context, job Job) error {
	argv, err := p.argv(job.Run)
	if err != nil {
		return err
	}
	if job.Binary != "" {
		// A build of the run's Git source replaces the worker's binary.
		argv = []string{job.Binary, "execute", "--run-id", job.Run.ID}
	}
	env := append(ChildEnviron(os.Environ(), p.PassEnv), EnvRunID+"="+job.Run.ID)
	if p.Env != nil {
		extra, err := p.Env(ctx, job.Run)
		if err != nil {
			return fmt.Errorf("environment of run %s: %w", job.Run.ID, err)
		}
		env = append(env, extra...)
	}
	grace := p.Grace
	if grace <= 0 {
		grace = 10 * time.Second
	}
	out := NewOutputLog(p.Logs, job.Run.ID, p.Tail, p.Logger)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	stdout, stderr := out.Writer(slog.LevelInfo), out.Writer(slog.LevelWarn)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = grace // then SIGKILL, and stop waiting for the output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s for run %s: %w", argv[0], job.Run.ID, err)
	}
	job.Started("pid:" + strconv.Itoa(cmd.Process.Pid))
	werr := cmd.Wait()
	stdout.End()
	stderr.End()
	out.Close()
	ee := &ExitError{Status: cmd.ProcessState.ExitCode(), Tail: out.Tail()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ee.Signal = ws.Signal().String()
	}
	var xe *exec.ExitError
	if werr != nil && !errors.As(werr, &xe) && !errors.Is(werr, context.Canceled) && !errors.Is(werr, context.DeadlineExceeded) {
		ee.Err = werr
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
