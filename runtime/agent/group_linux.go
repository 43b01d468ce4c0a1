package agent

import (
	"os"
	"syscall"
)

// killOwnGroup kills the process group this process leads (the process
// launcher starts it in one of its own): the process and what it
// started. A process that does not lead its group kills nothing else.
func killOwnGroup() {
	if pgid, err := syscall.Getpgid(0); err == nil && (pgid == os.Getpid() || os.Getpid() == 1) {
		_ = syscall.Kill(0, syscall.SIGKILL) // PID 1 of a container survives it, and exits after
	}
}

// keepAfterParent lets this process outlive its parent long enough to
// stop what it started: the process launcher has the kernel kill its
// children when the worker dies (Pdeathsig), which would kill this
// process before it could kill its own children. It stops through its
// lease channel instead, which ends at the same moment.
func keepAfterParent() {
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, 0, 0)
}
