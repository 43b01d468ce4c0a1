package window_test

import (
	"errors"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/window"
)

func mustParse(t *testing.T, js string) *window.Compiled {
	t.Helper()
	c, err := window.Parse([]byte(js))
	if err != nil {
		t.Fatalf("Parse(%s): %v", js, err)
	}
	return c
}

func at(t *testing.T, s string, zone string) time.Time {
	t.Helper()
	loc, err := time.LoadLocation(zone)
	if err != nil {
		t.Fatal(err)
	}
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestOpenAndNext(t *testing.T) {
	// Weeknights 22:00-02:00 Berlin, a freeze over Christmas.
	c := mustParse(t, `{"windows":[{"name":"nightly","start":"0 22 * * 1-5","duration":"4h","timezone":"Europe/Berlin"}],
		"freezes":[{"name":"xmas","start":"2026-12-24","end":"2026-12-26","timezone":"Europe/Berlin","reason":"holidays"}]}`)
	const z = "Europe/Berlin"
	for _, tc := range []struct {
		at     string
		open   bool
		reason window.ReasonKind
	}{
		{"2026-12-07 21:59", false, window.OutsideWindow}, // Monday
		{"2026-12-07 22:00", true, ""},
		{"2026-12-08 01:59", true, ""},
		{"2026-12-08 02:00", false, window.OutsideWindow}, // half-open
		{"2026-12-24 23:00", false, window.Frozen},        // Thursday, frozen
		{"2026-12-26 12:00", false, window.Frozen},        // end date included
		{"2026-12-12 23:00", false, window.OutsideWindow}, // Saturday
	} {
		st := c.Open(at(t, tc.at, z))
		if st.Open != tc.open || st.Reason != tc.reason {
			t.Errorf("Open(%s) = %+v (%s), want open=%v reason=%q", tc.at, st, st, tc.open, tc.reason)
		}
	}
	if st := c.Open(at(t, "2026-12-25 23:00", z)); st.Freeze == nil || st.String() != "frozen by xmas: holidays" {
		t.Errorf("frozen status = %+v %q", st, st)
	}
	// Outside: the next opening is tonight's window.
	o, ok := c.Next(at(t, "2026-12-07 12:00", z))
	if !ok || !o.Start.Equal(at(t, "2026-12-07 22:00", z)) || !o.End.Equal(at(t, "2026-12-08 02:00", z)) || o.Window != "nightly" {
		t.Errorf("Next = %+v, %v", o, ok)
	}
	// Inside: starts now.
	now := at(t, "2026-12-07 23:30", z)
	if o, _ := c.Next(now); !o.Start.Equal(now) || !o.End.Equal(at(t, "2026-12-08 02:00", z)) {
		t.Errorf("Next inside = %+v", o)
	}
	// In the freeze (Wed 23 Dec evening → the freeze starts at midnight):
	// the window is cut at 00:00, then nothing until Monday 28th.
	if o, _ := c.Next(at(t, "2026-12-23 22:30", z)); !o.End.Equal(at(t, "2026-12-24 00:00", z)) {
		t.Errorf("freeze cutting a window: %+v", o)
	}
	if o, _ := c.Next(at(t, "2026-12-24 01:00", z)); !o.Start.Equal(at(t, "2026-12-28 22:00", z)) {
		t.Errorf("Next across the freeze = %+v", o)
	}
	if got := c.Openings(at(t, "2026-12-07 12:00", z), 3); len(got) != 3 || !got[2].Start.Equal(at(t, "2026-12-09 22:00", z)) {
		t.Errorf("Openings = %+v", got)
	}
}

func TestFreezeSplitsWindow(t *testing.T) {
	c := mustParse(t, `{"windows":[{"start":"0 20 * * *","duration":"6h"}],
		"freezes":[{"name":"cut","start":"2026-03-01T22:00","end":"2026-03-01T23:00"}]}`)
	u := func(s string) time.Time { return at(t, s, "UTC") }
	got := c.Openings(u("2026-03-01 19:00"), 2)
	want := []window.Opening{{Start: u("2026-03-01 20:00"), End: u("2026-03-01 22:00")}, {Start: u("2026-03-01 23:00"), End: u("2026-03-02 02:00")}}
	if len(got) != 2 || !got[0].Start.Equal(want[0].Start) || !got[0].End.Equal(want[0].End) || !got[1].Start.Equal(want[1].Start) || !got[1].End.Equal(want[1].End) {
		t.Errorf("Openings = %+v, want %+v", got, want)
	}
}

func TestFreezesOnly(t *testing.T) {
	c := mustParse(t, `{"freezes":[{"start":"2026-05-01","end":"2026-05-01"},{"start":"2026-05-02T00:00","end":"2026-05-03T00:00"}]}`)
	u := func(s string) time.Time { return at(t, s, "UTC") }
	if st := c.Open(u("2026-04-30 23:59")); !st.Open {
		t.Errorf("before: %v", st)
	}
	// Two adjacent freezes chain: open again on the 3rd, for good.
	o, ok := c.Next(u("2026-05-01 10:00"))
	if !ok || !o.Start.Equal(u("2026-05-03 00:00")) || !o.End.IsZero() {
		t.Errorf("Next = %+v %v", o, ok)
	}
	// Before the first freeze, the opening ends when it begins.
	if o, _ := c.Next(u("2026-04-30 10:00")); !o.End.Equal(u("2026-05-01 00:00")) {
		t.Errorf("Next before = %+v", o)
	}
}

func TestOverlappingWindowsMerge(t *testing.T) {
	c := mustParse(t, `{"windows":[{"name":"a","start":"0 1 * * *","duration":"2h"},{"name":"b","start":"0 3 * * *","duration":"1h"},{"start":"*/30 * * * 0","duration":"1h"}]}`)
	u := func(s string) time.Time { return at(t, s, "UTC") }
	// Monday: a then b touch: one opening 01:00-04:00.
	o, _ := c.Next(u("2026-03-02 00:45"))
	if !o.Start.Equal(u("2026-03-02 01:00")) || !o.End.Equal(u("2026-03-02 04:00")) || o.Window != "a" {
		t.Errorf("touching windows: %+v", o)
	}
	// Sunday: every half hour for an hour: one opening all day, into Monday 00:30.
	o, _ = c.Next(u("2026-03-01 05:00"))
	if !o.Start.Equal(u("2026-03-01 05:00")) || !o.End.Equal(u("2026-03-02 00:30")) {
		t.Errorf("self-overlapping window: %+v", o)
	}
}

func TestDST(t *testing.T) {
	const z = "Europe/Berlin"
	// 02:30 does not exist on 29 March 2026: the window opens at 03:00 CEST
	// (the end of the gap) and lasts one real hour.
	c := mustParse(t, `{"windows":[{"start":"30 2 * * *","duration":"1h","timezone":"Europe/Berlin"}]}`)
	o, _ := c.Next(at(t, "2026-03-29 00:00", z))
	gapEnd := time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC) // 03:00 CEST
	if !o.Start.Equal(gapEnd) || o.End.Sub(o.Start) != time.Hour {
		t.Errorf("spring forward: %+v", o)
	}
	// 01:00 on 25 October 2026 for 2h: opens 01:00 CEST (23:00 UTC), ends
	// two real hours later, at 02:00 CET (01:00 UTC), though the wall clock
	// reads only one hour more.
	c = mustParse(t, `{"windows":[{"start":"0 1 * * *","duration":"2h","timezone":"Europe/Berlin"}]}`)
	o, _ = c.Next(at(t, "2026-10-25 00:00", z))
	if want := time.Date(2026, 10, 24, 23, 0, 0, 0, time.UTC); !o.Start.Equal(want) || !o.End.Equal(want.Add(2*time.Hour)) {
		t.Errorf("fall back: %+v", o)
	}
	// 02:30 repeats that night: the first occurrence (CEST) only.
	c = mustParse(t, `{"windows":[{"start":"30 2 * * *","duration":"10m","timezone":"Europe/Berlin"}]}`)
	first := time.Date(2026, 10, 25, 0, 30, 0, 0, time.UTC) // 02:30 CEST
	if st := c.Open(first.Add(time.Minute)); !st.Open {
		t.Errorf("first 02:30: %v", st)
	}
	if st := c.Open(first.Add(time.Hour + time.Minute)); st.Open {
		t.Errorf("repeated 02:30 opened a second window")
	}
	// A freeze bound in the gap is the end of the gap.
	c = mustParse(t, `{"freezes":[{"start":"2026-03-29T02:30","end":"2026-03-29T05:00","timezone":"Europe/Berlin"}]}`)
	if fz := c.Freezes(time.Time{}); len(fz) != 1 || !fz[0].From.Equal(gapEnd) {
		t.Errorf("freeze in the gap: %+v", fz)
	}
}

func TestValidation(t *testing.T) {
	for _, tc := range []struct{ js, field string }{
		{`{"windows":[{"start":"0 22 * *","duration":"1h"}]}`, "windows[0].start"},
		{`{"windows":[{"start":"","duration":"1h"}]}`, "windows[0].start"},
		{`{"windows":[{"start":"0 22 * * *","duration":"0s"}]}`, "windows[0].duration"},
		{`{"windows":[{"start":"0 22 * * *","duration":"-1h"}]}`, "windows[0].duration"},
		{`{"windows":[{"start":"0 22 * * *"}]}`, "windows[0].duration"},
		{`{"windows":[{"start":"0 22 * * *","duration":"4 hours"}]}`, "windows[0].duration"},
		{`{"windows":[{"start":"0 22 * * *","duration":"1h"},{"start":7}]}`, "windows[1].start"},
		{`{"freezes":[{"start":"2026-12-20","end":"2026-12-21","zone":"UTC"}]}`, "freezes[0].zone"},
		{`{"windows":[{"start":"0 22 * * *","duration":"1h","timezone":"Europe/Berln"}]}`, "windows[0].timezone"},
		{`{"windows":[{"start":"0 22 * * *","duration":"1h","timezone":"Local"}]}`, "windows[0].timezone"},
		{`{"freezes":[{"start":"2026-12-20","end":"2026-12-01"}]}`, "freezes[0].end"},
		{`{"freezes":[{"start":"2026-12-20T10:00","end":"2026-12-20T10:00"}]}`, "freezes[0].end"},
		{`{"freezes":[{"start":"20.12.2026","end":"2026-12-21"}]}`, "freezes[0].start"},
		{`{"freezes":[{"start":"2026-12-20","end":"2026-12-21","timezone":"Mars/Base"}]}`, "freezes[0].timezone"},
		{`{"windws":[]}`, "windws"},
	} {
		_, err := window.Parse([]byte(tc.js))
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != tc.field {
			t.Errorf("Parse(%s) = %v, want a field error naming %s", tc.js, err, tc.field)
		}
	}
}

func TestJSONRoundTrip(t *testing.T) {
	c := window.Calendar{Windows: []window.Window{{Name: "w", Start: "0 1 * * *", Duration: 90 * time.Minute, Timezone: "UTC"}}}
	comp, err := window.Compile(c)
	if err != nil {
		t.Fatal(err)
	}
	st := comp.Open(time.Date(2026, 1, 1, 2, 0, 0, 0, time.UTC))
	if !st.Open || st.Window.Name != "w" {
		t.Errorf("Open = %+v", st)
	}
}
