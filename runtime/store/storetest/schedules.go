package storetest

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// testPlanSchedules: runs and the planning state are written together,
// compare-and-set, so concurrent planners neither duplicate a run nor
// lose a planned instant.
func testPlanSchedules(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d"})
	spec := func(at time.Time, late bool) store.RunSpec {
		st := flow.Scheduled(at)
		if late {
			st = flow.Late(at)
		}
		return store.RunSpec{Deployment: "d", State: st}
	}
	through := func(at time.Time) map[string]time.Time { return map[string]time.Time{"cron:0 * * * *": at} }

	if got := must(s.ScheduleStates(ctx(t))); len(got) != 0 {
		t.Fatalf("states of a new store = %v", got)
	}
	res := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Generation: 1,
		Through: through(t0.Add(2 * time.Hour)),
		Runs:    []store.RunSpec{spec(t0, true), spec(t0.Add(time.Hour), false), spec(t0.Add(2*time.Hour), false)},
		Skipped: []store.SkippedRun{{Spec: spec(t0.Add(-time.Hour), false), Reason: "skipped by late policy"}},
	}}))
	if len(res) != 1 || res[0].Err != nil || len(res[0].Created) != 4 {
		t.Fatalf("first plan = %+v", res)
	}
	states := must(s.ScheduleStates(ctx(t)))
	if got := states["d"].Through["cron:0 * * * *"]; !got.Equal(t0.Add(2*time.Hour)) || states["d"].Generation != 1 {
		t.Fatalf("stored state = %v", states)
	}
	byTime := map[time.Time]store.FlowRun{}
	runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d"}))
	for _, r := range runs {
		byTime[r.ScheduledAt] = r
	}
	if r := byTime[t0]; r.State.Name != flow.NameLate {
		t.Fatalf("past run is %q, want Late at creation", r.State.Name)
	}
	if r := byTime[t0.Add(time.Hour)]; r.State.Name != flow.NameScheduled {
		t.Fatalf("future run is %q, want Scheduled", r.State.Name)
	}
	if r := byTime[t0.Add(-time.Hour)]; r.State.Name != flow.NameCancelled || r.State.Message != "skipped by late policy" {
		t.Fatalf("skipped occurrence recorded as %+v, want Cancelled with the reason", r.State)
	}
	wantHistory(t, s, byTime[t0.Add(-time.Hour)].ID, "Scheduled", "Cancelled")

	// A planner that read the old (empty) state loses, writing nothing.
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Generation: 1, Through: through(t0.Add(5 * time.Hour)),
		Runs: []store.RunSpec{spec(t0.Add(3*time.Hour), false)},
	}}))
	if !errors.Is(res[0].Err, store.ErrConflict) || len(res[0].Created) != 0 {
		t.Fatalf("stale plan = %+v, want ErrConflict", res)
	}
	if runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d"})); len(runs) != 4 {
		t.Fatalf("a conflicting plan created runs: %d", len(runs))
	}
	// Expect compares instants, not time zones.
	berlin := time.FixedZone("CET", 3600)
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Expect: through(t0.Add(2 * time.Hour).In(berlin)), ExpectGeneration: 1, Generation: 1, Through: through(t0.Add(3 * time.Hour)),
		Runs: []store.RunSpec{spec(t0.Add(2*time.Hour), false), spec(t0.Add(3*time.Hour), false)},
	}}))
	if res[0].Err != nil || len(res[0].Created) != 1 {
		t.Fatalf("next plan = %+v, want the one new run (the other slot is taken)", res)
	}
	// Bad input fails the whole call.
	_, err := s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: ""}})
	wantInvalid(t, err, "plans[0].deployment")
	_, err = s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: "d"}})
	wantInvalid(t, err, "plans[0].generation")
	_, err = s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: "d", Expect: through(t0.Add(3 * time.Hour)), ExpectGeneration: 1, Generation: 1,
		Runs: []store.RunSpec{{Deployment: "d", State: flow.Pending()}}}})
	wantInvalid(t, err, "plans[0].runs[0].state")

	// Racing planners from the same state: exactly one wins each round,
	// and the runs are created once.
	deploy(t, s, store.Deployment{Name: "race"})
	var mu sync.Mutex
	expect := map[string]time.Time{}
	var expectGen int64
	for round := range 5 {
		at := t0.Add(time.Duration(round) * time.Hour)
		var wg sync.WaitGroup
		wins := 0
		for range 4 {
			wg.Go(func() {
				r, err := s.PlanSchedules(ctx(t), []store.SchedulePlan{{
					Deployment: "race", Expect: expect, ExpectGeneration: expectGen, Generation: 1, Through: through(at),
					Runs: []store.RunSpec{{Deployment: "race", State: flow.Scheduled(at)}},
				}})
				if err != nil {
					t.Error(err)
					return
				}
				if r[0].Err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if !errors.Is(r[0].Err, store.ErrConflict) {
					t.Error(r[0].Err)
				}
			})
		}
		wg.Wait()
		if wins != 1 {
			t.Fatalf("round %d: %d planners won, want 1", round, wins)
		}
		expect, expectGen = through(at), 1
	}
	if runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "race"})); len(runs) != 5 {
		t.Fatalf("racing planners created %d runs, want 5", len(runs))
	}
	// Deleting the deployment forgets its planning state.
	check(t, s.DeleteDeployment(ctx(t), "race"))
	if _, ok := must(s.ScheduleStates(ctx(t)))["race"]; ok {
		t.Fatal("planning state of a deleted deployment kept")
	}
}

// testPlanSchedulesLateCreated: runs created ahead that were not claimed
// in time (the deployment was paused, or no worker ran) are late too, and
// the deployment's late policy decides on them when the scheduler plans:
// skip cancels them, run-latest keeps only the latest; AwaitingRetry runs
// and runs within the grace are left alone.
func testPlanSchedulesLateCreated(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "skip", LatePolicy: store.LateSkip})
	deploy(t, s, store.Deployment{Name: "latest", LatePolicy: store.LateRunLatest})
	deploy(t, s, store.Deployment{Name: "all"})
	key := "cron:* * * * *"
	ahead := func(d string) []store.RunSpec {
		var out []store.RunSpec
		for i := 1; i <= 3; i++ {
			out = append(out, store.RunSpec{Deployment: d, State: flow.Scheduled(t0.Add(time.Duration(i) * time.Minute))})
		}
		return out
	}
	for _, d := range []string{"skip", "latest", "all"} {
		res := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: d, Generation: 1, Through: map[string]time.Time{key: t0.Add(3 * time.Minute)}, Runs: ahead(d)}}))
		if res[0].Err != nil || len(res[0].Created) != 3 {
			t.Fatalf("plan %s = %+v", d, res)
		}
	}
	// Much later: the late runs meet the policy, the one within the
	// grace (due at t0+3m, now t0+3m30s, grace 1m) does not.
	now := t0.Add(3*time.Minute + 30*time.Second)
	for _, d := range []string{"skip", "latest", "all"} {
		res := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
			Deployment: d, Expect: map[string]time.Time{key: t0.Add(3 * time.Minute)}, ExpectGeneration: 1, Generation: 1,
			Through: map[string]time.Time{key: t0.Add(4 * time.Minute)}, LateBefore: now.Add(-time.Minute),
		}}))
		if res[0].Err != nil {
			t.Fatalf("replan %s = %+v", d, res)
		}
	}
	want := map[string][]string{
		"skip":   {flow.NameCancelled, flow.NameCancelled, flow.NameScheduled},
		"latest": {flow.NameCancelled, flow.NameScheduled, flow.NameScheduled},
		"all":    {flow.NameScheduled, flow.NameScheduled, flow.NameScheduled},
	}
	for d, names := range want {
		runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: d}))
		got := map[time.Time]string{}
		for _, r := range runs {
			got[r.ScheduledAt] = r.State.Name
		}
		for i, n := range names {
			if at := t0.Add(time.Duration(i+1) * time.Minute); got[at] != n {
				t.Errorf("deployment %s: run at %s is %q, want %q", d, at.Format(time.TimeOnly), got[at], n)
			}
		}
	}
}
