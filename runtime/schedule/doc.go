// Package schedule is the time logic of the orchestrator's scheduler: cron
// and interval schedules in IANA time zones, their run times across
// daylight-saving changes, the planning of upcoming runs, the late-run
// policies and the precedence of parameters. It is pure — no store, no
// clock, no goroutines — so the scheduler loop, which owns the store, calls
// it and writes the result back in one transaction.
//
// # Schedules
//
// A deployment has zero or more [Schedule] values, each either a cron
// expression (five fields, or @daily and friends) or an interval (Every
// from an Anchor), with its own Timezone, Parameters and active flag.
// Schedules are stored and sent over the API as JSON (see [Schedule] for
// the wire form). [Compile] validates a deployment's schedules into a
// [Timetable]; errors are [*fielderr.Error] values naming the field:
//
//	schedules[1].cron: expected 5 fields, found 4
//	schedules[0].timezone: unknown time zone "Europe/Berln"
//
// [Parse] does the same for one schedule, giving a [*Spec] whose
// [Spec.Next] returns run times, e.g. for "next runs" in a UI.
//
// # Daylight saving
//
// Cron expressions describe a wall clock in the schedule's zone (UTC when
// none is given), and wall clocks skip and repeat times. The package
// follows ISC cron, and differs from robfig/cron's own Next (which it uses
// only to parse fields):
//
//   - Fixed-time jobs (whose minute and hour fields both start with
//     something other than "*") run once per matching wall-clock time. A
//     time in a spring-forward
//     gap runs at the first instant after the gap: "0 2 * * *" in
//     Europe/Berlin runs at 03:00 CEST on the last Sunday of March. Several
//     times in one gap make one run. A time repeated at fall-back runs at
//     its first occurrence only.
//   - Wildcard jobs — "*/15 * * * *", "0 * * * *", "0 */6 * * *" — follow
//     real time: they run at every instant whose wall clock reads a
//     matching time. Times inside a gap do not run, repeated times run
//     again, so in Europe/Berlin "*/15" stays exactly 15 minutes apart all
//     year; nothing is duplicated and nothing is missing except the readings
//     the gap removes.
//   - Intervals run every Every of elapsed time from the anchor, except
//     whole-day intervals with a Timezone, which keep the anchor's
//     wall-clock time under the fixed-time rules.
//
// As in ISC cron, a day matches when it matches both the day-of-month and
// day-of-week fields if either starts with * or ?, and either field
// otherwise.
//
// # Planning: what the scheduler loop does
//
// The scheduler keeps, per deployment, a [Timetable] (compile once, replace
// when the deployment changes) and, per schedule, a planned-through instant
// stored under [Spec.Key]. On every pass, for every deployment that is not
// paused:
//
//	plan, err := tt.Plan(schedule.PlanInput{
//		Now:      now,
//		Through:  through,             // as stored; zero for new schedules
//		Defaults: deployment.Parameters,
//		Window:   schedule.DefaultWindow,
//	})
//	run, skipped := deployment.LatePolicy.Apply(plan.Occurrences, now)
//	// In one transaction: create a run per element of run (scheduled
//	// time o.Time, parameters o.Parameters, state Late when o.Late),
//	// record skipped ones, and store plan.Through — with a
//	// compare-and-set on the previous value so that replicas planning the
//	// same deployment keep a single copy. Call again while plan.More.
//
// Plan is deterministic and idempotent: with its own Through stored it adds
// nothing until time moves on. A restart or a forward clock jump returns
// the runs missed meanwhile, marked Late, for the [LatePolicy] to run all,
// the latest or none; a backward jump plans nothing twice. A steady-state
// pass that creates nothing leaves Through unchanged, so it writes nothing.
//
// Parameters of a run follow [MergeParameters]: deployment defaults <
// schedule parameters < event parameters < run request parameters, merged
// shallowly.
//
// The time zone database is embedded (time/tzdata), so zones resolve in a
// scratch container image.
package schedule
