//go:build unix && !linux

package agent

import (
	"os"
	"os/signal"
	"syscall"

	"github.com/netauto-dev/netauto/runtime/api/wire"
)

// A dead worker closes the pipes of the child's output: a write to them
// must fail, not kill the child with SIGPIPE before it stopped its own
// children.
func init() {
	if os.Getenv(wire.EnvLeaseFD) != "" {
		signal.Ignore(syscall.SIGPIPE)
	}
}

// killOwnGroup kills the process group this process leads (the process
// launcher starts it in one of its own): the process and what it
// started.
func killOwnGroup() {
	if pgid, err := syscall.Getpgid(0); err == nil && (pgid == os.Getpid() || os.Getpid() == 1) {
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
}
