package scheduler

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
)

// A scheduler whose cached planning state is stale (another replica
// planned further meanwhile) loses its compare-and-set, re-reads and
// re-plans in the same pass: no error, no duplicate, no gap.
func TestStaleReplicaReplans(t *testing.T) {
	s := openStore(t)
	apply(t, s, store.Deployment{Name: "inv", Schedules: []store.Schedule{{Cron: "0 * * * *"}}})
	a, b := New(s, Options{}), New(s, Options{})
	pass(t, a, t0)
	pass(t, b, t0) // b caches the state at t0
	if res := pass(t, a, t0.Add(2*time.Hour)); res.Created != 2 {
		t.Fatalf("a's second pass: %+v", res)
	}
	if res := pass(t, b, t0.Add(2*time.Hour)); res.Created != 0 {
		t.Fatalf("stale b created %d runs, want 0 (a planned them)", res.Created)
	}
	if res := pass(t, b, t0.Add(3*time.Hour)); res.Created != 1 {
		t.Fatalf("b after re-reading: %+v, want the next run", res)
	}
	// 14:00 was planned at 14:07 by a: late.
	want := []string{"13:00 Scheduled", "14:00 Late", "15:00 Scheduled", "16:00 Scheduled"}
	if got := times(runs(t, s, "inv")); !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
	states, err := s.ScheduleStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for k, through := range states["inv"].Through {
		if len(states["inv"].Through) != 1 || through.Before(time.Date(2026, 3, 2, 16, 0, 0, 0, time.UTC)) {
			t.Fatalf("planning state %s = %v, want one schedule planned through 16:00 or later", k, through)
		}
	}
}

// An inactive schedule makes no runs; turned on again, it plans from then
// on without making up the time it was off.
func TestInactiveSchedule(t *testing.T) {
	s := openStore(t)
	d := store.Deployment{Name: "inv", Schedules: []store.Schedule{
		{Cron: "0 * * * *"},
		{Cron: "30 * * * *", Inactive: true},
	}}
	apply(t, s, d)
	sc := New(s, Options{})
	pass(t, sc, t0)
	if got := times(runs(t, s, "inv")); !slices.Equal(got, []string{"13:00 Scheduled"}) {
		t.Fatalf("runs %q, want only the active schedule's", got)
	}
	// Every schedule off: nothing planned, the planning state emptied,
	// and the run planned for the schedule (late, never claimed) deleted.
	d.Schedules[0].Inactive = true
	apply(t, s, d)
	if res := pass(t, sc, t0.Add(3*time.Hour)); res.Created != 0 || res.Replaced != 1 {
		t.Fatalf("all inactive: %+v, want nothing created and the 13:00 run replaced", res)
	}
	states, err := s.ScheduleStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(states["inv"].Through) != 0 {
		t.Fatalf("planning state of inactive schedules kept: %v", states["inv"].Through)
	}
	// Back on five hours later: no late runs for the hours it was off.
	d.Schedules[0].Inactive, d.Schedules[1].Inactive = false, false
	apply(t, s, d)
	res := pass(t, sc, t0.Add(5*time.Hour))
	if res.Late != 0 || res.Skipped != 0 || res.Created != 2 {
		t.Fatalf("reactivated: %+v, want the next run of each schedule and nothing late", res)
	}
	want := []string{"17:30 Scheduled", "18:00 Scheduled"}
	if got := times(runs(t, s, "inv")); !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
}

// A run planned after its time is Late from its first visible moment: its
// history is Scheduled then Late in one transaction, with the lateness.
func TestLateAtCreation(t *testing.T) {
	s := openStore(t)
	apply(t, s, store.Deployment{Name: "inv", Schedules: []store.Schedule{{Cron: "0 * * * *"}}})
	sc := New(s, Options{})
	pass(t, sc, t0)
	res := pass(t, sc, t0.Add(2*time.Hour))
	if res.Late != 1 {
		t.Fatalf("pass after a gap: %+v, want one late run", res)
	}
	for _, r := range runs(t, s, "inv") {
		if r.ScheduledAt.Equal(time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC)) {
			if r.State.Name != flow.NameLate || r.State.Message == "" {
				t.Fatalf("14:00 run: %+v, want Late with its lateness", r.State)
			}
			h, err := s.RunHistory(context.Background(), r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(h) != 2 || h[0].Name != flow.NameScheduled || h[1].Name != flow.NameLate {
				t.Fatalf("history %+v", h)
			}
			return
		}
	}
	t.Fatal("no 14:00 run")
}
