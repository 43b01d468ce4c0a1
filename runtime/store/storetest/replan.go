package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// testPlanSchedulesReplace: a change to what a deployment's planned runs
// are made of (its generation) makes the runs planned before and not
// started unclaimable at once; the first plan of the new generation
// deletes those due from its ReplanFrom on and those of schedules that
// are gone, keeps the others, in its transaction; started, claimed and
// manual runs are never touched.
func testPlanSchedulesReplace(t *testing.T, o Opener) {
	s := Open(t, o)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "d", Schedules: []store.Schedule{{Cron: "* * * * *"}}})
	if g := must(s.GetDeployment(ctx(t), "d")).Generation; g != 1 {
		t.Fatalf("generation of a new deployment = %d, want 1", g)
	}
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	spec := func(m int, keys ...string) store.RunSpec {
		st := flow.Scheduled(at(m))
		if m < 0 {
			st = flow.Late(at(m))
		}
		return store.RunSpec{Deployment: "d", State: st, Origin: store.Origin{Kind: store.OriginSchedule, Schedules: keys}}
	}
	// Planned at t0-3m under generation 1: schedule A every minute, B at
	// some of them.
	res := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Generation: 1, ReplanFrom: at(-3),
		Through: map[string]time.Time{"A": at(3), "B": at(3)},
		Runs:    []store.RunSpec{spec(-3, "A"), spec(-2, "A"), spec(-1, "A", "B"), spec(1, "A"), spec(2, "A", "B"), spec(3, "B")},
	}}))
	if res[0].Err != nil || len(res[0].Created) != 6 || len(res[0].Deleted) != 0 {
		t.Fatalf("first plan = %+v", res)
	}
	byTime := func() map[int]store.FlowRun {
		out := map[int]store.FlowRun{}
		runs, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d", Origin: store.OriginSchedule}))
		for _, r := range runs {
			out[int(r.ScheduledAt.Sub(t0)/time.Minute)] = r
		}
		return out
	}
	before := byTime()
	if o := before[2].Origin; o.Kind != store.OriginSchedule || !slices.Equal(o.Schedules, []string{"A", "B"}) {
		t.Fatalf("origin of a planned run = %+v", o)
	}
	// A worker claims the earliest (t0-3m); a manual run waits beside.
	claimed, ok := must2(s.ClaimRun(ctx(t), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: at(-3)}))
	if !ok || claimed.ID != before[-3].ID {
		t.Fatalf("claim = %v %+v, want the run due at -3m", ok, claimed)
	}
	manual, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "d", State: flow.Scheduled(at(-1)), Origin: store.Origin{Kind: store.OriginAPI, APIKey: "sha256:0011"}}))

	// A description is not what runs are made of: same generation.
	deploy(t, s, store.Deployment{Name: "d", Description: "now described", Schedules: []store.Schedule{{Cron: "* * * * *"}}})
	if g := must(s.GetDeployment(ctx(t), "d")).Generation; g != 1 {
		t.Fatalf("generation after a description change = %d, want 1", g)
	}
	// The schedules change: generation 2. Until it is planned, no run
	// planned under generation 1 is handed out, however due; the manual
	// run is.
	deploy(t, s, store.Deployment{Name: "d", Description: "now described", Schedules: []store.Schedule{{Cron: "*/5 * * * *"}}})
	if g := must(s.GetDeployment(ctx(t), "d")).Generation; g != 2 {
		t.Fatalf("generation after a schedule change = %d, want 2", g)
	}
	got, ok := must2(s.ClaimRun(ctx(t), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: at(10)}))
	if !ok || got.ID != manual.ID {
		t.Fatalf("claim after the change = %v %s, want the manual run %s", ok, got.ID, manual.ID)
	}
	if got, ok := must2(s.ClaimRun(ctx(t), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: at(10)})); ok {
		t.Fatalf("claimed %s (%v, origin %+v): a run planned under the old generation", got.ID, got.ScheduledAt, got.Origin)
	}
	// Plans that do not know the new generation lose.
	for _, p := range []store.SchedulePlan{
		{Deployment: "d", Expect: map[string]time.Time{"A": at(3), "B": at(3)}, ExpectGeneration: 1, Generation: 1, Through: map[string]time.Time{"A": at(4)}},
		{Deployment: "d", Expect: map[string]time.Time{"A": at(3), "B": at(3)}, ExpectGeneration: 2, Generation: 2, Through: map[string]time.Time{"B": at(4)}},
	} {
		r := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{p}))
		if !errors.Is(r[0].Err, store.ErrConflict) {
			t.Fatalf("plan %+v = %+v, want a conflict", p, r[0])
		}
	}
	// The first plan of generation 2, at t0 (B remains, A is gone):
	// deleted are A's runs that did not start and B's from t0 on; B's
	// past run is kept, and planned again where it was deleted.
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Expect: map[string]time.Time{"A": at(3), "B": at(3)}, ExpectGeneration: 1, Generation: 2, ReplanFrom: t0,
		Through: map[string]time.Time{"B": at(5)},
		Runs:    []store.RunSpec{spec(2, "B"), spec(5, "B")},
	}}))
	if res[0].Err != nil || len(res[0].Created) != 2 {
		t.Fatalf("plan of generation 2 = %+v", res)
	}
	wantDeleted := []string{before[-2].ID, before[1].ID, before[2].ID, before[3].ID}
	if slices.Sort(res[0].Deleted); !slices.Equal(res[0].Deleted, sorted(wantDeleted)) {
		t.Fatalf("deleted %v, want %v (A's at -2m, everything from t0)", res[0].Deleted, sorted(wantDeleted))
	}
	for _, id := range wantDeleted {
		_, err := s.GetRun(ctx(t), id)
		wantNotFound(t, err)
		_, err = s.RunHistory(ctx(t), id)
		wantNotFound(t, err)
	}
	after := byTime()
	if after[-3].ID != claimed.ID || after[-3].State.Type != flow.TypePending {
		t.Fatalf("the claimed run is %+v, want it untouched (Pending)", after[-3])
	}
	if after[-1].ID != before[-1].ID {
		t.Fatalf("B's past run was replaced: %+v", after[-1])
	}
	if r := must(s.GetRun(ctx(t), manual.ID)); r.Origin.Kind != store.OriginAPI || r.Origin.APIKey != "sha256:0011" {
		t.Fatalf("manual run = %+v", r)
	}
	if st := must(s.ScheduleStates(ctx(t)))["d"]; st.Generation != 2 || len(st.Through) != 1 {
		t.Fatalf("planning state = %+v, want generation 2 with B only", st)
	}
	// Kept runs are claimable again, in time order.
	got, ok = must2(s.ClaimRun(ctx(t), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: at(10)}))
	if !ok || got.ID != before[-1].ID {
		t.Fatalf("claim after the plan = %v %s, want B's kept run %s", ok, got.ID, before[-1].ID)
	}
	got, ok = must2(s.ClaimRun(ctx(t), store.Claim{Pool: "default", Worker: "w", Lease: time.Minute, Now: at(10)}))
	if !ok || got.ID != after[2].ID || !slices.Equal(got.Origin.Schedules, []string{"B"}) {
		t.Fatalf("next claim = %v %+v, want the new run at +2m", ok, got)
	}
	// A second plan of generation 2 replaces nothing.
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{
		Deployment: "d", Expect: map[string]time.Time{"B": at(5)}, ExpectGeneration: 2, Generation: 2, ReplanFrom: at(1),
		Through: map[string]time.Time{"B": at(6)}, Runs: []store.RunSpec{spec(6, "B")},
	}}))
	if res[0].Err != nil || len(res[0].Deleted) != 0 || len(res[0].Created) != 1 {
		t.Fatalf("second plan of generation 2 = %+v", res)
	}
	// Deleting the deployment deletes its planned runs that did not
	// start; the claimed ones and the manual one stay.
	check(t, s.DeleteDeployment(ctx(t), "d"))
	left, _ := must2(s.ListRuns(ctx(t), store.RunFilter{Deployment: "d"}))
	var ids []string
	for _, r := range left {
		ids = append(ids, r.ID)
	}
	if want := sorted([]string{claimed.ID, manual.ID, before[-1].ID, after[2].ID}); !slices.Equal(sorted(ids), want) {
		t.Fatalf("runs after deleting the deployment %v, want the started ones %v", sorted(ids), want)
	}
	// Runs made without a plan (CreateScheduledRuns) under an older
	// generation are replaced by the deployment's first plan too.
	deploy(t, s, store.Deployment{Name: "legacy", Schedules: []store.Schedule{{Cron: "* * * * *"}}})
	legacy := must(s.CreateScheduledRuns(ctx(t), []store.RunSpec{{Deployment: "legacy", State: flow.Scheduled(at(20))}}))
	deploy(t, s, store.Deployment{Name: "legacy", Schedules: []store.Schedule{{Cron: "*/5 * * * *"}}})
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: "legacy", Generation: 2, ReplanFrom: t0,
		Through: map[string]time.Time{"B": at(25)}, Runs: []store.RunSpec{{Deployment: "legacy", State: flow.Scheduled(at(25)), Origin: store.Origin{Schedules: []string{"B"}}}}}}))
	if res[0].Err != nil || len(legacy) != 1 || !slices.Equal(res[0].Deleted, legacy) || len(res[0].Created) != 1 {
		t.Fatalf("first plan of a deployment with an unplanned run %v: %+v", legacy, res[0])
	}
	// An origin of unknown kind is refused.
	deploy(t, s, store.Deployment{Name: "e"})
	_, _, err := s.CreateRun(ctx(t), store.RunSpec{Deployment: "e", Origin: store.Origin{Kind: "robot"}})
	wantInvalid(t, err, "origin.kind")
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
