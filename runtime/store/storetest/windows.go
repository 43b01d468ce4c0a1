package storetest

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/flow"
	"github.com/netauto-dev/netauto/runtime/store"
	"github.com/netauto-dev/netauto/runtime/window"
)

// testClock is a settable clock for the store's own timestamps.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

func overriderOf(t *testing.T, s store.Store) store.WindowOverrider {
	t.Helper()
	o, ok := store.As[store.WindowOverrider](s)
	if !ok {
		t.Fatalf("%T does not implement store.WindowOverrider (change windows)", s)
	}
	return o
}

// nightly is a calendar with one window a day, 22:00-24:00 UTC.
var nightly = &window.Calendar{Windows: []window.Window{{Name: "nightly", Start: "0 22 * * *", Duration: 2 * time.Hour}}}

// testWindows: a run created outside its deployment's window waits
// (AwaitingWindow, due at the opening) and is claimed once the window
// opens; a freeze added later holds a run already scheduled, at claim;
// an override with a reason lets it start and is recorded; one without a
// reason is refused; deployments without a calendar are not affected.
func testWindows(t *testing.T, o Opener) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: day.Add(12 * time.Hour)}
	s := openWith(t, o(t), store.Options{Key: Key(t), Now: clock.Now})
	ov := overriderOf(t, s)
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "chg", Calendar: nightly})
	deploy(t, s, store.Deployment{Name: "free"})

	// Outside the window: held, due when it opens.
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "chg"}))
	if run.State.Name != flow.NameAwaitingWindow || !run.ScheduledAt.Equal(day.Add(22*time.Hour)) {
		t.Fatalf("created outside the window: %s due %s, want AwaitingWindow due 22:00", run.State, run.ScheduledAt)
	}
	if !strings.Contains(run.State.Message, "outside every change window") || !strings.Contains(run.State.Message, "nightly") {
		t.Errorf("message %q does not say why and which window", run.State.Message)
	}
	free, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "free"}))
	if free.State.Name != flow.NameScheduled {
		t.Fatalf("run without a calendar: %s", free.State)
	}
	// Only the run without a calendar is claimed before 22:00.
	if got, ok := claim(t, s, "w1", day.Add(21*time.Hour)); !ok || got.ID != free.ID {
		t.Fatalf("claim before the window: %v %s, want the free run", ok, got.ID)
	}
	if _, ok := claim(t, s, "w1", day.Add(21*time.Hour+59*time.Minute)); ok {
		t.Fatal("claimed a run outside its window")
	}
	clock.Set(day.Add(22 * time.Hour))
	got, ok := claim(t, s, "w1", day.Add(22*time.Hour))
	if !ok || got.ID != run.ID || got.State.Type != flow.TypePending {
		t.Fatalf("claim when the window opens: %v %+v", ok, got.State)
	}

	// Inside the window: Scheduled as usual. A freeze added meanwhile
	// holds it at claim, until the freeze ends inside the window.
	clock.Set(day.Add(22*time.Hour + 10*time.Minute))
	held, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "chg"}))
	if held.State.Name != flow.NameScheduled {
		t.Fatalf("created inside the window: %s", held.State)
	}
	frozen := *nightly
	frozen.Freezes = []window.Freeze{{Name: "incident", Start: "2026-06-01T22:00", End: "2026-06-01T23:30", Reason: "core outage"}}
	deploy(t, s, store.Deployment{Name: "chg", Calendar: &frozen})
	if _, ok := claim(t, s, "w1", day.Add(22*time.Hour+20*time.Minute)); ok {
		t.Fatal("claimed a run during a freeze")
	}
	held = must(s.GetRun(ctx(t), held.ID))
	if held.State.Name != flow.NameAwaitingWindow || !held.ScheduledAt.Equal(day.Add(23*time.Hour+30*time.Minute)) ||
		!strings.Contains(held.State.Message, "frozen by incident: core outage") {
		t.Fatalf("frozen run: %s due %s", held.State, held.ScheduledAt)
	}

	// Override: a reason is required; then it starts at once, and its
	// history says who and why.
	_, err := ov.OverrideWindow(ctx(t), held.ID, "alice", "  ")
	wantInvalid(t, err, "reason")
	if _, err := ov.OverrideWindow(ctx(t), free.ID, "alice", "because"); !errors.Is(err, store.ErrNotAwaitingWindow) {
		t.Fatalf("override of a run not waiting: %v", err)
	}
	over := must(ov.OverrideWindow(ctx(t), held.ID, "alice", "P1 fix, approved by CAB"))
	if over.State.Name != flow.NameWindowOverridden {
		t.Fatalf("overridden: %s", over.State)
	}
	got, ok = claim(t, s, "w1", day.Add(22*time.Hour+21*time.Minute))
	if !ok || got.ID != held.ID {
		t.Fatalf("overridden run not claimed in the freeze: %v %s", ok, got.ID)
	}
	hist := must(s.RunHistory(ctx(t), held.ID))
	var names []string
	recorded := false
	for _, h := range hist {
		names = append(names, h.Name)
		recorded = recorded || strings.Contains(h.Message, "overridden by alice: P1 fix, approved by CAB")
	}
	if want := "Scheduled AwaitingWindow WindowOverridden Pending"; strings.Join(names, " ") != want || !recorded {
		t.Fatalf("history %v (override recorded: %v), want %s", names, recorded, want)
	}

	// The freeze is lifted by a new calendar: a run it held is due at once.
	clock.Set(day.Add(22*time.Hour + 25*time.Minute))
	again, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "chg"}))
	if again.State.Name != flow.NameAwaitingWindow || !again.ScheduledAt.Equal(day.Add(23*time.Hour+30*time.Minute)) {
		t.Fatalf("created in the freeze: %s due %s", again.State, again.ScheduledAt)
	}
	deploy(t, s, store.Deployment{Name: "chg", Calendar: nightly})
	if got, ok := claim(t, s, "w1", day.Add(22*time.Hour+25*time.Minute)); !ok || got.ID != again.ID {
		t.Fatalf("not claimed once the freeze was lifted: %v %s", ok, got.ID)
	}

	// A bad calendar is refused at apply, naming the field.
	_, err = s.ApplyDeployment(ctx(t), store.Deployment{Name: "bad", Flow: "f", Pool: "default",
		Calendar: &window.Calendar{Windows: []window.Window{{Start: "0 22 * * *"}}}})
	wantInvalid(t, err, "calendar.windows[0].duration")
}

// testWindowsBlock: a deployment's calendar may live in a config block
// (ops edit it without a redeploy); a missing block holds the runs (fail
// closed) until it exists.
func testWindowsBlock(t *testing.T, o Opener) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: day.Add(12 * time.Hour)}
	s := openWith(t, o(t), store.Options{Key: Key(t), Now: clock.Now})
	pool(t, s, "default")
	deploy(t, s, store.Deployment{Name: "env", Calendar: &window.Calendar{Block: "netauto-config-production"}})
	run, _ := must2(s.CreateRun(ctx(t), store.RunSpec{Deployment: "env"}))
	if run.State.Name != flow.NameAwaitingWindow || !strings.Contains(run.State.Message, "does not exist") {
		t.Fatalf("missing block: %s", run.State)
	}
	cal, _ := json.Marshal(map[string]any{store.CalendarMember: window.Calendar{Freezes: []window.Freeze{{Name: "summer", Start: "2026-06-01", End: "2026-06-02"}}}})
	check(t, s.SaveBlock(ctx(t), store.Block{Name: "netauto-config-production", Data: cal}))
	if _, ok := claim(t, s, "w1", run.ScheduledAt); ok {
		t.Fatal("claimed a run in the block's freeze")
	}
	run = must(s.GetRun(ctx(t), run.ID))
	if !run.ScheduledAt.Equal(day.AddDate(0, 0, 2)) || !strings.Contains(run.State.Message, "summer") {
		t.Fatalf("held by the block's freeze: %s due %s", run.State, run.ScheduledAt)
	}
	// Ops end the freeze early by editing the block (at 13:00): the run
	// is due again, and claimed at once.
	clock.Set(day.Add(13 * time.Hour))
	check(t, s.SaveBlock(ctx(t), store.Block{Name: "netauto-config-production", Data: json.RawMessage(`{"change_calendar": {}}`)}))
	if got, ok := claim(t, s, "w1", day.Add(13*time.Hour)); !ok || got.ID != run.ID {
		t.Fatalf("not claimed once the block's freeze is gone: %v", ok)
	}
}

// testWindowsPlanned: runs a schedule plans outside the window wait for
// it too (compared by their occurrence, not their new due time, when a
// new generation replans them), and go with their deployment.
func testWindowsPlanned(t *testing.T, o Opener) {
	day := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	clock := &testClock{t: day.Add(12 * time.Hour)}
	s := openWith(t, o(t), store.Options{Key: Key(t), Now: clock.Now})
	pool(t, s, "default")
	sched := []store.Schedule{{Cron: "0 * * * *"}}
	deploy(t, s, store.Deployment{Name: "d", Schedules: sched, Calendar: nightly})
	spec := func(h int) store.RunSpec {
		return store.RunSpec{Deployment: "d", State: flow.Scheduled(day.Add(time.Duration(h) * time.Hour)), Origin: store.Origin{Kind: store.OriginSchedule, Schedules: []string{"A"}}}
	}
	res := must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: "d", Generation: 1, ReplanFrom: day.Add(12 * time.Hour),
		Through: map[string]time.Time{"A": day.Add(22 * time.Hour)}, Runs: []store.RunSpec{spec(13), spec(22)}}}))
	if res[0].Err != nil || len(res[0].Created) != 2 {
		t.Fatalf("plan = %+v", res)
	}
	early, late := must(s.GetRun(ctx(t), res[0].Created[0])), must(s.GetRun(ctx(t), res[0].Created[1]))
	if early.State.Name != flow.NameAwaitingWindow || !early.ScheduledAt.Equal(day.Add(22*time.Hour)) || late.State.Name != flow.NameScheduled {
		t.Fatalf("planned runs: 13:00 %s due %s; 22:00 %s", early.State, early.ScheduledAt, late.State)
	}
	// A new generation replans from 12:00: the held 13:00 occurrence is
	// replaced like any planned run that did not start.
	deploy(t, s, store.Deployment{Name: "d", Schedules: sched, Calendar: nightly, Parameters: json.RawMessage(`{"v":2}`)})
	res = must(s.PlanSchedules(ctx(t), []store.SchedulePlan{{Deployment: "d", Expect: map[string]time.Time{"A": day.Add(22 * time.Hour)},
		ExpectGeneration: 1, Generation: 2, ReplanFrom: day.Add(12 * time.Hour),
		Through: map[string]time.Time{"A": day.Add(22 * time.Hour)}, Runs: []store.RunSpec{spec(13), spec(22)}}}))
	if res[0].Err != nil || len(res[0].Deleted) != 2 || len(res[0].Created) != 2 {
		t.Fatalf("replan = %+v", res)
	}
	for range 2 {
		if _, ok := claim(t, s, "w", day.Add(22*time.Hour)); !ok {
			t.Fatal("a replanned run was not claimed when the window opened")
		}
	}
	check(t, s.DeleteDeployment(ctx(t), "d"))
}
