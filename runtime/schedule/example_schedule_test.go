package schedule_test

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/netauto-dev/netauto/runtime/schedule"
)

// A daily config backup at 02:00 Berlin time. On 29 March 2026 02:00 does
// not exist (clocks jump to 03:00), so that day's run is at 03:00.
func ExampleSpec_Next() {
	sp, err := schedule.Parse(schedule.Schedule{Cron: "0 2 * * *", Timezone: "Europe/Berlin"})
	if err != nil {
		fmt.Println(err)
		return
	}
	at := time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC)
	for range 3 {
		at = sp.Next(at)
		fmt.Println(at.Format("Mon 2006-01-02 15:04 MST"), "=", at.UTC().Format("15:04Z"))
	}
	// Output:
	// Sat 2026-03-28 02:00 CET = 01:00Z
	// Sun 2026-03-29 03:00 CEST = 01:00Z
	// Mon 2026-03-30 02:00 CEST = 00:00Z
}

// Interval schedules: exact elapsed time from an anchor, or, with a time
// zone and a whole number of days, the anchor's wall-clock time.
func ExampleSpec_Next_interval() {
	inventory, _ := schedule.Parse(schedule.Schedule{
		Every:  6 * time.Hour,
		Anchor: time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC),
	})
	at := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	fmt.Println("inventory:", inventory.Next(at).Format(time.RFC3339))

	ny, _ := time.LoadLocation("America/New_York")
	report, _ := schedule.Parse(schedule.Schedule{
		Every:    24 * time.Hour,
		Timezone: "America/New_York",
		Anchor:   time.Date(2026, 3, 6, 9, 0, 0, 0, ny),
	})
	at = time.Date(2026, 3, 6, 15, 0, 0, 0, time.UTC)
	for range 3 {
		at = report.Next(at)
		fmt.Println("report:", at.Format("2006-01-02 15:04 MST"))
	}
	// Output:
	// inventory: 2026-05-01T15:00:00Z
	// report: 2026-03-07 09:00 EST
	// report: 2026-03-08 09:00 EDT
	// report: 2026-03-09 09:00 EDT
}

// Validation names the field, with the schedule's index.
func ExampleCompile() {
	_, err := schedule.Compile([]schedule.Schedule{
		{Cron: "0 */6 * * *"},
		{Cron: "0 2 * * *", Timezone: "Europe/Berln"},
	})
	fmt.Println(err)

	var s schedule.Schedule
	err = json.Unmarshal([]byte(`{"cron":"0 2 * *","timezone":"Europe/Berlin"}`), &s)
	fmt.Println(err, "|", s.Validate())
	// Output:
	// schedules[1].timezone: unknown time zone "Europe/Berln"
	// <nil> | cron: expected 5 fields, found 4
}

// One scheduler pass for one deployment after five hours of downtime: the
// missed runs come back late, the policy keeps the latest, and Through is
// what to store with the new runs.
func ExampleTimetable_Plan() {
	tt, err := schedule.Compile([]schedule.Schedule{
		{Cron: "0 */2 * * *", Parameters: map[string]any{"kind": "inventory"}},
		{Cron: "30 4 * * *", Parameters: map[string]any{"kind": "backup"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	now := time.Date(2026, 5, 1, 5, 10, 0, 0, time.UTC)
	stored := time.Date(2026, 5, 1, 0, 10, 0, 0, time.UTC) // planned through, before the outage
	plan, err := tt.Plan(schedule.PlanInput{
		Now:      now,
		Through:  []time.Time{stored, stored},
		Defaults: map[string]any{"site": "fra1", "kind": "none"},
		Window:   schedule.Window{Ahead: time.Hour, AtLeast: 1, Max: 100},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	run, skipped := schedule.LatePolicy{Mode: schedule.LateRunLatest}.Apply(plan.Occurrences, now)
	for _, o := range run {
		fmt.Println("run ", o.Time.Format("15:04"), o.Parameters, "late:", o.Late)
	}
	for _, o := range skipped {
		fmt.Println("skip", o.Time.Format("15:04"), o.Parameters["kind"])
	}
	fmt.Println("store through:", plan.Through[0].Format("15:04"), plan.Through[1].Format("15:04"))
	// Output:
	// run  04:00 map[kind:inventory site:fra1] late: true
	// run  04:30 map[kind:backup site:fra1] late: true
	// run  06:00 map[kind:inventory site:fra1] late: false
	// skip 02:00 inventory
	// store through: 06:10 06:10
}

// Parameters of a run, lowest precedence first.
func ExampleMergeParameters() {
	params := schedule.MergeParameters(
		map[string]any{"site": "fra1", "options": map[string]any{"diff": true, "commit": true}}, // deployment
		map[string]any{"options": map[string]any{"diff": false}},                                // schedule
		map[string]any{"node": "n-17"},                                                          // event
		nil,                                                                                     // run request
	)
	out, _ := json.Marshal(params)
	fmt.Println(string(out))
	// Output:
	// {"node":"n-17","options":{"diff":false},"site":"fra1"}
}
