package worker

import (
	"os"
	"syscall"
	"unsafe"
)

// childProcAttr puts a child in a process group of its own and has the
// kernel kill it when the worker dies.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// killGroup sends sig to the process group of p (p leads it).
func killGroup(p *os.Process, sig syscall.Signal) {
	if err := syscall.Kill(-p.Pid, sig); err != nil {
		_ = p.Signal(sig)
	}
}

// pipeUnread returns how many bytes written to the pipe r reads are not
// read yet, -1 when unknown.
func pipeUnread(r *os.File) int {
	sc, err := r.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	_ = sc.Control(func(fd uintptr) {
		var v int32
		if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, syscall.TIOCINQ, uintptr(unsafe.Pointer(&v))); e == 0 {
			n = int(v)
		}
	})
	return n
}
