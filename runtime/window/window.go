package window

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
	"github.com/netauto-dev/netauto/runtime/schedule"
)

// MaxDuration bounds a window's length: a window is a maintenance slot, not
// a season (use no windows at all, and freezes, for "always but...").
const MaxDuration = 31 * 24 * time.Hour

// maxEntries bounds the windows and freezes of one calendar, so that a
// calendar read from outside input costs a bounded time to evaluate.
const maxEntries = 64

// searchYears bounds the search for the next opening.
const searchYears = 5

// maxSpan and maxSteps bound the merging of overlapping window occurrences
// into one opening (a daily window lasting two days never ends): a longer
// opening is reported in pieces, each starting where the last ended.
const (
	maxSpan  = MaxDuration
	maxSteps = 1024
)

// maxWork bounds the cron evaluations of one Next, whatever the calendar:
// the store evaluates calendars inside a claim's transaction. A calendar
// that needs more (thousands of frozen window times) reports no opening,
// and its runs are checked again later.
const maxWork = 20000

// Calendar is a change calendar as data: when the changes of a deployment
// may start. It is the stored and wire form (JSON, see the field tags);
// [Compile] validates it into a [*Compiled] that answers questions.
//
//	{"windows": [{"name": "weeknights", "start": "0 22 * * 1-5", "duration": "4h", "timezone": "Europe/Berlin"}],
//	 "freezes": [{"name": "year-end", "start": "2026-12-20", "end": "2027-01-04", "timezone": "Europe/Berlin",
//	              "reason": "year-end change freeze"}]}
//
// With no windows a change may start at any time outside the freezes; with
// windows, only inside one of them and outside the freezes. A freeze
// that cuts a window shortens or splits it.
type Calendar struct {
	// Windows are the recurring times changes may start in.
	Windows []Window `json:"windows,omitempty"`
	// Freezes are date or time ranges in which no change may start.
	Freezes []Freeze `json:"freezes,omitempty"`
	// Block, on a deployment's calendar, names a config block whose
	// "change_calendar" member holds more windows and freezes (an
	// environment's, editable as data without a redeploy). The store
	// resolves it (store.EffectiveCalendar); Compile ignores it.
	Block string `json:"block,omitempty"`
}

// UnmarshalJSON reads a calendar, refusing unknown fields; an error names
// the field with its path ("windows[1].duration").
func (c *Calendar) UnmarshalJSON(data []byte) error {
	var raw struct {
		Windows []json.RawMessage `json:"windows"`
		Freezes []json.RawMessage `json:"freezes"`
		Block   string            `json:"block"`
	}
	if err := strictDecode(data, &raw); err != nil {
		return err
	}
	out := Calendar{Block: raw.Block}
	for i, w := range raw.Windows {
		var v Window
		if err := json.Unmarshal(w, &v); err != nil {
			return fielderr.Under(fmt.Sprintf("windows[%d]", i), asFieldErr(err))
		}
		out.Windows = append(out.Windows, v)
	}
	for i, f := range raw.Freezes {
		var v Freeze
		if err := json.Unmarshal(f, &v); err != nil {
			return fielderr.Under(fmt.Sprintf("freezes[%d]", i), asFieldErr(err))
		}
		out.Freezes = append(out.Freezes, v)
	}
	*c = out
	return nil
}

// asFieldErr returns err as a field error (the whole value's when it
// names no field).
func asFieldErr(err error) error {
	var fe *fielderr.Error
	if errors.As(err, &fe) {
		return fe
	}
	return &fielderr.Error{Reason: "invalid JSON: " + err.Error()}
}

// IsZero reports whether c declares nothing: no windows, no freezes, no
// block. A deployment with a zero calendar has none.
func (c Calendar) IsZero() bool { return len(c.Windows) == 0 && len(c.Freezes) == 0 && c.Block == "" }

// Merge returns c with the windows and freezes of o added (Block is c's).
func (c Calendar) Merge(o Calendar) Calendar {
	return Calendar{
		Windows: append(slices.Clip(c.Windows), o.Windows...),
		Freezes: append(slices.Clip(c.Freezes), o.Freezes...),
		Block:   c.Block,
	}
}

// Window is a recurring change window: it opens at every occurrence of
// Start (a cron expression read in Timezone, with the daylight-saving rules
// of runtime/schedule) and stays open for Duration of elapsed time (a 4h
// window that spans a clock change is still 4 real hours).
type Window struct {
	// Name labels the window in reasons and listings; optional.
	Name string
	// Start is a five-field cron expression or descriptor (@daily...).
	Start string
	// Duration is how long the window stays open: positive, at most
	// MaxDuration. In JSON a Go duration string ("4h", "90m").
	Duration time.Duration
	// Timezone is the IANA zone Start is read in; empty means UTC.
	Timezone string
}

type windowJSON struct {
	Name     string `json:"name,omitempty"`
	Start    string `json:"start"`
	Duration string `json:"duration"`
	Timezone string `json:"timezone,omitempty"`
}

// MarshalJSON writes the wire form shown on [Calendar].
func (w Window) MarshalJSON() ([]byte, error) {
	return json.Marshal(windowJSON{Name: w.Name, Start: w.Start, Duration: w.Duration.String(), Timezone: w.Timezone})
}

// UnmarshalJSON reads the wire form shown on [Calendar]. Unknown fields are
// errors, so that a misspelt field is not silently ignored; an error names
// the field.
func (w *Window) UnmarshalJSON(data []byte) error {
	var j windowJSON
	if err := strictDecode(data, &j); err != nil {
		return err
	}
	var d time.Duration
	if j.Duration != "" {
		var err error
		if d, err = time.ParseDuration(j.Duration); err != nil {
			return fielderr.New("duration", fmt.Sprintf("%q is not a duration such as \"4h\" or \"90m\"", j.Duration))
		}
	}
	*w = Window{Name: j.Name, Start: j.Start, Duration: d, Timezone: j.Timezone}
	return nil
}

// Freeze is a range of time in which no change may start: a holiday, an
// event, an incident. Start and End are wall-clock readings in Timezone
// (empty: UTC), written "2006-01-02" (a date), "2006-01-02T15:04" or
// "2006-01-02T15:04:05"; an RFC 3339 time with an offset is taken as that
// instant. A date as Start means the start of that day; a date as End
// means the end of that day (the range includes it), so
// {"start": "2026-12-24", "end": "2026-12-26"} freezes three days. A
// time as End is exclusive. A reading skipped by a daylight-saving change
// means the first instant after the gap; a repeated one its first
// occurrence.
type Freeze struct {
	Name     string `json:"name,omitempty"`
	Start    string `json:"start"`
	End      string `json:"end"`
	Timezone string `json:"timezone,omitempty"`
	// Reason says why, for the people whose change waits.
	Reason string `json:"reason,omitempty"`
}

// UnmarshalJSON reads a freeze, refusing unknown fields.
func (f *Freeze) UnmarshalJSON(data []byte) error {
	type plain Freeze
	var p plain
	if err := strictDecode(data, &p); err != nil {
		return err
	}
	*f = Freeze(p)
	return nil
}

// label names the freeze in reasons: its name, else its range.
func (f Freeze) label() string {
	if f.Name != "" {
		return f.Name
	}
	return f.Start + ".." + f.End
}

func strictDecode(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var fe *fielderr.Error
		if errors.As(err, &fe) { // from a nested UnmarshalJSON
			return fe
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fielderr.New(te.Field, fmt.Sprintf("expected %s, found JSON %s", te.Type, te.Value))
		}
		if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
			return fielderr.New(strings.Trim(name, `"`), "unknown field")
		}
		return &fielderr.Error{Reason: "invalid JSON: " + err.Error()}
	}
	return nil
}

// Parse decodes a calendar from JSON and compiles it: the entry point for
// outside input (a config block member, an API body). Errors are
// *fielderr.Error values naming the field ("windows[0].duration").
func Parse(data []byte) (*Compiled, error) {
	var c Calendar
	if err := c.UnmarshalJSON(data); err != nil {
		return nil, err
	}
	return Compile(c)
}

// Compiled is a validated calendar, ready to answer [Compiled.Open] and
// [Compiled.Next]. It is immutable and safe for concurrent use.
type Compiled struct {
	cal     Calendar
	windows []compiledWindow
	freezes []span // sorted by start, overlapping ones kept apart (each has its reason)
}

type compiledWindow struct {
	w    Window
	spec *schedule.Spec
}

// span is one freeze as instants: [start, end).
type span struct {
	start, end time.Time
	f          Freeze
}

// Compile validates c: each window's start is a valid cron expression, its
// duration positive and at most MaxDuration, its zone known; each freeze's
// bounds parse and its end is after its start. Errors are *fielderr.Error
// values naming the field ("windows[1].timezone", "freezes[0].end").
func Compile(c Calendar) (*Compiled, error) {
	if len(c.Windows) > maxEntries {
		return nil, fielderr.New("windows", fmt.Sprintf("%d windows: at most %d", len(c.Windows), maxEntries))
	}
	if len(c.Freezes) > maxEntries {
		return nil, fielderr.New("freezes", fmt.Sprintf("%d freezes: at most %d", len(c.Freezes), maxEntries))
	}
	out := &Compiled{cal: c}
	for i, w := range c.Windows {
		field := fmt.Sprintf("windows[%d]", i)
		switch {
		case strings.TrimSpace(w.Start) == "":
			return nil, fielderr.New(field+".start", "empty: give a cron expression such as \"0 22 * * 1-5\"")
		case w.Duration <= 0:
			return nil, fielderr.New(field+".duration", fmt.Sprintf("%v: must be positive", w.Duration))
		case w.Duration > MaxDuration:
			return nil, fielderr.New(field+".duration", fmt.Sprintf("%v: at most %v", w.Duration, MaxDuration))
		}
		spec, err := schedule.Parse(schedule.Schedule{Cron: w.Start, Timezone: w.Timezone})
		if err != nil {
			var fe *fielderr.Error
			if errors.As(err, &fe) && fe.Field == "cron" {
				fe = &fielderr.Error{Field: "start", Reason: fe.Reason}
				err = fe
			}
			return nil, fielderr.Under(field, err)
		}
		out.windows = append(out.windows, compiledWindow{w: w, spec: spec})
	}
	for i, f := range c.Freezes {
		field := fmt.Sprintf("freezes[%d]", i)
		loc, err := schedule.Location(f.Timezone)
		if err != nil {
			return nil, fielderr.New(field+".timezone", err.Error())
		}
		start, err := parseBound(f.Start, loc, false)
		if err != nil {
			return nil, fielderr.New(field+".start", err.Error())
		}
		end, err := parseBound(f.End, loc, true)
		if err != nil {
			return nil, fielderr.New(field+".end", err.Error())
		}
		if !end.After(start) {
			return nil, fielderr.New(field+".end", fmt.Sprintf("%s is not after start %s", f.End, f.Start))
		}
		out.freezes = append(out.freezes, span{start: start, end: end, f: f})
	}
	slices.SortStableFunc(out.freezes, func(a, b span) int { return a.start.Compare(b.start) })
	return out, nil
}

// parseBound reads a freeze bound (see [Freeze]). A date as an end means
// the start of the next day.
func parseBound(s string, loc *time.Location, end bool) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, errors.New("empty: give a date (2006-01-02) or a time (2006-01-02T15:04)")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.Parse(time.DateOnly, s); err == nil {
		if end {
			d = d.AddDate(0, 0, 1)
		}
		return schedule.Instant(d, loc), nil
	}
	for _, layout := range []string{"2006-01-02T15:04", "2006-01-02T15:04:05"} {
		if t, err := time.Parse(layout, s); err == nil {
			return schedule.Instant(t, loc), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q: want a date (2006-01-02), a time (2006-01-02T15:04) or RFC 3339", s)
}

// Calendar returns the calendar c was compiled from.
func (c *Compiled) Calendar() Calendar { return c.cal }

// HasWindows reports whether changes are confined to windows (otherwise
// only freezes hold them).
func (c *Compiled) HasWindows() bool { return len(c.windows) > 0 }

// ReasonKind says why a change may not start.
type ReasonKind string

// The reasons a calendar is closed.
const (
	// OutsideWindow: the calendar has windows and none is open.
	OutsideWindow ReasonKind = "outside-window"
	// Frozen: a freeze covers the instant.
	Frozen ReasonKind = "frozen"
)

// Status is the answer of [Compiled.Open]: whether a change may start at an
// instant, and when not, why.
type Status struct {
	// Open is true when a change may start.
	Open bool `json:"open"`
	// Reason is empty when Open, else why not. A frozen instant outside
	// every window is reported Frozen (the more specific reason).
	Reason ReasonKind `json:"reason,omitempty"`
	// Freeze is the freeze that holds the change (Reason Frozen).
	Freeze *Freeze `json:"freeze,omitempty"`
	// Window is the open window (Open, on a calendar with windows).
	Window *Window `json:"window,omitempty"`
}

// String says it for a person: "open", "outside every change window",
// "frozen by year-end: year-end change freeze".
func (s Status) String() string {
	switch s.Reason {
	case "":
		return "open"
	case OutsideWindow:
		return "outside every change window"
	case Frozen:
		msg := "frozen by " + s.Freeze.label()
		if s.Freeze.Reason != "" {
			msg += ": " + s.Freeze.Reason
		}
		return msg
	}
	return string(s.Reason)
}

// Open reports whether a change may start at t: inside a window (when there
// are windows) and in no freeze. Windows are half-open: one opening at
// 22:00 for 4h admits 22:00 and refuses 02:00.
func (c *Compiled) Open(t time.Time) Status {
	if f, ok := c.freezeAt(t); ok {
		return Status{Reason: Frozen, Freeze: &f.f}
	}
	if len(c.windows) == 0 {
		return Status{Open: true}
	}
	for i := range c.windows {
		if _, ok := c.windows[i].containing(t); ok {
			return Status{Open: true, Window: &c.windows[i].w}
		}
	}
	return Status{Reason: OutsideWindow}
}

// containing returns the start of the occurrence of w that contains t.
// The first occurrence strictly after t−d ends after t; it contains t when
// it starts at or before t.
func (cw *compiledWindow) containing(t time.Time) (time.Time, bool) {
	s := cw.spec.Next(t.Add(-cw.w.Duration))
	if s.IsZero() || s.After(t) {
		return time.Time{}, false
	}
	return s, true
}

// nextStart returns the first occurrence of w that ends after t (it may
// have started before t).
func (cw *compiledWindow) nextStart(t time.Time) time.Time {
	return cw.spec.Next(t.Add(-cw.w.Duration))
}

// freezeAt returns a freeze covering t.
func (c *Compiled) freezeAt(t time.Time) (span, bool) {
	for _, f := range c.freezes {
		if f.start.After(t) {
			break
		}
		if f.end.After(t) {
			return f, true
		}
	}
	return span{}, false
}

// Opening is a time in which changes may start: [Start, End). A zero End
// means it does not close (a calendar without windows, after its last
// freeze).
type Opening struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end,omitzero"`
	// Window names the window the opening belongs to (its first, when
	// windows overlap); empty on a calendar without windows.
	Window string `json:"window,omitempty"`
}

// Next returns the first instant at or after t at which a change may start,
// as the opening that begins there: Start is t itself when the calendar is
// open at t, else when the next window opens or the freeze in the way ends;
// End is when that opening closes (the window ends, or a freeze begins:
// a freeze cutting a window shortens or splits it). Overlapping or touching
// windows make one opening. ok is false when nothing opens within five
// years (or within a bounded amount of work: see maxWork).
func (c *Compiled) Next(t time.Time) (o Opening, ok bool) {
	limit := t.AddDate(searchYears, 0, 0)
	cur := t
	budget := maxWork
	for i := 0; cur.Before(limit) && i < 2000 && budget > 0; i++ {
		// The window time at or after cur: [a, b).
		a, b, name, found := c.windowSpan(cur, &budget)
		if !found {
			return Opening{}, false
		}
		if a.Before(cur) {
			a = cur
		}
		// Skip the freezes covering a.
		for {
			f, frozen := c.freezeAt(a)
			if !frozen {
				break
			}
			a = f.end
		}
		if !b.IsZero() && !a.Before(b) {
			cur = a // this window time is frozen to its end (a ≥ b: past the freezes)
			continue
		}
		// A freeze that starts inside [a, b) ends the opening there.
		for _, f := range c.freezes {
			if f.start.After(a) && (b.IsZero() || f.start.Before(b)) {
				b = f.start
				break
			}
		}
		return Opening{Start: a, End: b, Window: name}, true
	}
	return Opening{}, false
}

// windowSpan returns the union of window occurrences that ends after t and
// starts first: [a, b) with b zero for a calendar without windows.
func (c *Compiled) windowSpan(t time.Time, budget *int) (a, b time.Time, name string, ok bool) {
	if len(c.windows) == 0 {
		return t, time.Time{}, "", true
	}
	*budget -= len(c.windows)
	for i := range c.windows {
		s := c.windows[i].nextStart(t)
		if s.IsZero() {
			continue
		}
		if !ok || s.Before(a) {
			a, b, name, ok = s, s.Add(c.windows[i].w.Duration), c.windows[i].w.Name, true
		}
	}
	if !ok {
		return
	}
	// Extend b while another occurrence starts at or before it and ends
	// after it (windows that overlap or touch make one opening), up to
	// maxSpan: an opening that goes on longer is reported in pieces.
	limit := a.Add(maxSpan)
	if a.Before(t) {
		limit = t.Add(maxSpan)
	}
	for grew, steps := true, 0; grew && b.Before(limit) && steps < maxSteps && *budget > 0; steps++ {
		grew = false
		*budget -= len(c.windows)
		for i := range c.windows {
			cw := &c.windows[i]
			s := cw.nextStart(b) // the first occurrence ending after b
			if s.IsZero() || s.After(b) {
				continue
			}
			if e := s.Add(cw.w.Duration); e.After(b) {
				b, grew = e, true
			}
		}
	}
	if b.After(limit) {
		b = limit
	}
	return a, b, name, true
}

// Openings returns up to n openings from t on: Next(t), then the ones
// after it.
func (c *Compiled) Openings(t time.Time, n int) []Opening {
	var out []Opening
	for len(out) < n {
		o, ok := c.Next(t)
		if !ok {
			break
		}
		out = append(out, o)
		if o.End.IsZero() {
			break
		}
		t = o.End
	}
	return out
}

// Freezes returns the freezes that have not ended at t (active or to
// come), by start.
func (c *Compiled) Freezes(t time.Time) []ActiveFreeze {
	var out []ActiveFreeze
	for _, f := range c.freezes {
		if f.end.After(t) {
			out = append(out, ActiveFreeze{Freeze: f.f, From: f.start, Until: f.end, Active: !f.start.After(t)})
		}
	}
	return out
}

// ActiveFreeze is a freeze with its bounds as instants.
type ActiveFreeze struct {
	Freeze Freeze    `json:"freeze"`
	From   time.Time `json:"from"`
	Until  time.Time `json:"until"`
	// Active is true when the freeze covers the time asked about.
	Active bool `json:"active"`
}

// NextOpen returns t when a change may start at t, else the next instant
// one may, and false when none may within Next's horizon: the calendar as
// a flow.ChangeWindow, for flow.InputWindow (an approval takes effect
// only inside it).
func (c *Compiled) NextOpen(t time.Time) (time.Time, bool) {
	o, ok := c.Next(t)
	return o.Start, ok
}
