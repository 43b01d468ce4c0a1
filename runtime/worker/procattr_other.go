//go:build !unix

package worker

import (
	"os"
	"syscall"
)

// childProcAttr: no process groups here; the child stops itself when its
// lease channel ends.
func childProcAttr() *syscall.SysProcAttr { return nil }

// killGroup kills p (no process groups here).
func killGroup(p *os.Process, sig syscall.Signal) {
	if sig == syscall.SIGKILL {
		_ = p.Kill()
		return
	}
	_ = p.Signal(sig)
}

// pipeUnread: not known here (-1); a warm child that died is then taken
// to have read its run.
func pipeUnread(*os.File) int { return -1 }
