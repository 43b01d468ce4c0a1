package schedule

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

func TestCompileErrorsNameTheField(t *testing.T) {
	tests := []struct {
		name      string
		schedules []Schedule
		want      string
	}{
		{"four fields", []Schedule{{Cron: "0 2 * * *"}, {Cron: "0 2 * *"}}, "schedules[1].cron: expected 5 fields, found 4"},
		{"six fields", []Schedule{{Cron: "0 0 2 * * *"}}, "schedules[0].cron: expected 5 fields, found 6"},
		{"unknown zone", []Schedule{{Cron: "0 2 * * *", Timezone: "Europe/Berln"}}, `schedules[0].timezone: unknown time zone "Europe/Berln"`},
		{"local zone", []Schedule{{Cron: "0 2 * * *", Timezone: "Local"}}, `schedules[0].timezone: "Local" depends on the host`},
		{"hour out of range", []Schedule{{Cron: "0 24 * * *"}}, `schedules[0].cron: hour field "24": end of range (24) above maximum (23)`},
		{"bad minute", []Schedule{{Cron: "x 2 * * *"}}, `schedules[0].cron: minute field "x": failed to parse int from x`},
		{"sunday as 7", []Schedule{{Cron: "0 2 * * 7"}}, `schedules[0].cron: day-of-week field "7": end of range (7) above maximum (6)`},
		{"empty list element", []Schedule{{Cron: "0,,5 2 * * *"}}, `schedules[0].cron: minute field "0,,5": empty list element`},
		{"star with range", []Schedule{{Cron: "*-5 2 * * *"}}, `schedules[0].cron: minute field "*-5": unexpected "-5" after *`},
		{"question mark in hour", []Schedule{{Cron: "0 ? * * *"}}, `schedules[0].cron: hour field "?": ? is only allowed in day-of-month and day-of-week`},
		{"zero step", []Schedule{{Cron: "*/0 * * * *"}}, `schedules[0].cron: minute field "*/0": step of range should be a positive number`},
		{"never fires", []Schedule{{Cron: "0 0 30 2 *"}}, `schedules[0].cron: day-of-month "30" never occurs in month "2"`},
		{"every descriptor", []Schedule{{Cron: "@every 1h"}}, "schedules[0].cron: @every is not cron; use an interval schedule (every)"},
		{"unknown descriptor", []Schedule{{Cron: "@reboot"}}, `schedules[0].cron: unknown descriptor "@reboot"`},
		{"zone prefix", []Schedule{{Cron: "TZ=UTC 0 2 * * *"}}, "schedules[0].cron: a time zone prefix is not allowed here"},
		{"neither", []Schedule{{Timezone: "UTC"}}, "schedules[0].cron: set either cron or every"},
		{"both", []Schedule{{Cron: "0 2 * * *", Every: time.Hour}}, "schedules[0].every: cannot be combined with cron"},
		{"anchor with cron", []Schedule{{Cron: "0 2 * * *", Anchor: time.Unix(0, 0)}}, "schedules[0].anchor: only allowed with every"},
		{"too short", []Schedule{{Every: 30 * time.Second}}, "schedules[0].every: must be at least 1m0s, got 30s"},
		{"fractional seconds", []Schedule{{Every: time.Minute + time.Millisecond}}, "schedules[0].every: must be a whole number of seconds"},
		{"zone on sub-day interval", []Schedule{{Every: 90 * time.Minute, Timezone: "Europe/Berlin"}}, "schedules[0].timezone: only allowed when every is a whole number of days"},
		{"duplicate timing", []Schedule{{Cron: "0 2 * * *"}, {Cron: "0  2 * * *", Parameters: map[string]any{"a": 1}}}, "schedules[1]: same timing as schedules[0]"},
		{"descriptor duplicates its expansion", []Schedule{{Cron: "0 0 * * *"}, {Cron: "@daily"}}, "schedules[1]: same timing as schedules[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(tt.schedules)
			var fe *fielderr.Error
			if !errors.As(err, &fe) {
				t.Fatalf("Compile() error = %v, want a *fielderr.Error", err)
			}
			if !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("Compile() error = %q, want prefix %q", err, tt.want)
			}
		})
	}
}

func TestCompileAccepts(t *testing.T) {
	for _, s := range []Schedule{
		{Cron: "0 2 * * *", Timezone: "Europe/Berlin"},
		{Cron: "*/15 * * * *"},
		{Cron: "0 */6 * * *", Timezone: "UTC"},
		{Cron: "0 9-17 * jan-mar mon-fri"},
		{Cron: "0 0 29 2 *"},
		{Cron: "0 0 ? * SUN"},
		{Cron: " @Weekly "},
		{Every: time.Minute},
		{Every: 48 * time.Hour, Timezone: "America/New_York", Anchor: time.Date(2026, 1, 1, 7, 30, 0, 0, time.UTC)},
	} {
		if err := s.Validate(); err != nil {
			t.Errorf("Validate(%+v) = %v, want nil", s, err)
		}
	}
}

func TestScheduleJSONRoundTrip(t *testing.T) {
	for _, s := range []Schedule{
		{Cron: "0 2 * * *", Timezone: "Europe/Berlin", Parameters: map[string]any{"full": true, "devices": []any{"r1", "r2"}}},
		{Cron: "@daily", Inactive: true},
		{Every: 6 * time.Hour, Anchor: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)},
		{Every: 24 * time.Hour, Timezone: "America/New_York", Anchor: time.Date(2026, 3, 1, 2, 30, 0, 0, time.FixedZone("EST", -5*3600))},
	} {
		data, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("Marshal(%+v): %v", s, err)
		}
		var got Schedule
		if err := json.Unmarshal(data, &got); err != nil {
			t.Fatalf("Unmarshal(%s): %v", data, err)
		}
		if !got.Anchor.Equal(s.Anchor) {
			t.Errorf("anchor %v after round trip of %s, want %v", got.Anchor, data, s.Anchor)
		}
		got.Anchor = s.Anchor
		if !reflect.DeepEqual(got, s) {
			t.Errorf("round trip of %s = %+v, want %+v", data, got, s)
		}
	}
}

func TestScheduleJSONWireForm(t *testing.T) {
	data, err := json.Marshal([]Schedule{{Every: 90 * time.Minute}, {Cron: "0 2 * * *", Inactive: true}})
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"every":"1h30m0s","active":true},{"cron":"0 2 * * *","active":false}]`
	if string(data) != want {
		t.Errorf("Marshal = %s, want %s", data, want)
	}
	var s Schedule
	if err := json.Unmarshal([]byte(`{"every":"90m"}`), &s); err != nil || s.Every != 90*time.Minute || s.Inactive {
		t.Errorf(`Unmarshal({"every":"90m"}) = %+v, %v; want every 1h30m, active`, s, err)
	}
}

func TestScheduleJSONErrorsNameTheField(t *testing.T) {
	tests := []struct{ in, want string }{
		{`{"every":"6x"}`, `every: invalid duration "6x"`},
		{`{"evry":"6h"}`, "evry: unknown field"},
		{`{"cron":5}`, "cron: expected string, found JSON number"},
		{`{"active":"yes"}`, "active: expected bool, found JSON string"},
		{`{"every":"1h","anchor":"yesterday"}`, `anchor: invalid RFC 3339 time "yesterday"`},
		{`{"parameters":[1]}`, "parameters: expected map[string]interface {}, found JSON array"},
	}
	for _, tt := range tests {
		var s Schedule
		err := json.Unmarshal([]byte(tt.in), &s)
		var fe *fielderr.Error
		if !errors.As(err, &fe) || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("Unmarshal(%s) error = %v, want a fielderr.Error starting %q", tt.in, err, tt.want)
		}
	}
}

func TestKeyIgnoresParametersAndActive(t *testing.T) {
	a, _ := Parse(Schedule{Cron: "0  2 * * *", Timezone: "Europe/Berlin"})
	b, _ := Parse(Schedule{Cron: "0 2 * * *", Timezone: "Europe/Berlin", Parameters: map[string]any{"x": 1}, Inactive: true})
	c, _ := Parse(Schedule{Cron: "0 3 * * *", Timezone: "Europe/Berlin"})
	if a.Key() != b.Key() || a.Key() == c.Key() {
		t.Errorf("keys %q, %q, %q: want first two equal and the third different", a.Key(), b.Key(), c.Key())
	}
}
