package schedule

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// MinEvery is the shortest interval accepted: a schedule is not a loop, and
// every occurrence becomes a stored run.
const MinEvery = time.Minute

// Schedule declares when a deployment runs and with which parameters. Set
// exactly one of Cron and Every. The zero value of every other field is
// usable: UTC, no parameters, active.
//
// In JSON (stored, and sent over the API) a schedule reads
//
//	{"cron": "0 2 * * *", "timezone": "Europe/Berlin", "parameters": {"full": true}, "active": true}
//	{"every": "6h", "anchor": "2026-01-01T00:00:00Z", "active": false}
//
// where every is a Go duration ("90m", "24h"), anchor is RFC 3339 and a
// missing "active" means true.
type Schedule struct {
	// Cron is a standard five-field expression (minute hour day-of-month
	// month day-of-week) or one of the descriptors @yearly, @annually,
	// @monthly, @weekly, @daily, @midnight, @hourly. There is no seconds
	// field. Fields accept numbers, names (jan, mon), lists, ranges and
	// steps; day-of-week is 0–6 with 0 = Sunday. As in ISC cron, when the
	// day-of-month or day-of-week field starts with * or ?, a day must
	// match both fields, otherwise either.
	Cron string

	// Every is the interval between runs, at least MinEvery. Runs fall at
	// Anchor, Anchor+Every, Anchor+2·Every, …: the anchor is the first run
	// and fixes the phase.
	Every time.Duration

	// Anchor is the first run of an interval schedule. The zero value means
	// 2000-01-01 00:00 in the schedule's time zone, so that "every 1h" runs
	// on the hour and "every 15m" on the quarter hours. Only for Every.
	Anchor time.Time

	// Timezone is the IANA zone the schedule is read in ("Europe/Berlin");
	// empty means UTC. For Cron it is the zone of the wall clock the fields
	// describe. For Every it is only allowed when Every is a whole number
	// of days: the runs then keep the anchor's wall-clock time across
	// daylight-saving changes (a day is a calendar day, 23 to 25 hours);
	// without a zone every interval is exact elapsed time.
	Timezone string

	// Parameters are this schedule's flow parameters. They override the
	// deployment's defaults key by key (see MergeParameters). Treat the
	// map as read-only once the schedule is compiled.
	Parameters map[string]any

	// Inactive pauses the schedule: it plans no runs and, when activated
	// again, starts from that moment without catching up. In JSON it is
	// the "active" flag, inverted.
	Inactive bool
}

// scheduleJSON is the wire form of a Schedule.
type scheduleJSON struct {
	Cron       string         `json:"cron,omitempty"`
	Every      string         `json:"every,omitempty"`
	Anchor     time.Time      `json:"anchor,omitzero"`
	Timezone   string         `json:"timezone,omitempty"`
	Parameters map[string]any `json:"parameters,omitempty"`
	Active     *bool          `json:"active,omitempty"`
}

// MarshalJSON writes the wire form described on [Schedule].
func (s Schedule) MarshalJSON() ([]byte, error) {
	active := !s.Inactive
	w := scheduleJSON{Cron: s.Cron, Anchor: s.Anchor, Timezone: s.Timezone, Parameters: s.Parameters, Active: &active}
	if s.Every != 0 {
		w.Every = s.Every.String()
	}
	return json.Marshal(w)
}

// UnmarshalJSON reads the wire form described on [Schedule]. Unknown fields
// are errors, so a misspelt field is not silently ignored. It checks only
// the syntax of each field; Parse checks the schedule as a whole.
func (s *Schedule) UnmarshalJSON(data []byte) error {
	var w scheduleJSON
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return jsonFieldError(err)
	}
	var every time.Duration
	if w.Every != "" {
		d, err := time.ParseDuration(w.Every)
		if err != nil {
			return &fielderr.Error{Field: "every", Reason: fmt.Sprintf("invalid duration %q (use Go syntax such as \"90m\" or \"24h\")", w.Every)}
		}
		every = d
	}
	*s = Schedule{
		Cron: w.Cron, Every: every, Anchor: w.Anchor, Timezone: w.Timezone,
		Parameters: w.Parameters, Inactive: w.Active != nil && !*w.Active,
	}
	return nil
}

// jsonFieldError names the field of a decoding error where encoding/json
// tells it.
func jsonFieldError(err error) error {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return &fielderr.Error{Field: te.Field, Reason: fmt.Sprintf("expected %s, found JSON %s", te.Type, te.Value)}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &fielderr.Error{Field: strings.Trim(name, `"`), Reason: "unknown field"}
	}
	var pe *time.ParseError
	if errors.As(err, &pe) {
		return &fielderr.Error{Field: "anchor", Reason: fmt.Sprintf("invalid RFC 3339 time %q", pe.Value)}
	}
	return fmt.Errorf("schedule: %w", err)
}

// Validate reports the first problem with s as a *fielderr.Error naming the
// field ("cron", "timezone", …), or nil when Parse would accept it.
func (s Schedule) Validate() error {
	_, err := Parse(s)
	return err
}

// Spec is a validated schedule, ready to compute its run times. It is
// immutable and safe for concurrent use. Create one with Parse, or a
// deployment's worth with Compile.
type Spec struct {
	sched  Schedule
	loc    *time.Location
	cron   *cronExpr // nil for intervals
	anchor time.Time // intervals: the first run
	days   int       // intervals in a zone: the length in calendar days; else 0
	key    string
}

// Parse validates s and prepares it for evaluation. Errors are
// *fielderr.Error values naming the field of s.
func Parse(s Schedule) (*Spec, error) {
	loc, err := loadLocation(s.Timezone)
	if err != nil {
		return nil, &fielderr.Error{Field: "timezone", Reason: err.Error()}
	}
	sp := &Spec{sched: s, loc: loc}
	switch {
	case s.Cron == "" && s.Every == 0:
		return nil, &fielderr.Error{Field: "cron", Reason: "set either cron or every"}
	case s.Cron != "" && s.Every != 0:
		return nil, &fielderr.Error{Field: "every", Reason: "cannot be combined with cron; use two schedules"}
	case s.Cron != "":
		if !s.Anchor.IsZero() {
			return nil, &fielderr.Error{Field: "anchor", Reason: "only allowed with every"}
		}
		if sp.cron, err = parseCron(s.Cron); err != nil {
			return nil, &fielderr.Error{Field: "cron", Reason: err.Error()}
		}
		sp.key = "cron " + sp.cron.text + " in " + loc.String()
		return sp, nil
	}
	switch {
	case s.Every < MinEvery:
		return nil, &fielderr.Error{Field: "every", Reason: fmt.Sprintf("must be at least %v, got %v", MinEvery, s.Every)}
	case s.Every%time.Second != 0:
		return nil, &fielderr.Error{Field: "every", Reason: fmt.Sprintf("must be a whole number of seconds, got %v", s.Every)}
	case loc != time.UTC && s.Every%(24*time.Hour) != 0:
		return nil, &fielderr.Error{Field: "timezone", Reason: fmt.Sprintf("only allowed when every is a whole number of days (24h, 48h, …), got %v", s.Every)}
	}
	sp.anchor = s.Anchor
	if sp.anchor.IsZero() {
		sp.anchor = time.Date(2000, time.January, 1, 0, 0, 0, 0, loc)
	}
	if loc != time.UTC {
		sp.days = int(s.Every / (24 * time.Hour))
	}
	sp.key = fmt.Sprintf("every %v from %s in %s", s.Every, sp.anchor.UTC().Format(time.RFC3339Nano), loc)
	return sp, nil
}

// Schedule returns the schedule sp was parsed from.
func (sp *Spec) Schedule() Schedule { return sp.sched }

// Location returns the time zone the schedule is read in (UTC by default).
func (sp *Spec) Location() *time.Location { return sp.loc }

// Key identifies the schedule's timing: the normalised cron expression or
// the interval and anchor, with the zone. It ignores parameters and the
// active flag, so a store can keep per-schedule planning state (see
// PlanInput.Through) under it: editing parameters keeps the state, changing
// the timing starts afresh.
func (sp *Spec) Key() string { return sp.key }

// Next returns the first run time strictly after the instant after, in
// the schedule's location, or the zero time if there is none within 50
// years (which Parse rules out for cron expressions). It ignores the
// Inactive flag.
//
// Daylight saving, for cron schedules (the rules of ISC cron):
//   - A fixed-time job (neither minute nor hour field starts with *; e.g.
//     "0 2 * * *", "30 1,13 * * *", "0 0-23 * * *") whose wall-clock time
//     falls in a spring-forward gap runs once, at the first instant after
//     the gap (02:00 and 02:30 in a 02:00→03:00 gap both become one run
//     at 03:00). A wall-clock time that occurs twice at fall-back runs
//     once, at its first occurrence.
//   - A wildcard job (minute or hour starts with *; e.g. "*/15 * * * *",
//     "0 * * * *", "0 */6 * * *") follows real time: it runs at every
//     instant whose wall clock reads a matching time. Readings skipped by a
//     gap do not run; readings repeated at fall-back run again, at their
//     own instants. In Europe/Berlin "*/15" thus stays exactly 15 minutes
//     apart through both changes; in a zone shifting by 30 minutes
//     (Australia/Lord_Howe) "0 * * * *" runs 90 minutes apart across them.
//
// Interval schedules in a zone (whole days) follow the fixed-time rules for
// the anchor's wall-clock time; other intervals are exact elapsed time.
func (sp *Spec) Next(after time.Time) time.Time {
	switch {
	case sp.cron != nil:
		return sp.cron.next(after, sp.loc)
	case sp.days > 0:
		return sp.nextDays(after)
	}
	if after.Before(sp.anchor) {
		return sp.anchor.In(sp.loc)
	}
	step := int64(sp.sched.Every / time.Second)
	k := (after.Unix() - sp.anchor.Unix()) / step
	t := time.Unix(sp.anchor.Unix()+k*step, int64(sp.anchor.Nanosecond()))
	for !t.After(after) {
		t = t.Add(sp.sched.Every)
	}
	return t.In(sp.loc)
}

// nextDays computes calendar-day intervals: the anchor's wall-clock time
// every sp.days days from the anchor's date, mapped with firstInstant.
func (sp *Spec) nextDays(after time.Time) time.Time {
	if after.Before(sp.anchor) {
		return sp.anchor.In(sp.loc)
	}
	a := wallClock(sp.anchor, sp.loc)
	elapsed := int((wallClock(after, sp.loc).Unix() - a.Unix()) / 86400)
	k := max(elapsed/sp.days-1, 1)
	for {
		if t := firstInstant(a.AddDate(0, 0, k*sp.days), sp.loc); t.After(after) {
			return t
		}
		k++
	}
}

// Timetable is a deployment's compiled schedules, in declaration order. It
// is immutable and safe for concurrent use; a scheduler keeps one per
// deployment and replaces it when the deployment changes.
type Timetable struct {
	specs []*Spec
}

// Compile parses every schedule of a deployment. Errors are *fielderr.Error
// values with paths like "schedules[1].cron". Two schedules with the same
// timing (equal Key) are an error: they would always fire together, and a
// deployment has at most one run per scheduled time.
func Compile(schedules []Schedule) (*Timetable, error) {
	tt := &Timetable{specs: make([]*Spec, len(schedules))}
	seen := make(map[string]int, len(schedules))
	for i, s := range schedules {
		sp, err := Parse(s)
		if err != nil {
			return nil, fielderr.Under(fmt.Sprintf("schedules[%d]", i), err)
		}
		if j, dup := seen[sp.key]; dup {
			return nil, &fielderr.Error{Field: fmt.Sprintf("schedules[%d]", i), Reason: fmt.Sprintf("same timing as schedules[%d] (%s)", j, sp.key)}
		}
		seen[sp.key] = i
		tt.specs[i] = sp
	}
	return tt, nil
}

// Len returns the number of schedules.
func (tt *Timetable) Len() int { return len(tt.specs) }

// Spec returns schedule i, in the order given to Compile.
func (tt *Timetable) Spec(i int) *Spec { return tt.specs[i] }
