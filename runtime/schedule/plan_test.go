package schedule

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

func mustCompile(t testing.TB, schedules ...Schedule) *Timetable {
	t.Helper()
	tt, err := Compile(schedules)
	if err != nil {
		t.Fatal(err)
	}
	return tt
}

func mustPlan(t testing.TB, tt *Timetable, in PlanInput) Plan {
	t.Helper()
	p, err := tt.Plan(in)
	if err != nil {
		t.Fatalf("Plan: %v", err)
	}
	return p
}

func times(occ []Occurrence) []time.Time {
	var out []time.Time
	for _, o := range occ {
		out = append(out, o.Time)
	}
	return out
}

func TestPlanIsIdempotent(t *testing.T) {
	tt := mustCompile(t,
		Schedule{Cron: "*/15 * * * *"},
		Schedule{Cron: "0 2 * * *", Timezone: "Europe/Berlin"},
		Schedule{Every: 7 * 24 * time.Hour, Anchor: utc("2026-01-05T06:00:00Z")},
	)
	now := utc("2026-03-10T10:07:00Z")
	in := PlanInput{Now: now, Window: Window{Ahead: time.Hour, AtLeast: 6, Max: 100}}
	first := mustPlan(t, tt, in)
	want := []time.Time{
		utc("2026-03-10T10:15:00Z"), utc("2026-03-10T10:30:00Z"), utc("2026-03-10T10:45:00Z"), utc("2026-03-10T11:00:00Z"),
		utc("2026-03-10T11:15:00Z"), utc("2026-03-10T11:30:00Z"), // six runs: AtLeast extends the window
	}
	if got := times(first.Occurrences); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Fatalf("first plan %v, want %v", got, want)
	}
	in.Through = first.Through
	again := mustPlan(t, tt, in)
	if len(again.Occurrences) != 0 || again.More {
		t.Errorf("planning again with its own output adds %v (more %v), want nothing", times(again.Occurrences), again.More)
	}
	if !slices.EqualFunc(again.Through, first.Through, time.Time.Equal) {
		t.Errorf("Through moved from %v to %v without new runs", first.Through, again.Through)
	}
	// A minute later nothing is due that is not planned; Through stays put,
	// so a steady pass writes nothing.
	in.Now = now.Add(time.Minute)
	later := mustPlan(t, tt, in)
	if len(later.Occurrences) != 0 || !slices.EqualFunc(later.Through, first.Through, time.Time.Equal) {
		t.Errorf("a minute later: %v, through %v; want nothing, unchanged", times(later.Occurrences), later.Through)
	}
}

// TestPlanNeverDuplicatesNorMisses simulates a scheduler through restarts,
// clock jumps both ways and small Max values, storing Through after every
// pass, and checks the runs created against the schedules' own run times.
func TestPlanNeverDuplicatesNorMisses(t *testing.T) {
	schedules := []Schedule{
		{Cron: "*/10 * * * *", Parameters: map[string]any{"s": 0}},
		{Cron: "0 2 * * *", Timezone: "Europe/Berlin", Parameters: map[string]any{"s": 1}},
		{Cron: "30 * * * *", Timezone: "Australia/Lord_Howe"},
		{Every: 25 * time.Minute, Anchor: utc("2026-03-27T00:05:00Z")},
		{Cron: "0 * * * *"}, // coincides with the first schedule every hour
	}
	tt := mustCompile(t, schedules...)
	start := utc("2026-03-27T00:00:00Z") // across Berlin's spring-forward
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 99))
		now := start
		var through []time.Time
		created := make(map[time.Time]Occurrence)
		var highest, begin time.Time
		for pass := range 400 {
			switch r := rng.IntN(20); {
			case r == 0: // down for a while, or the clock jumps forward
				now = now.Add(time.Duration(rng.IntN(10*60)) * time.Minute)
			case r == 1: // the clock jumps back
				now = now.Add(-time.Duration(rng.IntN(3*60)) * time.Minute)
			default:
				now = now.Add(time.Duration(rng.IntN(120)) * time.Second)
			}
			if pass == 0 {
				begin = now // schedules start at the first pass
			}
			w := Window{Ahead: time.Duration(rng.IntN(90)) * time.Minute, AtLeast: rng.IntN(3), Max: 1 + rng.IntN(8)}
			p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: w, Defaults: map[string]any{"d": true}})
			for _, o := range p.Occurrences {
				if prev, dup := created[o.Time]; dup {
					t.Fatalf("seed %d: %v planned twice (schedules %d and %d)", seed, o.Time, prev.Schedule, o.Schedule)
				}
				if o.Late != o.Time.Before(now) {
					t.Fatalf("seed %d: %v late=%v at now %v", seed, o.Time, o.Late, now)
				}
				if o.Parameters["d"] != true || schedules[o.Schedule].Parameters != nil && o.Parameters["s"] != o.Schedule {
					t.Fatalf("seed %d: parameters %v for schedule %d", seed, o.Parameters, o.Schedule)
				}
				created[o.Time] = o
			}
			for i, th := range p.Through {
				if through != nil && th.Before(through[i]) {
					t.Fatalf("seed %d: through[%d] moved back from %v to %v", seed, i, through[i], th)
				}
			}
			through = p.Through
			highest = slices.MaxFunc(append([]time.Time{highest}, through...), time.Time.Compare)
		}
		// Everything each schedule owes from begin to its Through must have
		// been created exactly once, by the lowest index firing then.
		checked := 0
		owner := make(map[time.Time]int)
		for i := len(schedules) - 1; i >= 0; i-- {
			for _, r := range runsBetween(t, schedules[i], begin, through[i].Add(time.Nanosecond)) {
				owner[r.UTC()] = i
				checked++
			}
		}
		for at, i := range owner {
			if o, ok := created[at]; !ok || o.Schedule != i {
				t.Fatalf("seed %d: run at %v of schedule %d missing (got %+v)", seed, at, i, o)
			}
		}
		for at, o := range created {
			if _, ok := owner[at]; !ok {
				sp, _ := Parse(schedules[o.Schedule])
				t.Fatalf("seed %d: run at %v is not a run time of schedule %d (next after %v is %v)", seed, at, o.Schedule, at.Add(-1), sp.Next(at.Add(-1)))
			}
		}
		if checked < 100 {
			t.Fatalf("seed %d: only %d runs checked (highest through %v)", seed, checked, highest)
		}
	}
}

func TestPlanAfterRestartReturnsLateRuns(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "0 * * * *"}, Schedule{Cron: "30 2 * * *"})
	through := []time.Time{utc("2026-05-01T00:00:00Z"), utc("2026-05-01T00:00:00Z")}
	now := utc("2026-05-01T05:20:00Z") // down for five hours
	p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Ahead: time.Hour, Max: 100}})
	type row struct {
		at               string
		schedule         int
		late, lastMissed bool
	}
	var got []row
	for _, o := range p.Occurrences {
		got = append(got, row{o.Time.Format("15:04"), o.Schedule, o.Late, o.LastMissed})
	}
	want := []row{
		{"01:00", 0, true, false}, {"02:00", 0, true, false}, {"02:30", 1, true, true}, {"03:00", 0, true, false},
		{"04:00", 0, true, false}, {"05:00", 0, true, true}, {"06:00", 0, false, false},
	}
	if !slices.Equal(got, want) {
		t.Errorf("plan after restart:\n got %v\nwant %v", got, want)
	}
}

func TestPlanMaxSplitsABacklogExactly(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "*/5 * * * *"}, Schedule{Cron: "2 * * * *"})
	now := utc("2026-05-01T03:00:00Z")
	through := []time.Time{utc("2026-05-01T00:00:00Z"), utc("2026-05-01T00:00:00Z")}
	whole := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Ahead: time.Hour, Max: 1000}})
	var pieces []Occurrence
	for calls := 0; ; calls++ {
		p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Ahead: time.Hour, Max: 7}})
		if len(p.Occurrences) > 7 || calls > 100 {
			t.Fatalf("call %d returned %d occurrences with Max 7", calls, len(p.Occurrences))
		}
		pieces = append(pieces, p.Occurrences...)
		through = p.Through
		if !p.More {
			break
		}
	}
	if whole.More || !reflect.DeepEqual(pieces, whole.Occurrences) {
		t.Errorf("in pieces of 7: %d occurrences, in one call: %d (more %v); want the same", len(pieces), len(whole.Occurrences), whole.More)
	}
	if p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Ahead: time.Hour, Max: 7}}); len(p.Occurrences) != 0 {
		t.Errorf("after the pieces, planning again adds %v", times(p.Occurrences))
	}
}

func TestPlanInactiveAndNewSchedules(t *testing.T) {
	now := utc("2026-05-01T10:10:00Z")
	old := utc("2026-05-01T02:00:00Z")
	paused := mustCompile(t, Schedule{Cron: "0 * * * *", Inactive: true}, Schedule{Cron: "30 * * * *"})
	p := mustPlan(t, paused, PlanInput{Now: now, Through: []time.Time{old, {}}, Window: Window{Ahead: time.Hour, Max: 10}})
	if got := times(p.Occurrences); !slices.EqualFunc(got, []time.Time{utc("2026-05-01T10:30:00Z")}, time.Time.Equal) {
		t.Errorf("inactive schedule: planned %v, want only the new schedule's 10:30 (not late, not from the past)", got)
	}
	if !p.Through[0].IsZero() || !p.Through[1].Equal(now.Add(time.Hour)) {
		t.Errorf("through %v, want [zero, now+1h]", p.Through)
	}
	active := mustCompile(t, Schedule{Cron: "0 * * * *"}, Schedule{Cron: "30 * * * *"})
	p = mustPlan(t, active, PlanInput{Now: now, Through: p.Through, Window: Window{Ahead: time.Hour, Max: 10}})
	if got := times(p.Occurrences); !slices.EqualFunc(got, []time.Time{utc("2026-05-01T11:00:00Z")}, time.Time.Equal) {
		t.Errorf("reactivated: planned %v, want 11:00 only (no catching up)", got)
	}
}

func TestPlanCoincidentSchedules(t *testing.T) {
	tt := mustCompile(t,
		Schedule{Cron: "0 */6 * * *", Parameters: map[string]any{"kind": "inventory"}},
		Schedule{Cron: "0 0 * * *", Parameters: map[string]any{"kind": "full"}},
	)
	p := mustPlan(t, tt, PlanInput{Now: utc("2026-05-01T23:00:00Z"), Window: Window{Ahead: 2 * time.Hour, Max: 10}})
	if len(p.Occurrences) != 1 {
		t.Fatalf("occurrences %+v, want one at midnight", p.Occurrences)
	}
	o := p.Occurrences[0]
	if o.Schedule != 0 || !slices.Equal(o.Coincident, []int{1}) || o.Parameters["kind"] != "inventory" {
		t.Errorf("midnight occurrence %+v, want schedule 0 with schedule 1 coincident", o)
	}
}

func TestPlanBackwardClockJumpPlansNothingTwice(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "*/5 * * * *"})
	now := utc("2026-05-01T12:00:00Z")
	p := mustPlan(t, tt, PlanInput{Now: now, Window: DefaultWindow})
	back := mustPlan(t, tt, PlanInput{Now: now.Add(-3 * time.Hour), Through: p.Through, Window: DefaultWindow})
	if len(back.Occurrences) != 0 || !back.Through[0].Equal(p.Through[0]) {
		t.Errorf("after the clock went back 3h: %v, through %v; want nothing, %v", times(back.Occurrences), back.Through, p.Through)
	}
}

func TestPlanRejectsBadInput(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "* * * * *"})
	now := utc("2026-05-01T12:00:00Z")
	for _, in := range []PlanInput{
		{Now: now, Window: Window{Max: 0}},
		{Now: now, Window: Window{Max: 1, Ahead: -time.Second}},
		{Now: now, Window: Window{Max: 1, AtLeast: -1}},
		{Now: now, Window: DefaultWindow, Through: make([]time.Time, 2)},
		{Window: DefaultWindow},
	} {
		if _, err := tt.Plan(in); err == nil {
			t.Errorf("Plan(%+v) = nil error", in)
		}
	}
	var fe *fielderr.Error
	if _, err := tt.Plan(PlanInput{Now: now}); !errors.As(err, &fe) || fe.Field != "window.max" {
		t.Errorf("zero window: %v, want a fielderr.Error on window.max", err)
	}
}

func TestPlanNewScheduleSkipsInstantsAlreadyPlanned(t *testing.T) {
	now := utc("2026-05-01T10:10:00Z")
	tt := mustCompile(t, Schedule{Cron: "0 * * * *"}, Schedule{Cron: "30 * * * *"}, Schedule{Cron: "0 */2 * * *"})
	// The hourly schedule planned through 13:00 before the other two were added.
	through := []time.Time{utc("2026-05-01T13:00:00Z"), {}, {}}
	p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Ahead: 3 * time.Hour, Max: 100}})
	want := []time.Time{utc("2026-05-01T10:30:00Z"), utc("2026-05-01T11:30:00Z"), utc("2026-05-01T12:30:00Z")}
	if got := times(p.Occurrences); !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("planned %v, want %v (12:00 of the new two-hourly schedule is already planned)", got, want)
	}
	if end := now.Add(3 * time.Hour); !p.Through[1].Equal(end) || !p.Through[2].Equal(end) || !p.Through[0].Equal(through[0]) {
		t.Errorf("through %v, want [unchanged, %v, %v]", p.Through, end, end)
	}
}

// A schedule added during a backlog must not hide the backlog's runs.
func TestPlanNewScheduleDoesNotHideBacklog(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "0 * * * *"}, Schedule{Cron: "0 9-23 * * *"})
	now := utc("2026-05-01T12:00:00Z")
	through := []time.Time{utc("2026-05-01T09:30:00Z"), {}}
	var got []time.Time
	for calls := 0; calls < 10; calls++ {
		p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Max: 1}})
		got = append(got, times(p.Occurrences)...)
		through = p.Through
		if !p.More {
			break
		}
	}
	want := []time.Time{utc("2026-05-01T10:00:00Z"), utc("2026-05-01T11:00:00Z"), utc("2026-05-01T12:00:00Z")}
	if !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("planned %v, want %v", got, want)
	}
}
