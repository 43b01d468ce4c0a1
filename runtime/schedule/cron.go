package schedule

import (
	"fmt"
	"math/bits"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

// searchYears bounds the search for the next occurrence. The rarest valid
// expressions (29 February on a given weekday) repeat every 28 years, or 40
// across 2100, which is not a leap year.
const searchYears = 50

// fieldNames names the five cron fields in order, for error messages.
var fieldNames = [5]string{"minute", "hour", "day-of-month", "month", "day-of-week"}

// descriptors maps the accepted @-descriptors to their five-field form.
var descriptors = map[string]string{
	"@yearly":   "0 0 1 1 *",
	"@annually": "0 0 1 1 *",
	"@monthly":  "0 0 1 * *",
	"@weekly":   "0 0 * * 0",
	"@daily":    "0 0 * * *",
	"@midnight": "0 0 * * *",
	"@hourly":   "0 * * * *",
}

var fieldParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow)

// cronExpr is a parsed cron expression: bit sets of the allowed values of
// each field (bit v set when value v matches) and the ISC cron flags that
// decide day matching and daylight-saving behaviour.
type cronExpr struct {
	text                     string // normalised: five fields joined by one space
	minute, hour, dom, month uint64
	dow                      uint64
	dayAnd                   bool // day-of-month AND day-of-week (either field starts with * or ?)
	fixed                    bool // neither minute nor hour starts with *: a fixed-time job
}

// parseCron parses a standard five-field cron expression or a descriptor.
// Errors name the field and describe the problem; the caller adds the path.
func parseCron(expr string) (*cronExpr, error) {
	text := strings.TrimSpace(expr)
	switch {
	case text == "":
		return nil, fmt.Errorf("empty expression")
	case strings.HasPrefix(text, "TZ=") || strings.HasPrefix(text, "CRON_TZ="):
		return nil, fmt.Errorf("a time zone prefix is not allowed here; use the timezone field")
	case strings.HasPrefix(text, "@every"):
		return nil, fmt.Errorf("@every is not cron; use an interval schedule (every)")
	case strings.HasPrefix(text, "@"):
		d, ok := descriptors[strings.ToLower(text)]
		if !ok {
			return nil, fmt.Errorf("unknown descriptor %q (known: @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly)", text)
		}
		text = d
	}
	fields := strings.Fields(text)
	if len(fields) != 5 {
		return nil, fmt.Errorf("expected 5 fields, found %d", len(fields))
	}
	var sets [5]uint64
	for i, f := range fields {
		set, err := parseField(i, f)
		if err != nil {
			return nil, fmt.Errorf("%s field %q: %w", fieldNames[i], f, err)
		}
		sets[i] = set
	}
	c := &cronExpr{
		text:   strings.Join(fields, " "),
		minute: sets[0], hour: sets[1], dom: sets[2], month: sets[3], dow: sets[4],
		dayAnd: starred(fields[2]) || starred(fields[4]),
		fixed:  !starred(fields[0]) && !starred(fields[1]),
	}
	if !c.canFire() {
		return nil, fmt.Errorf("day-of-month %q never occurs in month %q", fields[2], fields[3])
	}
	return c, nil
}

// parseField parses field number i with robfig/cron, in a five-field
// expression whose other fields are "*", after checks robfig does not make.
func parseField(i int, f string) (uint64, error) {
	for _, elem := range strings.Split(f, ",") {
		switch {
		case elem == "":
			return 0, fmt.Errorf("empty list element")
		case elem[0] == '?' && i != 2 && i != 4:
			return 0, fmt.Errorf("? is only allowed in day-of-month and day-of-week")
		case (elem[0] == '*' || elem[0] == '?') && len(elem) > 1 && elem[1] != '/':
			return 0, fmt.Errorf("unexpected %q after %c", elem[1:], elem[0])
		}
	}
	spec := [5]string{"*", "*", "*", "*", "*"}
	spec[i] = f
	s, err := fieldParser.Parse(strings.Join(spec[:], " "))
	if err != nil {
		return 0, err
	}
	ss := s.(*cron.SpecSchedule)
	set := [5]uint64{ss.Minute, ss.Hour, ss.Dom, ss.Month, ss.Dow}[i]
	const starBit = 1 << 63 // robfig marks "*" with the top bit
	return set &^ starBit, nil
}

// starred reports whether a field starts with * or ?, the test ISC cron
// uses for its wildcard flags (so "*/15" is a wildcard, "0-59" is not).
func starred(f string) bool { return f[0] == '*' || f[0] == '?' }

// daysIn is the longest length of each month (February in a leap year).
var daysIn = [13]int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

// canFire reports whether some date satisfies the day and month fields.
// With AND semantics a valid date also needs a matching weekday, which
// every valid date has in some year.
func (c *cronExpr) canFire() bool {
	if !c.dayAnd {
		return true
	}
	for m := 1; m <= 12; m++ {
		if c.month&(1<<m) != 0 && c.dom&all(1, daysIn[m]) != 0 {
			return true
		}
	}
	return false
}

func all(lo, hi int) uint64 { return (1<<(hi+1) - 1) &^ (1<<lo - 1) }

func (c *cronExpr) dayMatches(d int, wd time.Weekday) bool {
	dom, dow := c.dom&(1<<d) != 0, c.dow&(1<<wd) != 0
	if c.dayAnd {
		return dom && dow
	}
	return dom || dow
}

// nextBit returns the smallest value ≥ from in set.
func nextBit(set uint64, from int) (int, bool) {
	rest := set >> from
	if rest == 0 {
		return 0, false
	}
	return from + bits.TrailingZeros64(rest), true
}

// nextWall returns the first wall-clock minute at or after c that matches
// the expression, ignoring time zones (c is a wall-clock reading in UTC).
func (c *cronExpr) nextWall(w time.Time) (time.Time, bool) {
	if t := w.Truncate(time.Minute); t.Before(w) {
		w = t.Add(time.Minute)
	}
	limit := w.Year() + searchYears
	for w.Year() <= limit {
		y, mo, d := w.Date()
		if c.month&(1<<mo) == 0 {
			w = time.Date(y, mo+1, 1, 0, 0, 0, 0, time.UTC)
			continue
		}
		if !c.dayMatches(d, w.Weekday()) {
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		h, ok := nextBit(c.hour, w.Hour())
		if !ok {
			w = time.Date(y, mo, d+1, 0, 0, 0, 0, time.UTC)
			continue
		}
		from := 0
		if h == w.Hour() {
			from = w.Minute()
		}
		m, ok := nextBit(c.minute, from)
		if !ok {
			w = time.Date(y, mo, d, h+1, 0, 0, 0, time.UTC)
			continue
		}
		return time.Date(y, mo, d, h, m, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

// next returns the first occurrence strictly after the instant after, or the
// zero time when there is none within searchYears.
func (c *cronExpr) next(after time.Time, loc *time.Location) time.Time {
	if c.fixed {
		return c.nextFixed(after, loc)
	}
	return c.nextWildcard(after, loc)
}

// nextFixed scans matching wall-clock minutes in order and maps each with
// firstInstant (gap → end of the gap, repeated → first reading). Since that
// mapping never decreases, the first result after the instant is the answer.
// Scanning starts at the minute of after's own reading: an earlier reading
// maps to an instant at or before after.
func (c *cronExpr) nextFixed(after time.Time, loc *time.Location) time.Time {
	w := wallClock(after, loc).Truncate(time.Minute)
	for {
		var ok bool
		if w, ok = c.nextWall(w); !ok {
			return time.Time{}
		}
		if t := firstInstant(w, loc); t.After(after) {
			return t
		}
		w = w.Add(time.Minute)
	}
}

// nextWildcard follows real time: the job runs at every instant whose wall
// clock reads a matching minute, so readings skipped by a gap never run and
// readings repeated after clocks go back run again. It walks the zone's
// periods of constant offset, in each of which the wall clock is linear.
func (c *cronExpr) nextWildcard(after time.Time, loc *time.Location) time.Time {
	t := after.In(loc)
	w := wallClock(t, loc).Truncate(time.Minute).Add(time.Minute)
	limit := after.Year() + searchYears
	for t.Year() <= limit {
		_, off := t.Zone()
		_, end := t.ZoneBounds()
		m, ok := c.nextWall(w)
		if !ok {
			return time.Time{}
		}
		if at := m.Add(-time.Duration(off) * time.Second); end.IsZero() || at.Before(end) {
			return at.In(loc)
		}
		t = end.In(loc)
		w = wallClock(t, loc)
	}
	return time.Time{}
}
