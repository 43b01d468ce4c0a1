package netsync_test

import (
	"testing"

	"sync"

	"github.com/netauto-dev/netauto/device"
	"github.com/netauto-dev/netauto/device/backup"
	"github.com/netauto-dev/netauto/examples/netauto/netsync"
)

// Two backup runs of one environment at once (a scheduled run and a manual
// one, or two workers sharing the directory) must not lose commits: every
// commit a run reports is on the branch, and each device's configuration
// is stored.
func TestConcurrentBackupsLoseNoCommits(t *testing.T) {
	for round := range 3 {
		e := newEnv(t, labDevices())
		e.deps.FanOut = device.FanOut{Concurrency: 4}
		var wg sync.WaitGroup
		reps := make([]netsync.BackupReport, 2)
		errs := make([]error, 2)
		for i := range reps {
			wg.Go(func() {
				reps[i], errs[i] = netsync.ConfigBackup(e.deps).Run(e.ctx, netsync.Params{Environment: "test"})
			})
		}
		wg.Wait()
		dir := e.deps.BackupDirFor("test")
		onBranch := len(commits(t, dir))
		reported := 0
		for i := range reps {
			if errs[i] == nil {
				reported += reps[i].Commits
			}
		}
		if onBranch != reported || onBranch < 4 {
			t.Errorf("round %d: runs reported %d commits (%v / %v), the branch has %d", round, reported, errs[0], errs[1], onBranch)
		}
		for _, name := range []string{"atl1-edge1", "atl1-edge2", "atl1-leaf1", "atl1-fw1"} {
			if h, err := backup.History(dir, name, 0); err != nil || len(h) == 0 {
				t.Errorf("round %d: %s has no stored configuration: %v", round, name, err)
			}
		}
	}
}
