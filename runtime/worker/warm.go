package worker

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// maxWarmFailures is how many warm children in a row may die before they
// get a run (a binary that does not know `execute --warm`, a broken
// environment) before the launcher stops keeping any: its runs then start
// cold, as without [Process.Warm].
const maxWarmFailures = 3

// warmPool keeps up to size children of a [Process] started ahead of
// demand, each waiting on its standard input for one run.
type warmPool struct {
	p         *Process
	size      int
	argv, env []string // env: Process.WarmEnv

	mu       sync.Mutex
	idle     []*child // oldest first
	starting int
	// pending counts children handed a run whose replacement waits for
	// them to exit, at most refillDelay (see take).
	pending  int
	closed   bool
	failures int // warm children in a row that died before they got a run
	disabled bool
	wg       sync.WaitGroup // starts and watches
}

// warmChild returns a warm child for job's run, whose variables are
// vars, or nil when the run must start cold: warming is off, the run has
// its own binary or the launcher its own Command without WarmCommand,
// its variables differ from WarmEnv, or no warm child is ready. It tops
// the pool up in the background either way.
func (p *Process) warmChild(job Job, vars []string) *child {
	if p.Warm <= 0 || job.Binary != "" || (p.Command != nil && len(p.WarmCommand) == 0) || !agrees(vars, p.WarmEnv) {
		return nil
	}
	p.warmOnce.Do(func() {
		argv := p.WarmCommand
		if len(argv) == 0 {
			self, err := os.Executable()
			if err != nil {
				p.logger().Warn("no warm children: cannot find own binary", slog.String("error", err.Error()))
				return
			}
			argv = []string{self, "execute", wire.WarmArg}
		}
		p.warm = &warmPool{p: p, size: p.Warm, argv: slices.Clone(argv), env: slices.Clone(p.WarmEnv)}
	})
	if p.warm == nil {
		return nil
	}
	return p.warm.take(ChildEnviron(os.Environ(), p.PassEnv))
}

// refillDelay bounds how long the replacement of a warm child handed a
// run waits for that child to exit.
const refillDelay = 250 * time.Millisecond

// take returns an idle child that is alive and started with environment
// base (the worker's allow-listed variables now: a child started before
// they changed is not used), or nil. Its replacement starts once it has
// exited, or after refillDelay, whichever comes first: a short run does
// not share the CPU with the start of the child that replaces it (which
// would make it slower than a cold start on a busy machine), a long one
// does not keep the pool short. Others missing start at once.
func (w *warmPool) take(base []string) *child {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.fillLocked()
	for len(w.idle) > 0 {
		c := w.idle[0]
		w.idle = w.idle[1:]
		select {
		case <-c.exited.done: // died idle
			go c.discard()
			continue
		default:
		}
		if !slices.Equal(c.base, base) {
			go c.discard()
			continue
		}
		w.failures = 0
		w.pending++
		w.wg.Go(func() {
			t := time.NewTimer(refillDelay)
			defer t.Stop()
			select {
			case <-c.exited.done:
			case <-t.C:
			}
			w.mu.Lock()
			defer w.mu.Unlock()
			w.pending--
			w.fillLocked()
		})
		return c
	}
	return nil
}

// fillLocked starts children until size are idle or starting.
func (w *warmPool) fillLocked() {
	for !w.closed && !w.disabled && len(w.idle)+w.starting+w.pending < w.size {
		w.starting++
		w.wg.Go(w.start)
	}
}

// start starts one warm child and adds it to the idle ones.
func (w *warmPool) start() {
	base := ChildEnviron(os.Environ(), w.p.PassEnv)
	c, err := startWarm(w.argv, base, w.env)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.starting--
	if err != nil {
		w.failedLocked(fmt.Sprintf("start warm child %s: %v", w.argv[0], err))
		return
	}
	if w.closed {
		go c.discard()
		return
	}
	w.idle = append(w.idle, c)
	w.wg.Go(func() { w.watch(c) })
}

// watch waits for c to exit; when it died before it got a run, it is
// dropped and replaced, and its output logged (it held no secret yet).
func (w *warmPool) watch(c *child) {
	<-c.exited.done
	w.mu.Lock()
	i := slices.Index(w.idle, c)
	if i < 0 { // it got a run, or was discarded
		w.mu.Unlock()
		return
	}
	w.idle = slices.Delete(w.idle, i, i+1)
	w.mu.Unlock()
	// Its output pipes end with it (nothing else holds them: it started
	// nothing while it waited).
	var tail []string
	for _, r := range []*os.File{c.pipes.outR, c.pipes.errR} {
		b, _ := io.ReadAll(io.LimitReader(r, 4096))
		if s := strings.TrimSpace(string(b)); s != "" {
			tail = append(tail, s)
		}
	}
	c.pipes.closeAll()
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.discarded.Load() || w.closed {
		return
	}
	w.failedLocked(fmt.Sprintf("warm child %d died before it got a run: %s; output: %q", c.cmd.Process.Pid, c.cmd.ProcessState, strings.Join(tail, "\n")))
	w.fillLocked()
}

// failedLocked counts a warm child that failed; too many in a row turn
// warming off.
func (w *warmPool) failedLocked(msg string) {
	w.failures++
	log := w.p.logger()
	if w.failures < maxWarmFailures {
		log.Warn(msg)
		return
	}
	if !w.disabled {
		w.disabled = true
		log.Error(msg + fmt.Sprintf("; %d warm children in a row failed: runs start cold from now on", w.failures))
	}
}

// close kills the idle children and waits for the pool's goroutines.
func (w *warmPool) close() {
	w.mu.Lock()
	w.closed = true
	idle := w.idle
	w.idle = nil
	w.mu.Unlock()
	for _, c := range idle {
		c.discard()
	}
	w.wg.Wait()
}

// startWarm starts a warm child: argv with environment base then env,
// blocked reading its run on standard input, its lease channel ready.
func startWarm(argv, base, env []string) (*child, error) {
	pipes, err := newChildPipes(true)
	if err != nil {
		return nil, err
	}
	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		pipes.closeAll()
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(slices.Concat(base, env), wire.EnvSecretEnv+"=stdin", wire.EnvLeaseFD+"=3")
	cmd.Stdin = stdinR
	cmd.Stdout, cmd.Stderr = pipes.outW, pipes.errW
	cmd.ExtraFiles = []*os.File{pipes.leaseR}
	cmd.SysProcAttr = childProcAttr()
	exited, err := startLocked(cmd)
	if err != nil {
		stdinR.Close()
		stdinW.Close()
		pipes.closeAll()
		return nil, err
	}
	pipes.closeChildEnds()
	return &child{cmd: cmd, exited: exited, pipes: pipes, base: base, stdin: stdinW, stdinR: stdinR}, nil
}

// agrees reports whether vars (KEY=VALUE, the last of a name wins) give
// each variable of want its value.
func agrees(vars, want []string) bool {
	for _, kv := range want {
		k, _, _ := strings.Cut(kv, "=")
		got := ""
		for _, v := range vars {
			if strings.HasPrefix(v, k+"=") {
				got = v
			}
		}
		if got != kv {
			return false
		}
	}
	return true
}

// assign hands a warm child its run: vars, the variables a child started
// for it would have had after the worker's (the last of a name wins, as
// in an environment), as one JSON object, then the end of its input. The
// write goes on in the background (a dead child never reads it); see
// [child.gotRun].
func (c *child) assign(vars []string) error {
	m := make(map[string]string, len(vars))
	for _, kv := range vars {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	line, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.written = make(chan error, 1)
	go func() {
		_, err := c.stdin.Write(append(line, '\n'))
		c.stdin.Close() // the end of its input
		c.written <- err
	}()
	return nil
}

// gotRun reports, once a warm child has exited, whether it may have read
// the whole of its run. One that did not (killed while it waited, just as
// it was handed the run) cannot have executed any of it, and the run may
// go to another child. The launcher keeps its own end of the child's
// input open for this, so that what the child left unread stays
// countable. Any doubt counts as read: at worst the run is recorded
// Crashed, never executed twice.
func (c *child) gotRun() bool {
	unread := pipeUnread(c.stdinR)
	c.stdinR.Close() // a write still pending fails now
	err := <-c.written
	return err == nil && unread <= 0
}

// discard kills a child that got no run, and waits for it.
func (c *child) discard() {
	c.discarded.Store(true)
	if c.stdin != nil {
		c.stdin.Close()
		c.stdinR.Close()
	}
	select {
	case <-c.exited.done: // its process ID may be another's by now
	default:
		killGroup(c.cmd.Process, syscall.SIGKILL)
		<-c.exited.done
	}
	c.pipes.closeAll()
}

// Close kills the warm children waiting for a run (see [Process.Warm]);
// children executing runs are stopped through their Launch. A Process
// may be used again after Close only for cold starts.
func (p *Process) Close() error {
	p.warmOnce.Do(func() {}) // no pool from now on
	if p.warm != nil {
		p.warm.close()
	}
	return nil
}

func (p *Process) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.Default()
}
