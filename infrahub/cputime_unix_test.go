//go:build unix

package infrahub_test

import (
	"syscall"
	"time"
)

// processCPUTime is the user+system CPU time the process has used. On a
// shared machine it measures the work a benchmark does better than the
// wall clock, which also counts waiting for a CPU.
func processCPUTime() (time.Duration, bool) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, false
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), true
}
