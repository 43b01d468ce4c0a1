package schedule

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// checkSpec asserts what holds for every accepted schedule: run times
// strictly increase, and the JSON form parses back to the same timing.
func checkSpec(t *testing.T, sp *Spec) {
	at := utc("2026-03-01T00:00:00Z")
	for range 20 {
		next := sp.Next(at)
		if next.IsZero() {
			if sp.cron != nil {
				t.Fatalf("%s: no run after %v, though Parse accepted it", sp.Key(), at)
			}
			break
		}
		if !next.After(at) {
			t.Fatalf("%s: Next(%v) = %v, not after", sp.Key(), at, next)
		}
		at = next
	}
	data, err := json.Marshal(sp.Schedule())
	if err != nil {
		t.Fatalf("Marshal: %v", err)
	}
	var back Schedule
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatalf("Unmarshal(%s): %v", data, err)
	}
	sp2, err := Parse(back)
	if err != nil || sp2.Key() != sp.Key() {
		t.Fatalf("%s: after a JSON round trip (%s): %v, key %q", sp.Key(), data, err, sp2.Key())
	}
}

func FuzzParseCron(f *testing.F) {
	for _, seed := range [][2]string{
		{"0 2 * * *", "Europe/Berlin"}, {"*/15 * * * *", ""}, {"@daily", "America/New_York"},
		{"0 0 29 2 *", "Australia/Lord_Howe"}, {"5-50/7 1,2,3 ? JAN-mar Mon-FRI", "Asia/Kolkata"},
		{"0 2 * *", "Europe/Berln"}, {"TZ=UTC 0 * * * *", ""}, {"@every 5m", ""},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, expr, zone string) {
		sp, err := Parse(Schedule{Cron: expr, Timezone: zone})
		if err != nil {
			var fe *fielderr.Error
			if !errors.As(err, &fe) || (fe.Field != "cron" && fe.Field != "timezone") {
				t.Fatalf("Parse(%q, %q) = %v, want a fielderr.Error on cron or timezone", expr, zone, err)
			}
			return
		}
		checkSpec(t, sp)
	})
}

func FuzzParseScheduleJSON(f *testing.F) {
	for _, seed := range []string{
		`{"cron":"0 2 * * *","timezone":"Europe/Berlin","parameters":{"full":true}}`,
		`{"every":"6h","anchor":"2026-01-01T00:00:00Z","active":false}`,
		`{"every":"48h","timezone":"America/New_York","anchor":"2026-03-08T02:30:00-05:00"}`,
		`{"every":"1m"}`, `{"cron":"@hourly","every":"1h"}`, `{"evry":"1h"}`, `[]`, `null`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var s Schedule
		if err := json.Unmarshal(data, &s); err != nil {
			return
		}
		sp, err := Parse(s)
		if err != nil {
			var fe *fielderr.Error
			if !errors.As(err, &fe) || fe.Field == "" {
				t.Fatalf("Parse(%s) = %v, want a fielderr.Error", data, err)
			}
			return
		}
		checkSpec(t, sp)
		if s.Every != 0 && !sp.Next(sp.anchor.Add(-time.Nanosecond)).Equal(sp.anchor) {
			t.Fatalf("%s: the anchor %v is not the first run", sp.Key(), sp.anchor)
		}
	})
}
