package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/flow"
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
	Logs interface {
		AppendLogs(ctx context.Context, recs []flow.LogRecord) error
	}
	// Command returns the child's argv for a run; default the running
	// binary with "execute --run-id ID".
	Command func(run store.FlowRun) ([]string, error)
	// Env returns environment variables added for a run's child, besides
	// the worker's own environment and NETAUTO_RUN_ID: the API URL and
	// the run-scoped token, say. Values are never logged.
	Env func(ctx context.Context, run store.FlowRun) ([]string, error)
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
	env := append(os.Environ(), EnvRunID+"="+job.Run.ID)
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
	out := newOutput(p, job.Run.ID)
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = env
	stdout, stderr := out.writer(slog.LevelInfo), out.writer(slog.LevelWarn)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = grace // then SIGKILL, and stop waiting for the output
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s for run %s: %w", argv[0], job.Run.ID, err)
	}
	job.Started("pid:" + strconv.Itoa(cmd.Process.Pid))
	werr := cmd.Wait()
	stdout.end()
	stderr.end()
	out.close()
	ee := &ExitError{Status: cmd.ProcessState.ExitCode(), Tail: out.tail()}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		ee.Signal = ws.Signal().String()
	}
	var xe *exec.ExitError
	if werr != nil && !errors.As(werr, &xe) && !errors.Is(werr, context.Canceled) && !errors.Is(werr, context.DeadlineExceeded) {
		ee.Err = werr
	}
	return ee
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

// maxLine bounds one log line; longer lines are cut and marked.
const maxLine = 16 << 10

// output turns a child's output into log records, flushed to the store in
// batches (every 200ms or 256 lines), and keeps the last lines.
type output struct {
	p     *Process
	runID string
	log   *slog.Logger

	mu      sync.Mutex
	pending []flow.LogRecord
	last    []string // ring of the last lines
	next    int
	kick    chan struct{}
	done    chan struct{}
	flushed chan struct{}
}

func newOutput(p *Process, runID string) *output {
	n := p.Tail
	if n <= 0 {
		n = 20
	}
	log := p.Logger
	if log == nil {
		log = slog.Default()
	}
	o := &output{p: p, runID: runID, log: log, last: make([]string, 0, n), kick: make(chan struct{}, 1), done: make(chan struct{}), flushed: make(chan struct{})}
	go o.flusher()
	return o
}

func (o *output) line(level slog.Level, s string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.last) < cap(o.last) {
		o.last = append(o.last, s)
	} else {
		o.last[o.next] = s
		o.next = (o.next + 1) % len(o.last)
	}
	if o.p.Logs == nil {
		return
	}
	o.pending = append(o.pending, flow.LogRecord{RunID: o.runID, FlowRunID: o.runID, Time: time.Now(), Level: level, Message: s})
	if len(o.pending) >= 256 {
		select {
		case o.kick <- struct{}{}:
		default:
		}
	}
}

func (o *output) tail() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append(append([]string(nil), o.last[o.next:]...), o.last[:o.next]...)
}

func (o *output) flush() {
	o.mu.Lock()
	recs := o.pending
	o.pending = nil
	o.mu.Unlock()
	if len(recs) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := o.p.Logs.AppendLogs(ctx, recs); err != nil {
		o.log.Warn("store output of run", slog.String("run_id", o.runID), slog.Int("lines", len(recs)), slog.String("error", err.Error()))
	}
}

func (o *output) flusher() {
	defer close(o.flushed)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-o.done:
			o.flush()
			return
		case <-t.C:
		case <-o.kick:
		}
		o.flush()
	}
}

// close flushes what is left; the writers must be done.
func (o *output) close() {
	close(o.done)
	<-o.flushed
}

func (o *output) writer(level slog.Level) *lineWriter {
	return &lineWriter{o: o, level: level}
}

// lineWriter splits a stream into lines. exec.Cmd writes to it from one
// goroutine per stream.
type lineWriter struct {
	o     *output
	level slog.Level
	buf   []byte
	cut   bool // the current line was too long and is being skipped
}

// end emits a last line that had no newline.
func (w *lineWriter) end() {
	if len(w.buf) > 0 && !w.cut {
		w.o.line(w.level, strings.TrimRight(string(w.buf), "\r"))
	}
	w.buf, w.cut = w.buf[:0], false
}

func (w *lineWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if !w.cut {
			room := maxLine - len(w.buf)
			if len(chunk) > room {
				w.buf = append(w.buf, chunk[:room]...)
				w.o.line(w.level, strings.TrimRight(string(w.buf), "\r")+" …(line cut)")
				w.buf, w.cut = w.buf[:0], true
			} else {
				w.buf = append(w.buf, chunk...)
			}
		}
		if i < 0 {
			break
		}
		if !w.cut {
			w.o.line(w.level, strings.TrimRight(string(w.buf), "\r"))
		}
		w.buf, w.cut = w.buf[:0], false
		p = p[i+1:]
	}
	return n, nil
}
