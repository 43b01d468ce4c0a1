// Package window is the change calendar of a deployment as data: the
// recurring windows in which its runs (network changes) may start, and the
// freezes in which none may. It is pure — no store, no clock — like
// runtime/schedule, whose cron rules it reuses for window starts.
//
// A [Calendar] is JSON data: on a deployment (store.Deployment.Calendar),
// or in an environment's config block under "change_calendar" so that
// operators edit it without a redeploy (Calendar.Block names the block).
// [Compile] validates it; errors name the field:
//
//	windows[0].start: expected 5 fields, found 4
//	windows[1].duration: 0s: must be positive
//	windows[0].timezone: unknown time zone "Europe/Berln"
//	freezes[2].end: 2026-12-01 is not after start 2026-12-20
//
// [Compiled.Open] says whether a change may start at an instant and, when
// not, why (a typed [ReasonKind]: outside every window, or frozen by a named
// freeze); [Compiled.Next] gives the next [Opening], the time from which a
// change may start and when that stops, with freezes cut out of windows.
//
// # Decisions
//
//   - A window opens at each occurrence of its cron expression, read in its
//     zone with runtime/schedule's daylight-saving rules (a fixed-time start
//     in a spring-forward gap opens at the end of the gap; a repeated one at
//     its first occurrence), and lasts its duration in elapsed time.
//   - Windows are half-open [start, start+duration); overlapping or
//     touching windows make one opening.
//   - No windows means always open except during freezes.
//   - A freeze's bounds are wall-clock readings in its zone; a date as end
//     includes that day. Freezes win over windows.
//   - The runtime checks the calendar when a run is created and again when
//     a worker claims it; it never stops a run already running when a
//     window closes or a freeze begins (see runtime/doc.go).
//   - A [*Compiled] is a flow.ChangeWindow ([Compiled.NextOpen]): with
//     flow.InputWindow an approval gate's answer takes effect only inside
//     the calendar.
package window
