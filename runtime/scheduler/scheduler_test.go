package scheduler

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/schedule"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/store/sqlite"
)

var t0 = time.Date(2026, 3, 2, 12, 7, 0, 0, time.UTC)

func openStore(t testing.TB) store.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "netauto.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.ApplyPool(context.Background(), store.Pool{Name: "default", Type: "in-process"}); err != nil {
		t.Fatal(err)
	}
	return s
}

func apply(t testing.TB, s store.Store, d store.Deployment) {
	t.Helper()
	if d.Flow == "" {
		d.Flow = "backup"
	}
	d.Pool = "default"
	if _, err := s.ApplyDeployment(context.Background(), d); err != nil {
		t.Fatal(err)
	}
}

// runs returns the deployment's runs, oldest scheduled first.
func runs(t testing.TB, s store.Store, dep string) []store.FlowRun {
	t.Helper()
	var out []store.FlowRun
	cursor := ""
	for {
		page, next, err := s.ListRuns(context.Background(), store.RunFilter{Deployment: dep, Limit: 1000, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			break
		}
		cursor = next
	}
	slices.SortFunc(out, func(a, b store.FlowRun) int { return a.ScheduledAt.Compare(b.ScheduledAt) })
	return out
}

func times(rs []store.FlowRun) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ScheduledAt.UTC().Format("15:04") + " " + r.State.Name
	}
	return out
}

func pass(t testing.TB, sc *Scheduler, now time.Time) PassResult {
	t.Helper()
	res, err := sc.Pass(context.Background(), now)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) > 0 {
		t.Fatalf("pass errors: %v", res.Errors)
	}
	return res
}

func TestPassCreatesAheadIdempotently(t *testing.T) {
	s := openStore(t)
	apply(t, s, store.Deployment{Name: "backup", Schedules: []store.Schedule{{Cron: "*/15 * * * *"}}})
	apply(t, s, store.Deployment{Name: "paused", Paused: true, Schedules: []store.Schedule{{Cron: "*/15 * * * *"}}})
	apply(t, s, store.Deployment{Name: "manual"})
	sc := New(s, Options{})
	if res := pass(t, sc, t0); res.Created != 4 || res.Deployments != 1 {
		t.Fatalf("first pass: %+v, want 4 runs of 1 deployment", res)
	}
	want := []string{"12:15 Scheduled", "12:30 Scheduled", "12:45 Scheduled", "13:00 Scheduled"}
	if got := times(runs(t, s, "backup")); !slices.Equal(got, want) {
		t.Fatalf("runs %q, want %q", got, want)
	}
	if res := pass(t, sc, t0); res.Created != 0 {
		t.Fatalf("second pass at the same time created %d runs", res.Created)
	}
	// A restarted scheduler reads the planning state from the store.
	if res := pass(t, New(s, Options{}), t0.Add(time.Minute)); res.Created != 0 {
		t.Fatalf("restarted scheduler created %d runs", res.Created)
	}
	if res := pass(t, sc, t0.Add(10*time.Minute)); res.Created != 1 {
		t.Fatalf("pass 10 minutes on: %+v, want the 13:15 run", res)
	}
	if n := len(runs(t, s, "paused")) + len(runs(t, s, "manual")); n != 0 {
		t.Fatalf("%d runs of paused or unscheduled deployments", n)
	}
}

func TestLatePolicies(t *testing.T) {
	tests := []struct {
		policy store.LatePolicy
		want   []string
	}{
		{store.LateRunAll, []string{"13:00 Late", "14:00 Late", "15:00 Late", "16:00 Scheduled"}},
		{store.LateRunLatest, []string{"13:00 Cancelled", "14:00 Cancelled", "15:00 Late", "16:00 Scheduled"}},
		{store.LateSkip, []string{"13:00 Cancelled", "14:00 Cancelled", "15:00 Cancelled", "16:00 Scheduled"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			s := openStore(t)
			apply(t, s, store.Deployment{Name: "inv", LatePolicy: tt.policy, Schedules: []store.Schedule{{Cron: "0 * * * *"}}})
			pass(t, New(s, Options{Window: windowNone()}), t0) // plans through 13:00 exclusive of later ones
			if got := times(runs(t, s, "inv")); !slices.Equal(got, []string{"13:00 Scheduled"}) {
				t.Fatalf("first pass: %q", got)
			}
			// The old 13:00 run exists already; the scheduler was down
			// until 15:30 and plans the backlog on restart.
			if _, err := s.CancelRun(context.Background(), runs(t, s, "inv")[0].ID, "test"); err != nil {
				t.Fatal(err)
			}
			sc := New(s, Options{Window: windowNone()})
			pass(t, sc, t0.Add(3*time.Hour+23*time.Minute))
			pass(t, sc, t0.Add(3*time.Hour+23*time.Minute)) // idempotent, also for skipped records
			got := times(runs(t, s, "inv"))
			want := append([]string(nil), tt.want...)
			want[0] = "13:00 Cancelled" // cancelled by the test
			if !slices.Equal(got, want) {
				t.Fatalf("runs %q, want %q", got, want)
			}
			for _, r := range runs(t, s, "inv")[1:] {
				if r.State.Name == flow.NameCancelled && !strings.Contains(r.State.Message, "late policy") {
					t.Errorf("skipped run at %s: message %q does not say why", r.ScheduledAt, r.State.Message)
				}
			}
		})
	}
}

// windowNone plans only the next run.
func windowNone() schedule.Window { return schedule.Window{AtLeast: 1, Max: 100} }

func TestParametersAndRecompile(t *testing.T) {
	s := openStore(t)
	d := store.Deployment{Name: "backup", Parameters: json.RawMessage(`{"full": false, "target": "all", "n": 9007199254740993}`),
		Schedules: []store.Schedule{{Cron: "0 2 * * *", Timezone: "Europe/Berlin", Parameters: json.RawMessage(`{"full": true}`)}}}
	apply(t, s, d)
	sc := New(s, Options{})
	pass(t, sc, t0)
	rs := runs(t, s, "backup")
	if len(rs) != 1 || !rs[0].ScheduledAt.Equal(time.Date(2026, 3, 3, 1, 0, 0, 0, time.UTC)) {
		t.Fatalf("runs %+v, want one at 02:00 Berlin", times(rs))
	}
	var p map[string]any
	dec := json.NewDecoder(strings.NewReader(string(rs[0].Parameters)))
	dec.UseNumber()
	if err := dec.Decode(&p); err != nil {
		t.Fatal(err)
	}
	if p["full"] != true || p["target"] != "all" || p["n"] != json.Number("9007199254740993") {
		t.Errorf("parameters %s: want the schedule's full=true over the defaults", rs[0].Parameters)
	}
	// A new timing is planned afresh; the old one's state is dropped, and
	// its run that had not started with it.
	d.Schedules = []store.Schedule{{Cron: "30 3 * * *", Timezone: "Europe/Berlin"}}
	apply(t, s, d)
	if res := pass(t, sc, t0.Add(time.Minute)); res.Replaced != 1 || res.Created != 1 {
		t.Fatalf("pass after the change: %+v, want the old run replaced by one new", res)
	}
	if got := times(runs(t, s, "backup")); !slices.Equal(got, []string{"02:30 Scheduled"}) {
		t.Fatalf("after the change: %q", got)
	}
	states, err := s.ScheduleStates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(states["backup"])
	if strings.Contains(string(raw), "0 2 * * *") || !strings.Contains(string(raw), "30 3") {
		t.Errorf("planning state %s: want only the new schedule's", raw)
	}
}

func TestBadScheduleDoesNotStopOthers(t *testing.T) {
	s := openStore(t)
	// The store accepts two schedules with one timing; the scheduler
	// cannot plan them (they would always collide).
	apply(t, s, store.Deployment{Name: "a-bad", Schedules: []store.Schedule{{Cron: "0 * * * *"}, {Cron: "0 * * * *"}}})
	apply(t, s, store.Deployment{Name: "b-good", Schedules: []store.Schedule{{Cron: "0 * * * *"}}})
	res, err := New(s, Options{}).Pass(context.Background(), t0)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), `deployment "a-bad"`) || !strings.Contains(res.Errors[0].Error(), "schedules[1]") {
		t.Fatalf("errors %v, want one naming a-bad's schedules[1]", res.Errors)
	}
	if res.Created != 1 || len(runs(t, s, "b-good")) != 1 {
		t.Fatalf("the good deployment was not planned: %+v", res)
	}
}

// TestReplicas runs two schedulers on one store concurrently through a day
// of passes, with a restart in the middle: every slot gets exactly one run.
func TestReplicas(t *testing.T) {
	s := openStore(t)
	for _, name := range []string{"a", "b", "c"} {
		apply(t, s, store.Deployment{Name: name, Schedules: []store.Schedule{{Cron: "*/10 * * * *"}, {Interval: 25 * time.Minute}}})
	}
	scheds := []*Scheduler{New(s, Options{}), New(s, Options{})}
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	for i := range scheds {
		wg.Go(func() {
			for step := range 48 {
				if step == 24 {
					scheds[i] = New(s, Options{}) // restart
				}
				res, err := scheds[i].Pass(context.Background(), t0.Add(time.Duration(step)*30*time.Minute))
				if err == nil && len(res.Errors) > 0 {
					err = errors.Join(res.Errors...)
				}
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b", "c"} {
		rs := runs(t, s, name)
		seen := map[time.Time]bool{}
		for _, r := range rs {
			if seen[r.ScheduledAt] {
				t.Fatalf("deployment %s: two runs at %s", name, r.ScheduledAt)
			}
			seen[r.ScheduledAt] = true
		}
		// Every 10 minutes and every 25 (on the anchor's phase) from 12:07
		// through the last pass (23:37) plus the hour ahead.
		want := 0
		for at := t0; !at.After(t0.Add(47*30*time.Minute + time.Hour)); at = at.Add(time.Minute) {
			if at.Minute()%10 == 0 || at.Sub(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC))%(25*time.Minute) == 0 {
				want++
			}
		}
		if len(rs) != want {
			t.Errorf("deployment %s: %d runs, want %d", name, len(rs), want)
		}
	}
}

func TestReapAndRun(t *testing.T) {
	s := openStore(t)
	apply(t, s, store.Deployment{Name: "inv", Retries: 1, Schedules: []store.Schedule{{Interval: time.Hour}}})
	ctx, cancel := context.WithCancel(context.Background())
	now := t0
	sc := New(s, Options{Interval: time.Millisecond, ReapInterval: time.Millisecond, Now: func() time.Time { return now }})
	done := make(chan error)
	go func() { done <- sc.Run(ctx) }()
	// Run made its first pass at once; wait for its run (bounded poll).
	var rs []store.FlowRun
	for deadline := time.Now().Add(10 * time.Second); len(rs) == 0 && time.Now().Before(deadline); {
		rs = runs(t, s, "inv")
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if len(rs) == 0 {
		t.Fatal("Run created no run")
	}
	run, ok, err := s.ClaimRun(context.Background(), store.Claim{Pool: "default", Worker: "w1", Lease: time.Second, Now: rs[0].ScheduledAt})
	if err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	reaped, err := sc.Reap(context.Background(), rs[0].ScheduledAt.Add(2*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(reaped) != 1 || reaped[0].RunID != run.ID || reaped[0].State.Name != flow.NameAwaitingRetry || reaped[0].Attempt != 2 {
		t.Fatalf("reaped %+v, want run %s awaiting retry, attempt 2", reaped, run.ID)
	}
}

// TestLatePolicyCreatedAhead: a run created ahead that nobody started in
// time (the scheduler and workers were down) is late like the backlog
// planned on restart, and the late policy decides on it too.
func TestLatePolicyCreatedAhead(t *testing.T) {
	tests := []struct {
		policy store.LatePolicy
		want   []string
	}{
		{store.LateRunAll, []string{"13:00 Scheduled", "14:00 Late", "15:00 Late", "16:00 Scheduled"}},
		{store.LateRunLatest, []string{"13:00 Cancelled", "14:00 Cancelled", "15:00 Late", "16:00 Scheduled"}},
		{store.LateSkip, []string{"13:00 Cancelled", "14:00 Cancelled", "15:00 Cancelled", "16:00 Scheduled"}},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			s := openStore(t)
			apply(t, s, store.Deployment{Name: "inv", LatePolicy: tt.policy, Schedules: []store.Schedule{{Cron: "0 * * * *"}}})
			pass(t, New(s, Options{Window: windowNone()}), t0)
			pass(t, New(s, Options{Window: windowNone()}), t0.Add(3*time.Hour+23*time.Minute))
			if got := times(runs(t, s, "inv")); !slices.Equal(got, tt.want) {
				t.Fatalf("runs %q, want %q", got, tt.want)
			}
		})
	}
}
