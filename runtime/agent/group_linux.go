package agent

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// killOwnGroup kills the process group this process leads (the process
// launcher starts it in one of its own): the process and what it
// started. A process that does not lead its group kills nothing else.
func killOwnGroup() {
	if pgid, err := syscall.Getpgid(0); err == nil && (pgid == os.Getpid() || os.Getpid() == 1) {
		_ = syscall.Kill(0, syscall.SIGKILL) // PID 1 of a container survives it, and exits after
	}
}

// init lets a worker's child outlive its worker long enough to stop
// what it started: the process launcher has the kernel kill its children
// when the worker dies (Pdeathsig), which would kill this process before
// it could kill its own children (a flow's ssh or script). It stops
// through its lease channel instead, which ends at the same moment. The
// setting belongs to the thread the child was started on, the main
// thread, which package initialisation runs on.
//
// A dead worker also closes the pipes of the child's output: a write to
// them must fail, not kill the child with SIGPIPE before it stopped its
// own children.
func init() {
	if os.Getenv(wire.EnvLeaseFD) != "" {
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, 0, 0)
		signal.Ignore(syscall.SIGPIPE)
	}
}
