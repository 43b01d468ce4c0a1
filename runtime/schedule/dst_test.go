package schedule

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/robfig/cron/v3"
)

// runsBetween lists the run times of s in [from, to).
func runsBetween(t *testing.T, s Schedule, from, to time.Time) []time.Time {
	t.Helper()
	sp, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%+v): %v", s, err)
	}
	var out []time.Time
	for at := sp.Next(from.Add(-time.Nanosecond)); !at.IsZero() && at.Before(to); at = sp.Next(at) {
		if n := len(out); n > 0 && !at.After(out[n-1]) {
			t.Fatalf("Next(%v) = %v: not after the previous run", out[n-1], at)
		}
		out = append(out, at)
	}
	return out
}

// byLocalDate groups runs by their calendar date in loc.
func byLocalDate(runs []time.Time, loc *time.Location) map[string][]time.Time {
	m := make(map[string][]time.Time)
	for _, r := range runs {
		d := r.In(loc).Format(time.DateOnly)
		m[d] = append(m[d], r)
	}
	return m
}

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// TestFixedTimeRunsOncePerDay checks fixed-time jobs on every calendar day
// of 2026, including the days clocks change: a time in the spring-forward
// gap runs at the end of the gap, a time repeated at fall-back runs at its
// first occurrence, and no day has more or fewer runs than its times.
func TestFixedTimeRunsOncePerDay(t *testing.T) {
	tests := []struct {
		cron, zone string
		wall       []string               // local hh:mm of the runs on an ordinary day
		special    map[string][]time.Time // local date → exact runs on that day
	}{
		{"0 2 * * *", "Europe/Berlin", []string{"02:00"}, map[string][]time.Time{
			"2026-03-29": {utc("2026-03-29T01:00:00Z")}, // 02:00 CET does not exist → 03:00 CEST
			"2026-10-25": {utc("2026-10-25T00:00:00Z")}, // 02:00 occurs twice → first, CEST
		}},
		{"30 2 * * *", "Europe/Berlin", []string{"02:30"}, map[string][]time.Time{
			"2026-03-29": {utc("2026-03-29T01:00:00Z")},
			"2026-10-25": {utc("2026-10-25T00:30:00Z")},
		}},
		{"0,30 2 * * *", "Europe/Berlin", []string{"02:00", "02:30"}, map[string][]time.Time{
			"2026-03-29": {utc("2026-03-29T01:00:00Z")}, // both in the gap: one run
			"2026-10-25": {utc("2026-10-25T00:00:00Z"), utc("2026-10-25T00:30:00Z")},
		}},
		{"0 2,3 * * *", "Europe/Berlin", []string{"02:00", "03:00"}, map[string][]time.Time{
			"2026-03-29": {utc("2026-03-29T01:00:00Z")}, // gap end and 03:00 coincide
			"2026-10-25": {utc("2026-10-25T00:00:00Z"), utc("2026-10-25T02:00:00Z")},
		}},
		{"30 2 * * *", "America/New_York", []string{"02:30"}, map[string][]time.Time{
			"2026-03-08": {utc("2026-03-08T07:00:00Z")}, // → 03:00 EDT
			"2026-11-01": {utc("2026-11-01T07:30:00Z")}, // 02:30 EST: not repeated (01:00–02:00 is)
		}},
		{"30 1 * * *", "America/New_York", []string{"01:30"}, map[string][]time.Time{
			"2026-11-01": {utc("2026-11-01T05:30:00Z")}, // first 01:30, EDT
		}},
		{"0 2 * * *", "Australia/Lord_Howe", []string{"02:00"}, map[string][]time.Time{
			"2026-10-04": {utc("2026-10-03T15:30:00Z")}, // 02:00 +10:30 → 02:30 +11
			"2026-04-05": {utc("2026-04-04T15:30:00Z")}, // 02:00 +10:30, once
		}},
		{"45 1 * * *", "Australia/Lord_Howe", []string{"01:45"}, map[string][]time.Time{
			"2026-04-05": {utc("2026-04-04T14:45:00Z")}, // 01:45 +11, the first of two
		}},
		{"0 2 * * *", "Asia/Kolkata", []string{"02:00"}, nil},
		{"@daily", "America/Sao_Paulo", []string{"00:00"}, nil},
		// Cuba changes at midnight: 00:00 is skipped in March, repeated in November.
		{"@daily", "America/Havana", []string{"00:00"}, map[string][]time.Time{
			"2026-03-08": {utc("2026-03-08T05:00:00Z")}, // → 01:00 CDT
			"2026-11-01": {utc("2026-11-01T04:00:00Z")}, // first 00:00, CDT
		}},
		{"0 */6 * * *", "Europe/Berlin", []string{"00:00", "06:00", "12:00", "18:00"}, nil},
		{"0 */6 * * *", "America/New_York", []string{"00:00", "06:00", "12:00", "18:00"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cron+" "+tt.zone, func(t *testing.T) {
			loc, err := time.LoadLocation(tt.zone)
			if err != nil {
				t.Fatal(err)
			}
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			runs := byLocalDate(runsBetween(t, Schedule{Cron: tt.cron, Timezone: tt.zone}, from, from.AddDate(1, 0, 0)), loc)
			days := 0
			// Walk calendar dates in UTC: local midnights may not exist.
			for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() == 2026; d = d.AddDate(0, 0, 1) {
				days++
				date := d.Format(time.DateOnly)
				got := runs[date]
				if want, ok := tt.special[date]; ok {
					if !slices.EqualFunc(got, want, time.Time.Equal) {
						t.Errorf("%s: runs %v, want %v", date, got, want)
					}
					continue
				}
				var walls []string
				for _, r := range got {
					walls = append(walls, r.In(loc).Format("15:04"))
				}
				if !slices.Equal(walls, tt.wall) {
					t.Errorf("%s: runs at %v, want %v", date, walls, tt.wall)
				}
			}
			if days != 365 || len(runs) != 365 {
				t.Errorf("%d days with runs of %d days, want 365 of 365", len(runs), days)
			}
		})
	}
}

// TestWildcardJobsFollowRealTime checks that jobs with a wildcard minute or
// hour run at every instant whose wall clock matches: no duplicates, and no
// holes beyond the readings a gap removes.
func TestWildcardJobsFollowRealTime(t *testing.T) {
	tests := []struct {
		cron, zone string
		steps      map[time.Duration]int // distances between consecutive runs over 2026, counted
		perDay     map[string]int        // runs on the change days
	}{
		{"*/15 * * * *", "Europe/Berlin",
			map[time.Duration]int{15 * time.Minute: 365*96 - 1},
			map[string]int{"2026-03-29": 92, "2026-10-25": 100}},
		{"0 * * * *", "Europe/Berlin",
			map[time.Duration]int{time.Hour: 365*24 - 1},
			map[string]int{"2026-03-29": 23, "2026-10-25": 25, "2026-07-01": 24}},
		{"0 */6 * * *", "Europe/Berlin",
			map[time.Duration]int{6 * time.Hour: 365*4 - 3, 5 * time.Hour: 1, 7 * time.Hour: 1},
			map[string]int{"2026-03-29": 4, "2026-10-25": 4}},
		// Lord Howe shifts by 30 minutes at 02:00: the hourly 02:00 run is
		// skipped in October and the wall clock never reads 02:00 +11 in April.
		{"0 * * * *", "Australia/Lord_Howe",
			map[time.Duration]int{time.Hour: 365*24 - 4, 90 * time.Minute: 2},
			map[string]int{"2026-10-04": 23, "2026-04-05": 24}},
		// 01:30 and 01:45 are read twice on 5 April: both readings run.
		{"*/15 1 * * *", "Australia/Lord_Howe", nil,
			map[string]int{"2026-04-05": 6, "2026-04-06": 4}},
		{"*/30 * * * *", "Asia/Kolkata",
			map[time.Duration]int{30 * time.Minute: 365*48 - 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.cron+" "+tt.zone, func(t *testing.T) {
			loc, _ := time.LoadLocation(tt.zone)
			from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
			runs := runsBetween(t, Schedule{Cron: tt.cron, Timezone: tt.zone}, from, from.AddDate(1, 0, 0))
			if tt.steps != nil {
				steps := make(map[time.Duration]int)
				for i := 1; i < len(runs); i++ {
					steps[runs[i].Sub(runs[i-1])]++
				}
				if fmt.Sprint(steps) != fmt.Sprint(tt.steps) {
					t.Errorf("distances between runs %v, want %v", steps, tt.steps)
				}
			}
			days := byLocalDate(runs, loc)
			for d, n := range tt.perDay {
				if len(days[d]) != n {
					t.Errorf("%s: %d runs %v, want %d", d, len(days[d]), days[d], n)
				}
			}
		})
	}
}

func TestDayIntervalInZoneMatchesDailyCron(t *testing.T) {
	loc, _ := time.LoadLocation("Europe/Berlin")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	to := from.AddDate(1, 0, 0)
	interval := runsBetween(t, Schedule{Every: 24 * time.Hour, Timezone: "Europe/Berlin", Anchor: time.Date(2025, 12, 1, 2, 0, 0, 0, loc)}, from, to)
	daily := runsBetween(t, Schedule{Cron: "0 2 * * *", Timezone: "Europe/Berlin"}, from, to)
	if !slices.EqualFunc(interval, daily, time.Time.Equal) {
		t.Errorf("every 24h in Europe/Berlin: %d runs, want the %d of 0 2 * * *", len(interval), len(daily))
	}
	twoDays := runsBetween(t, Schedule{Every: 48 * time.Hour, Timezone: "Europe/Berlin", Anchor: time.Date(2026, 1, 1, 2, 0, 0, 0, loc)}, from, to)
	for i, r := range twoDays {
		if w := r.In(loc).Format("15:04"); w != "02:00" {
			t.Errorf("every 48h: run %v at %s, want 02:00", r, w)
		}
		if i > 0 && r.In(loc).YearDay()-twoDays[i-1].In(loc).YearDay() != 2 {
			t.Errorf("every 48h: run %v follows %v", r, twoDays[i-1])
		}
	}
	if len(twoDays) != 183 {
		t.Errorf("every 48h: %d runs in 2026, want 183", len(twoDays))
	}
}

func TestIntervalIsElapsedTime(t *testing.T) {
	anchor := utc("2026-01-01T01:00:00Z")
	runs := runsBetween(t, Schedule{Every: 24 * time.Hour, Anchor: anchor}, anchor, anchor.AddDate(1, 0, 0))
	for i := 1; i < len(runs); i++ {
		if d := runs[i].Sub(runs[i-1]); d != 24*time.Hour {
			t.Fatalf("run %d: %v after the previous, want 24h", i, d)
		}
	}
	if len(runs) != 365 {
		t.Errorf("%d runs, want 365", len(runs))
	}
	sp, _ := Parse(Schedule{Every: 90 * time.Minute, Anchor: utc("2026-06-01T00:00:10.5Z")})
	for _, tt := range []struct{ after, want string }{
		{"2020-01-01T00:00:00Z", "2026-06-01T00:00:10.5Z"}, // before the anchor: the anchor
		{"2026-06-01T00:00:10.5Z", "2026-06-01T01:30:10.5Z"},
		{"2026-06-01T01:30:10.4Z", "2026-06-01T01:30:10.5Z"},
		{"2027-06-01T00:00:00Z", "2027-06-01T00:00:10.5Z"}, // 365 days are 5840 intervals
	} {
		after, _ := time.Parse(time.RFC3339Nano, tt.after)
		want, _ := time.Parse(time.RFC3339Nano, tt.want)
		if got := sp.Next(after); !got.Equal(want) {
			t.Errorf("Next(%s) = %v, want %v", tt.after, got, want)
		}
	}
	def, _ := Parse(Schedule{Every: 15 * time.Minute})
	if got := def.Next(utc("2026-05-05T10:07:00Z")); !got.Equal(utc("2026-05-05T10:15:00Z")) {
		t.Errorf("without anchor, Next(10:07) = %v, want 10:15 (phase of 2000-01-01)", got)
	}
}

// TestISCDayMatching: a day-of-month or day-of-week field starting with *
// makes a day match both fields; otherwise either (ISC/Vixie cron).
func TestISCDayMatching(t *testing.T) {
	from := utc("2026-01-01T00:00:00Z")
	tests := []struct {
		cron  string
		match func(time.Time) bool
	}{
		{"0 0 */2 * 1", func(d time.Time) bool { return d.Day()%2 == 1 && d.Weekday() == time.Monday }},
		{"0 0 1,15 * 1", func(d time.Time) bool { return d.Day() == 1 || d.Day() == 15 || d.Weekday() == time.Monday }},
		{"0 0 ? * fri", func(d time.Time) bool { return d.Weekday() == time.Friday }},
		{"0 0 13 * */7", func(d time.Time) bool { return d.Day() == 13 && d.Weekday() == time.Sunday }},
	}
	for _, tt := range tests {
		var want []time.Time
		for d := from; d.Year() == 2026; d = d.AddDate(0, 0, 1) {
			if tt.match(d) {
				want = append(want, d)
			}
		}
		if got := runsBetween(t, Schedule{Cron: tt.cron}, from, from.AddDate(1, 0, 0)); !slices.EqualFunc(got, want, time.Time.Equal) {
			t.Errorf("%s: %d runs, want %d", tt.cron, len(got), len(want))
		}
	}
}

// TestAgreesWithRobfigWithoutDaylightSaving compares random expressions with
// robfig/cron's own Next in zones without daylight saving, where the two
// must agree (the expressions avoid */n in the day fields, which robfig
// treats differently from ISC cron).
func TestAgreesWithRobfigWithoutDaylightSaving(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 7))
	pick := func(choices ...string) string { return choices[rng.IntN(len(choices))] }
	num := func(lo, hi int) string { return fmt.Sprint(lo + rng.IntN(hi-lo+1)) }
	for range 300 {
		expr := strings.Join([]string{
			pick("*", "*/7", num(0, 59), num(0, 29)+"-"+num(30, 59), num(0, 59)+","+num(0, 59), "5/20"),
			pick("*", "*/5", num(0, 23), num(0, 11)+"-"+num(12, 23)+"/3"),
			pick("*", num(1, 31), num(1, 14)+"-"+num(15, 28), "1,15"),
			pick("*", num(1, 12), "jan-jun", "*/4"),
			pick("*", num(0, 6), "mon-fri", "sat,sun"),
		}, " ")
		for _, zone := range []string{"UTC", "Asia/Kolkata", "Asia/Kathmandu"} {
			loc, _ := time.LoadLocation(zone)
			ref, err := cron.ParseStandard(expr)
			if err != nil {
				t.Fatalf("robfig rejects %q: %v", expr, err)
			}
			ref.(*cron.SpecSchedule).Location = loc
			at := utc("2026-01-01T00:00:00Z")
			sp, err := Parse(Schedule{Cron: expr, Timezone: zone})
			if err != nil {
				if !strings.Contains(err.Error(), "never occurs") || !ref.Next(at).IsZero() {
					t.Fatalf("Parse(%q): %v; robfig's next run is %v", expr, err, ref.Next(at))
				}
				continue
			}
			for range 50 {
				got, want := sp.Next(at), ref.Next(at)
				if !got.Equal(want) {
					t.Fatalf("%q in %s: Next(%v) = %v, robfig says %v", expr, zone, at, got, want)
				}
				if got.IsZero() {
					break
				}
				at = got
			}
		}
	}
}

// TestNextFromAnyInstant checks that Next from any instant, including ones
// inside a repeated hour, agrees with the runs enumerated from the start of
// the year: the answer never depends on where the caller resumes.
func TestNextFromAnyInstant(t *testing.T) {
	cases := []Schedule{
		{Cron: "0 2 * * *", Timezone: "Europe/Berlin"},
		{Cron: "0,30 2 * * *", Timezone: "Europe/Berlin"},
		{Cron: "*/15 * * * *", Timezone: "Europe/Berlin"},
		{Cron: "30 1 * * *", Timezone: "America/New_York"},
		{Cron: "*/10 1-2 * * *", Timezone: "America/New_York"},
		{Cron: "0 2 * * *", Timezone: "Australia/Lord_Howe"},
		{Cron: "0 * * * *", Timezone: "Australia/Lord_Howe"},
		{Every: 24 * time.Hour, Timezone: "Australia/Lord_Howe", Anchor: utc("2026-01-01T15:15:00Z")},
	}
	from, to := utc("2026-03-01T00:00:00Z"), utc("2026-11-15T00:00:00Z")
	changes := []time.Time{ // around the 2026 changes of the zones above
		utc("2026-03-08T04:00:00Z"), utc("2026-03-29T00:00:00Z"), utc("2026-04-04T13:00:00Z"),
		utc("2026-10-03T14:00:00Z"), utc("2026-10-24T23:00:00Z"), utc("2026-11-01T04:00:00Z"),
	}
	for _, s := range cases {
		sp, _ := Parse(s)
		runs := runsBetween(t, s, from, to)
		check := func(after time.Time) {
			i, _ := slices.BinarySearchFunc(runs, after, func(r, a time.Time) int {
				if r.After(a) {
					return 1
				}
				return -1
			})
			if got := sp.Next(after); i < len(runs) && !got.Equal(runs[i]) {
				t.Fatalf("%s %s: Next(%v) = %v, want %v", s.Cron, s.Timezone, after, got, runs[i])
			}
		}
		for _, c := range changes {
			for d := time.Duration(0); d < 5*time.Hour; d += 7*time.Minute + 30*time.Second {
				check(c.Add(d))
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for range 500 {
			check(from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)) - int64(48*time.Hour)))))
		}
	}
}
