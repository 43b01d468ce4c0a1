//go:build unix && !linux

package worker

import (
	"os"
	"syscall"
)

// childProcAttr puts a child in a process group of its own. Only Linux
// kills a child when its parent dies; elsewhere the child stops itself
// when its lease channel ends.
func childProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }

// killGroup sends sig to the process group of p (p leads it).
func killGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}

// pipeUnread: not known here (-1); a warm child that died is then taken
// to have read its run.
func pipeUnread(*os.File) int { return -1 }
