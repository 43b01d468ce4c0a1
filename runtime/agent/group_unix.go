//go:build unix && !linux

package agent

import (
	"os"
	"syscall"
)

// killOwnGroup kills the process group this process leads (the process
// launcher starts it in one of its own): the process and what it
// started.
func killOwnGroup() {
	if pgid, err := syscall.Getpgid(0); err == nil && (pgid == os.Getpid() || os.Getpid() == 1) {
		_ = syscall.Kill(0, syscall.SIGKILL)
	}
}

// keepAfterParent: only Linux kills a child with its parent.
func keepAfterParent() {}
