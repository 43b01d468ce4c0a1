package schedule

import (
	"encoding/json"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

func TestLatePolicyApply(t *testing.T) {
	now := utc("2026-05-01T05:20:00Z")
	tt := mustCompile(t, Schedule{Cron: "0 * * * *"}, Schedule{Cron: "30 2,5 * * *"})
	p := mustPlan(t, tt, PlanInput{
		Now:     now,
		Through: []time.Time{utc("2026-05-01T01:30:00Z"), utc("2026-05-01T01:30:00Z")},
		Window:  Window{Ahead: time.Hour, Max: 100},
	})
	// Planned: 02:00 02:30* 03:00 04:00 05:00* (late; * = last missed), 05:30 06:00.
	tests := []struct {
		policy       LatePolicy
		run, skipped []string
	}{
		{LatePolicy{}, []string{"02:00", "02:30", "03:00", "04:00", "05:00", "05:30", "06:00"}, nil},
		{LatePolicy{Mode: LateRunLatest}, []string{"02:30", "05:00", "05:30", "06:00"}, []string{"02:00", "03:00", "04:00"}},
		{LatePolicy{Mode: LateSkip}, []string{"05:30", "06:00"}, []string{"02:00", "02:30", "03:00", "04:00", "05:00"}},
		{LatePolicy{Mode: LateSkip, Grace: 80 * time.Minute}, []string{"04:00", "05:00", "05:30", "06:00"}, []string{"02:00", "02:30", "03:00"}},
		{LatePolicy{Mode: LateRunLatest, Grace: 20 * time.Minute}, []string{"02:30", "05:00", "05:30", "06:00"}, []string{"02:00", "03:00", "04:00"}},
	}
	clock := func(occ []Occurrence) []string {
		var out []string
		for _, o := range occ {
			out = append(out, o.Time.Format("15:04"))
		}
		return out
	}
	for _, tt := range tests {
		if err := tt.policy.Validate(); err != nil {
			t.Fatalf("Validate(%+v): %v", tt.policy, err)
		}
		run, skipped := tt.policy.Apply(p.Occurrences, now)
		if !slices.Equal(clock(run), tt.run) || !slices.Equal(clock(skipped), tt.skipped) {
			t.Errorf("%+v: run %v skipped %v, want run %v skipped %v", tt.policy, clock(run), clock(skipped), tt.run, tt.skipped)
		}
	}
}

// TestRunLatestAcrossCalls: when Max splits a backlog, only the last missed
// occurrence of each schedule runs, whichever call returns it.
func TestRunLatestAcrossCalls(t *testing.T) {
	tt := mustCompile(t, Schedule{Cron: "*/10 * * * *"}, Schedule{Cron: "5 * * * *"})
	now := utc("2026-05-01T12:00:00Z")
	through := []time.Time{utc("2026-05-01T00:00:00Z"), utc("2026-05-01T00:00:00Z")}
	var run, skipped []Occurrence
	for {
		p := mustPlan(t, tt, PlanInput{Now: now, Through: through, Window: Window{Max: 5}})
		r, s := LatePolicy{Mode: LateRunLatest}.Apply(p.Occurrences, now)
		run, skipped = append(run, r...), append(skipped, s...)
		through = p.Through
		if !p.More {
			break
		}
	}
	if got, want := times(run), []time.Time{utc("2026-05-01T11:05:00Z"), utc("2026-05-01T11:50:00Z"), utc("2026-05-01T12:00:00Z")}; !slices.EqualFunc(got, want, time.Time.Equal) {
		t.Errorf("ran %v, want the latest missed of each schedule and the one due now: %v", got, want)
	}
	// Missed: */10 from 00:10 to 11:50 (71) and :05 from 00:05 to 11:05 (12).
	if want := 71 + 12 - 2; len(skipped) != want {
		t.Errorf("skipped %d, want %d", len(skipped), want)
	}
}

func TestLatePolicyJSON(t *testing.T) {
	for _, p := range []LatePolicy{{}, {Mode: LateSkip, Grace: 5 * time.Minute}, {Mode: LateRunLatest}} {
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		var got LatePolicy
		if err := json.Unmarshal(data, &got); err != nil || got != p {
			t.Errorf("round trip of %s = %+v, %v; want %+v", data, got, err, p)
		}
	}
	for _, tt := range []struct{ in, field string }{
		{`{"mode":"latest"}`, "mode"},
		{`{"grace":"-1m"}`, "grace"},
		{`{"grace":"soon"}`, "grace"},
		{`{"mdoe":"skip"}`, "mdoe"},
	} {
		var p LatePolicy
		err := json.Unmarshal([]byte(tt.in), &p)
		var fe *fielderr.Error
		if !errors.As(err, &fe) || fe.Field != tt.field {
			t.Errorf("Unmarshal(%s) = %v, want a fielderr.Error on %s", tt.in, err, tt.field)
		}
	}
}
