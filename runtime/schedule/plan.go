package schedule

import (
	"fmt"
	"slices"
	"time"

	"github.com/netauto-dev/netauto/runtime/fielderr"
)

// Window bounds how far ahead Plan creates runs.
type Window struct {
	// Ahead plans every occurrence up to Now+Ahead. Zero plans only what
	// is due.
	Ahead time.Duration
	// AtLeast extends the window, if needed, until the deployment has its
	// next AtLeast runs (all schedules together) planned, however far away
	// they are, so that a weekly job always shows its next run. The window
	// is one for all schedules of a deployment.
	AtLeast int
	// Max caps the occurrences returned by one call (late and upcoming
	// together); Plan.More reports that more remain. Must be positive.
	Max int
}

// DefaultWindow plans an hour ahead, at least the deployment's next run,
// and at most 100 runs per deployment and call.
var DefaultWindow = Window{Ahead: time.Hour, AtLeast: 1, Max: 100}

// PlanInput is what the scheduler knows about one deployment.
type PlanInput struct {
	// Now is the scheduler's current time.
	Now time.Time
	// Through holds, per schedule (index-aligned with the Timetable), the
	// instant up to which that schedule is planned: every occurrence at or
	// before it has been turned into a run (or deliberately skipped). It is
	// the Through of the previous Plan, as stored. A zero entry, or a nil
	// slice, means never planned: the schedule starts at Now, and nothing
	// before is owed.
	Through []time.Time
	// Defaults are the deployment's default parameters, merged under each
	// schedule's own.
	Defaults map[string]any
	// Window bounds how far ahead to plan.
	Window Window
}

// Occurrence is one run to create.
type Occurrence struct {
	// Schedule is the index of the schedule that produced the run.
	Schedule int
	// Time is the scheduled time, in UTC. A deployment has at most one
	// occurrence per Time.
	Time time.Time
	// Parameters are the deployment's defaults merged with the schedule's
	// parameters (MergeParameters); a new map per occurrence.
	Parameters map[string]any
	// Late is set when Time is before Now: the run should have been
	// planned earlier (the scheduler was down, or the clock jumped). Apply
	// a LatePolicy to decide what to do with it.
	Late bool
	// LastMissed is set on a late occurrence when no later late occurrence
	// of the same schedule exists: it is the one LateRunLatest runs. It is
	// exact even when the backlog spans several calls.
	LastMissed bool
	// Coincident lists other schedules that fire at the same Time. Their
	// occurrence is merged into this one, whose Schedule is the lowest
	// index; it is reported so that it can be shown, not silently lost.
	Coincident []int
}

// Plan is the result of Timetable.Plan.
type Plan struct {
	// Occurrences are the runs to create, in time order.
	Occurrences []Occurrence
	// Through is the new planning state per schedule, to store in the
	// same transaction as the runs (and only if that transaction commits).
	// An entry changes only when that schedule produced occurrences, is
	// new, or is inactive (reset to zero so that reactivating does not
	// catch up), so a steady-state pass that creates nothing writes
	// nothing: examining an unchanged window again is harmless.
	Through []time.Time
	// More reports that Window.Max cut the plan short: store it, then call
	// Plan again for the rest.
	More bool
}

// head tracks one schedule's position while merging.
type head struct {
	next time.Time // next occurrence to emit; zero when none is left in the window
	from time.Time // planned through (exclusive start of the window)
	used bool      // produced at least one occurrence
	new  bool      // never planned before: starts at Now
}

// windowEnd returns the last instant to plan: Now+Ahead, or later if that
// is needed for the deployment to have AtLeast upcoming runs (all
// schedules together). One end for all schedules is what keeps two
// schedules that fire at the same instant from planning it in different
// calls.
func (tt *Timetable) windowEnd(now time.Time, w Window, active []bool) time.Time {
	end := now.Add(w.Ahead)
	if w.AtLeast == 0 {
		return end
	}
	var upcoming []time.Time
	for i, sp := range tt.specs {
		at := now.Add(-time.Nanosecond)
		for k := 0; active[i] && k < w.AtLeast; k++ {
			if at = sp.Next(at); at.IsZero() {
				break
			}
			upcoming = append(upcoming, at)
		}
	}
	slices.SortFunc(upcoming, time.Time.Compare)
	upcoming = slices.CompactFunc(upcoming, time.Time.Equal)
	if len(upcoming) > 0 {
		nth := upcoming[min(w.AtLeast, len(upcoming))-1]
		if nth.After(end) {
			end = nth
		}
	}
	return end
}

// plannedBefore reports whether an earlier call already planned instant at,
// an occurrence of new schedules only, through another schedule: one that
// fires at at and is planned through at or beyond it. This happens when a
// schedule is added or reactivated while another has planned ahead. The
// other schedule covered everything from its own start, which came before
// Now unless the clock has since been set back; at ≥ Now since only new
// schedules produced it.
func (tt *Timetable) plannedBefore(at time.Time, through []time.Time, active []bool) bool {
	if through == nil {
		return false
	}
	for k, sp := range tt.specs {
		if active[k] && !through[k].IsZero() && !at.After(through[k]) && sp.Next(at.Add(-time.Nanosecond)).Equal(at) {
			return true
		}
	}
	return false
}

// Plan returns the runs to create for a deployment whose schedules are tt:
// every occurrence after its schedule's Through and up to the window's end,
// with those already due marked Late. It is deterministic and idempotent:
// called again with the returned Through stored, it returns nothing new
// until time moves on; after a restart or a forward clock jump the missed
// occurrences come back as Late instead of being lost; after a backward
// jump nothing is planned twice, since Through never moves back.
//
// Several replicas may plan the same deployment concurrently: they compute
// the same runs, so a store that enforces one run per deployment and
// scheduled time, and updates Through only when it still holds the value
// read (compare-and-set), keeps a single copy.
//
// Errors report bad input only: Through of the wrong length, a
// non-positive Window.Max, a negative Ahead or AtLeast, a zero Now.
func (tt *Timetable) Plan(in PlanInput) (Plan, error) {
	n := len(tt.specs)
	switch {
	case in.Through != nil && len(in.Through) != n:
		return Plan{}, fmt.Errorf("plan: %d through times for %d schedules", len(in.Through), n)
	case in.Window.Max <= 0:
		return Plan{}, &fielderr.Error{Field: "window.max", Reason: fmt.Sprintf("must be positive, got %d", in.Window.Max)}
	case in.Window.Ahead < 0:
		return Plan{}, &fielderr.Error{Field: "window.ahead", Reason: fmt.Sprintf("must not be negative, got %v", in.Window.Ahead)}
	case in.Window.AtLeast < 0:
		return Plan{}, &fielderr.Error{Field: "window.atLeast", Reason: fmt.Sprintf("must not be negative, got %d", in.Window.AtLeast)}
	case in.Now.IsZero():
		return Plan{}, fmt.Errorf("plan: now is the zero time")
	}
	now := in.Now
	out := Plan{Through: make([]time.Time, n)}
	heads := make([]head, n)
	active := make([]bool, n)
	for i, sp := range tt.specs {
		active[i] = !sp.sched.Inactive
		switch {
		case !active[i]:
		case in.Through != nil && !in.Through[i].IsZero():
			heads[i].from = in.Through[i]
		default:
			heads[i].from = now.Add(-time.Nanosecond) // start at now, inclusive
			heads[i].new = true
		}
	}
	end := tt.windowEnd(now, in.Window, active)
	for i, sp := range tt.specs {
		if active[i] {
			if next := sp.Next(heads[i].from); !next.IsZero() && !next.After(end) {
				heads[i].next = next
			}
		}
	}

	for len(out.Occurrences) < in.Window.Max {
		var at time.Time
		for i := range heads {
			if t := heads[i].next; !t.IsZero() && (at.IsZero() || t.Before(at)) {
				at = t
			}
		}
		if at.IsZero() {
			break
		}
		occ := Occurrence{Schedule: -1, Time: at.UTC(), Late: at.Before(now)}
		allNew := true
		for i := range heads {
			h := &heads[i]
			if !h.next.Equal(at) {
				continue
			}
			if occ.Schedule < 0 {
				occ.Schedule = i
			} else {
				occ.Coincident = append(occ.Coincident, i)
			}
			h.used = true
			allNew = allNew && h.new
			h.next = tt.specs[i].Next(at)
			if occ.Late && (h.next.IsZero() || !h.next.Before(now)) {
				occ.LastMissed = true
			}
			if h.next.After(end) {
				h.next = time.Time{}
			}
		}
		if allNew && tt.plannedBefore(at, in.Through, active) {
			continue
		}
		occ.Parameters = MergeParameters(in.Defaults, tt.specs[occ.Schedule].sched.Parameters)
		out.Occurrences = append(out.Occurrences, occ)
	}

	var cut time.Time // with More: everything up to cut is planned, for every schedule
	for i := range heads {
		if !heads[i].next.IsZero() {
			out.More = true
			cut = out.Occurrences[len(out.Occurrences)-1].Time
			break
		}
	}
	for i, h := range heads {
		switch {
		case tt.specs[i].sched.Inactive:
			// zero: reactivation starts afresh
		case !h.used && in.Through != nil && !in.Through[i].IsZero():
			out.Through[i] = in.Through[i] // unchanged
		default:
			through := end
			if out.More && cut.Before(through) {
				through = cut
			}
			if through.Before(h.from) {
				through = h.from
			}
			out.Through[i] = through.UTC()
		}
	}
	return out, nil
}
