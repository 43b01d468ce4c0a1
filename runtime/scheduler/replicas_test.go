package scheduler

import (
	"context"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/postgres"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
	"github.com/netauto-dev/netauto/runtime/store/storetest"
)

// replicaStores opens n handles on one fresh database, as n server
// replicas (and a worker) would: separate connection pools.
type replicaStores func(t *testing.T, n int) []store.Store

func sqliteReplicas(t *testing.T, n int) []store.Store {
	path := filepath.Join(t.TempDir(), "netauto.db")
	var out []store.Store
	for range n {
		s, err := sqlite.Open(context.Background(), path, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

func postgresReplicas(t *testing.T, n int) []store.Store {
	dsn := storetest.TempSchema(t, storetest.PostgresDSN(t))
	var out []store.Store
	for range n {
		s, err := postgres.Open(context.Background(), dsn, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// TestReplicasReplaceStaleRuns: two scheduler replicas plan a deployment
// while a worker claims its due runs, on a clock that moves on; the
// deployment's schedule changes, then is removed. Once a change is
// applied, no claim hands out a run of the old schedule; every planned
// run that did not start is of the current schedules, one per time;
// claimed runs are never deleted.
func TestReplicasReplaceStaleRuns(t *testing.T) {
	for name, open := range map[string]replicaStores{"sqlite": sqliteReplicas, "postgres": postgresReplicas} {
		t.Run(name, func(t *testing.T) { testReplicasReplace(t, open) })
	}
}

func testReplicasReplace(t *testing.T, open replicaStores) {
	ctx := context.Background()
	sts := open(t, 3) // two server replicas and the worker's
	if err := sts[0].ApplyPool(ctx, store.Pool{Name: "default", Type: "process"}); err != nil {
		t.Fatal(err)
	}
	d := store.Deployment{Name: "tick", Flow: "f", Pool: "default", Schedules: []store.Schedule{{Cron: "* * * * *"}}}
	if _, err := sts[0].ApplyDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	oldKey := mustKey(t, "* * * * *")
	newKey := mustKey(t, "*/5 * * * *")
	start := time.Date(2026, 3, 2, 16, 30, 0, 0, time.UTC)
	var clock atomic.Int64
	clock.Store(start.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()).UTC() }
	opts := Options{Window: schedule.Window{Ahead: time.Hour, AtLeast: 1, Max: 100}}
	replicas := []*Scheduler{New(sts[0], opts), New(sts[1], opts)}

	// phase is the change applied so far: 0 none, 1 the new cron, 2 no
	// schedule. A claim that starts after a change was applied must not
	// return a run the change made stale.
	var phase atomic.Int32
	type claimed struct {
		run   store.FlowRun
		phase int32
	}
	var (
		mu   sync.Mutex
		got  []claimed
		stop = make(chan struct{})
		wg   sync.WaitGroup
		// idleAt is the clock of the worker's last claim that found
		// nothing due; idle signals it.
		idleAt atomic.Int64
		idle   = make(chan struct{}, 1)
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			ph, at := phase.Load(), clock.Load()
			r, ok, err := sts[2].ClaimRun(ctx, store.Claim{Pool: "default", Worker: "w", Lease: time.Hour, Now: time.Unix(0, at).UTC()})
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				got = append(got, claimed{r, ph})
				mu.Unlock()
				continue
			}
			idleAt.Store(at)
			select {
			case idle <- struct{}{}:
			default:
			}
			time.Sleep(time.Millisecond) // an idle worker polls
		}
	})
	// drain waits until the worker has claimed what is due, so that
	// which runs it gets does not depend on its speed; it polls on while
	// the replicas plan and the deployment changes.
	drain := func() {
		for idleAt.Load() < clock.Load() {
			select {
			case <-idle:
			case <-time.After(10 * time.Second):
				t.Fatal("the worker did not catch up")
			}
		}
	}
	// step moves the clock on, lets the worker claim what is due, then
	// has both replicas plan at once, the worker polling meanwhile.
	step := func() {
		clock.Add(int64(20 * time.Second))
		drain()
		var pw sync.WaitGroup
		for _, sc := range replicas {
			pw.Go(func() {
				res, err := sc.Pass(ctx, now())
				if err != nil {
					t.Error(err)
				}
				for _, e := range res.Errors {
					t.Error(e)
				}
			})
		}
		pw.Wait()
	}
	for range 15 { // 5 minutes of "* * * * *"
		step()
	}
	drain()
	d.Schedules = []store.Schedule{{Cron: "*/5 * * * *"}}
	if _, err := sts[1].ApplyDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	phase.Store(1)
	// The next run of the old schedule falls due before any replica
	// planned the change: the worker must not get it.
	clock.Add(int64(time.Minute))
	drain()
	for range 27 { // 10 minutes of "*/5 * * * *"
		step()
	}
	drain()
	d.Schedules = nil
	if _, err := sts[0].ApplyDeployment(ctx, d); err != nil {
		t.Fatal(err)
	}
	phase.Store(2)
	clock.Add(int64(5 * time.Minute))
	drain()
	for range 15 {
		step()
	}
	close(stop)
	wg.Wait()

	for _, c := range got {
		keys := c.run.Origin.Schedules
		switch {
		case c.phase >= 1 && slices.Contains(keys, oldKey):
			t.Errorf("claimed %s (due %s) of the old schedule after the change", c.run.ID, c.run.ScheduledAt.Format(time.TimeOnly))
		case c.phase >= 2:
			t.Errorf("claimed %s (due %s, %v) after every schedule was removed", c.run.ID, c.run.ScheduledAt.Format(time.TimeOnly), keys)
		}
		r, err := sts[0].GetRun(ctx, c.run.ID)
		if err != nil {
			t.Errorf("claimed run %s: %v (deleted?)", c.run.ID, err)
		} else if r.State.Type != flow.TypePending {
			t.Errorf("claimed run %s is %s", r.ID, r.State.Name)
		}
	}
	var all []store.FlowRun
	cursor := ""
	for {
		page, next, err := sts[0].ListRuns(ctx, store.RunFilter{Deployment: "tick", Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page...)
		if cursor = next; next == "" {
			break
		}
	}
	slots := map[time.Time]string{}
	oldClaimed, newClaimed := 0, 0
	for _, r := range all {
		if prev, dup := slots[r.ScheduledAt]; dup {
			t.Errorf("runs %s and %s both due %s", prev, r.ID, r.ScheduledAt.Format(time.TimeOnly))
		}
		slots[r.ScheduledAt] = r.ID
		if r.State.Type == flow.TypeScheduled {
			t.Errorf("run %s (due %s, %v) still %s with every schedule removed", r.ID, r.ScheduledAt.Format(time.TimeOnly), r.Origin.Schedules, r.State.Name)
		}
		switch {
		case slices.Contains(r.Origin.Schedules, oldKey):
			oldClaimed++
		case slices.Contains(r.Origin.Schedules, newKey):
			newClaimed++
			if r.ScheduledAt.Minute()%5 != 0 {
				t.Errorf("run %s of */5 due %s", r.ID, r.ScheduledAt.Format(time.TimeOnly))
			}
		}
	}
	// Due under * * * * * before the change: 16:31 to 16:35; under */5:
	// 16:40 and 16:45.
	if oldClaimed != 5 || newClaimed != 2 {
		t.Errorf("%d runs of the old schedule and %d of the new one remain (all claimed), want 5 and 2", oldClaimed, newClaimed)
	}
	if len(all) != len(got) {
		t.Errorf("%d runs remain, %d were claimed: unstarted planned runs were left", len(all), len(got))
	}
}

func mustKey(t *testing.T, cron string) string {
	t.Helper()
	sp, err := schedule.Parse(schedule.Schedule{Cron: cron})
	if err != nil {
		t.Fatal(err)
	}
	return sp.Key()
}
