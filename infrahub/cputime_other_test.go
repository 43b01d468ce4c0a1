//go:build !unix

package infrahub_test

import "time"

// processCPUTime is not available here; benchmarks then report wall time only.
func processCPUTime() (time.Duration, bool) { return 0, false }
