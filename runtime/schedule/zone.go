package schedule

import (
	"fmt"
	"sync"
	"time"

	// Schedules name IANA zones; embedding the database keeps them working in
	// a scratch container image that has no /usr/share/zoneinfo.
	_ "time/tzdata"
)

// locations caches loaded zones by name: time.LoadLocation reads and parses
// a file on every call, and a scheduler compiles thousands of schedules.
// Only successfully loaded zones are cached, so the cache is bounded by the
// zone database.
var locations sync.Map // string → *time.Location

// loadLocation resolves an IANA zone name. The empty name means UTC.
// "Local" is refused: it depends on the host, so two replicas could plan
// the same schedule at different instants.
func loadLocation(name string) (*time.Location, error) {
	switch name {
	case "", "UTC":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf(`"Local" depends on the host; name an IANA zone such as "Europe/Berlin" or "UTC"`)
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, fmt.Errorf("unknown time zone %q", name)
	}
	locations.Store(name, loc)
	return loc, nil
}

// Wall-clock ("civil") times are represented as time.Time values in UTC
// whose reading equals the wall clock. They are only ever compared with each
// other; offset arithmetic converts them to and from instants.

// wallClock returns the wall-clock reading of instant t in loc.
func wallClock(t time.Time, loc *time.Location) time.Time {
	_, off := t.In(loc).Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// firstInstant maps the wall-clock time c to an instant in loc with the
// rules for fixed-time jobs:
//   - c exists once: that instant;
//   - c exists twice (the hour repeated when clocks go back): the first;
//   - c does not exist (skipped when clocks go forward): the first instant
//     after the gap, i.e. the transition itself.
//
// The result is strictly increasing in c outside gaps and constant inside
// one, which lets callers scan wall-clock times in order.
func firstInstant(c time.Time, loc *time.Location) time.Time {
	t := time.Date(c.Year(), c.Month(), c.Day(), c.Hour(), c.Minute(), c.Second(), c.Nanosecond(), loc)
	w := wallClock(t, loc)
	start, end := t.ZoneBounds()
	switch {
	case w.After(c): // in a gap, normalised past the transition
		return start
	case w.Before(c): // in a gap, normalised before the transition
		return end
	}
	// c exists; time.Date may have picked the later of two readings. Look
	// for the same reading under the previous offset, before this zone began.
	if start.IsZero() {
		return t
	}
	_, off := t.Zone()
	_, prevOff := start.Add(-time.Second).In(loc).Zone()
	if prevOff == off {
		return t
	}
	u := c.Add(-time.Duration(prevOff) * time.Second)
	if u.Before(start) && wallClock(u, loc).Equal(c) {
		return u.In(loc)
	}
	return t
}

// Location resolves an IANA zone name as schedules do: the empty name and
// "UTC" are UTC, "Local" is refused (it depends on the host), other names
// come from the embedded zone database and are cached. The error says what
// is wrong; callers add the field path.
func Location(name string) (*time.Location, error) { return loadLocation(name) }

// Instant maps the wall-clock reading of wall (its year, month, day and
// time of day; its own location is ignored) to an instant in loc with the
// rules of fixed-time cron jobs: a reading that exists once is that
// instant, a reading repeated when clocks go back is its first occurrence,
// and a reading skipped when clocks go forward is the first instant after
// the gap. Change-window freezes (runtime/window) read their bounds so.
func Instant(wall time.Time, loc *time.Location) time.Time {
	c := time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), time.UTC)
	return firstInstant(c, loc).In(loc)
}
