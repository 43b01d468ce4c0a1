package schedule

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkSchedulerPass measures one scheduler pass of the pure planning
// over 10,000 deployments whose cron schedules are already planned an hour
// ahead (steady state: a pass adds at most one run per deployment). One op
// is one pass over all deployments; the store is not part of it.
func BenchmarkSchedulerPass(b *testing.B) {
	const deployments = 10_000
	kinds := []Schedule{
		{Cron: "*/5 * * * *"},
		{Cron: "0 2 * * *", Timezone: "Europe/Berlin"},
		{Cron: "0 */6 * * *", Timezone: "America/New_York"},
		{Cron: "15 * * * *", Timezone: "Australia/Lord_Howe"},
		{Cron: "30 7 * * mon-fri", Timezone: "Asia/Tokyo"},
	}
	type deployment struct {
		tt       *Timetable
		through  []time.Time
		defaults map[string]any
	}
	ds := make([]deployment, deployments)
	now := utc("2026-03-28T22:00:00Z") // the passes run into Berlin's spring-forward
	window := Window{Ahead: time.Hour, AtLeast: 1, Max: 100}
	policy := LatePolicy{Mode: LateRunLatest, Grace: time.Minute}
	for i := range ds {
		s := kinds[i%len(kinds)]
		s.Parameters = map[string]any{"schedule": i % len(kinds)}
		tt, err := Compile([]Schedule{s})
		if err != nil {
			b.Fatal(err)
		}
		ds[i] = deployment{tt: tt, defaults: map[string]any{"deployment": fmt.Sprint(i)}}
		p := mustPlan(b, tt, PlanInput{Now: now, Window: window, Defaults: ds[i].defaults})
		ds[i].through = p.Through
	}
	var planned, runs int
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(10 * time.Second)
		for i := range ds {
			d := &ds[i]
			p, err := d.tt.Plan(PlanInput{Now: now, Through: d.through, Defaults: d.defaults, Window: window})
			if err != nil {
				b.Fatal(err)
			}
			if len(p.Occurrences) > 1 || p.More {
				b.Fatalf("deployment %d: %d runs in one pass, want at most 1 in steady state", i, len(p.Occurrences))
			}
			run, skipped := policy.Apply(p.Occurrences, now)
			if len(skipped) != 0 {
				b.Fatalf("deployment %d: skipped %d runs in steady state", i, len(skipped))
			}
			runs += len(run)
			d.through = p.Through
			planned++
		}
	}
	b.StopTimer()
	if planned != deployments*b.N {
		b.Fatalf("planned %d deployments, want %d", planned, deployments*b.N)
	}
	b.ReportMetric(float64(runs)/float64(b.N), "runs/pass")
}
