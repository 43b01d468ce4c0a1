package scheduler_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/netauto-dev/netauto/runtime/scheduler"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

// A nightly config backup at 02:00 Berlin time: one pass creates its next
// run; a second pass at the same time creates nothing.
func ExampleScheduler_Pass() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "netauto")
	defer os.RemoveAll(dir)
	st, err := sqlite.Open(ctx, filepath.Join(dir, "netauto.db"), store.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer st.Close()
	_ = st.ApplyPool(ctx, store.Pool{Name: "default", Type: "in-process"})
	_, err = st.ApplyDeployment(ctx, store.Deployment{Name: "config-backup", Flow: "backup", Pool: "default",
		Schedules: []store.Schedule{{Cron: "0 2 * * *", Timezone: "Europe/Berlin"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	sc := scheduler.New(st, scheduler.Options{})
	now := time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC) // the eve of the spring-forward night
	for range 2 {
		res, err := sc.Pass(ctx, now)
		fmt.Println(res.Created, err)
	}
	runs, _, _ := st.ListRuns(ctx, store.RunFilter{Deployment: "config-backup"})
	fmt.Println(runs[0].ScheduledAt.In(time.UTC), runs[0].State.Name)
	// Output:
	// 1 <nil>
	// 0 <nil>
	// 2026-03-29 01:00:00 +0000 UTC Scheduled
}
