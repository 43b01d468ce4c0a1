// Package scheduler is the orchestrator's scheduler loop: it turns the
// schedules of deployments into runs ahead of time and reaps the runs of
// workers that lost their lease.
//
// # Usage
//
// The server runs one [Scheduler] per process on its store:
//
//	sc := scheduler.New(st, scheduler.Options{Logger: logger})
//	go sc.Run(ctx) // a pass every 10s, a reap every 5s, until ctx is done
//
// Tests and tools call one pass directly with their own clock:
// [Scheduler.Pass] (ctx, now) and [Scheduler.Reap] (ctx, now).
//
// # A pass
//
// For every deployment that has active schedules and is not paused, a
// pass
//
//   - compiles its schedules into a [schedule.Timetable], cached per
//     deployment version (ID and Updated), so a steady-state pass parses
//     nothing;
//   - plans with [schedule.Timetable.Plan] from the stored planned-through
//     state, one hour ahead and at least the next run ([Options.Window]);
//   - applies the deployment's late policy: run-all, run-latest or skip
//     (with [Options.LateGrace]);
//   - applies the plan with [store.Runs.PlanSchedules], batched across
//     deployments: in one transaction it creates the runs, each unique per
//     deployment and scheduled time, runs whose time has passed already
//     Late (with how late they were planned), each skipped occurrence as a
//     run that never ran (Cancelled, its message naming the policy and the
//     lateness), applies the late policy to the runs created ahead that
//     nobody started in time (SchedulePlan.LateBefore), and stores the new
//     planned-through state.
//
// Schedules marked Inactive are left out: they make no runs, their
// planning state is dropped, and when turned on again they plan from then
// on, without making up the time they were off.
//
// # Changed deployments
//
// Each run a pass creates records its origin (the keys of the schedules
// it is an occurrence of) and the deployment's generation
// ([store.Deployment.Generation]), which the store increments when a
// field the runs are made of changes ([store.PlanFields]: schedules,
// parameters, tags, pool...). From that change on, the runs planned under
// the older generation that have not started are not claimed; the next
// pass, for that deployment even when it is paused or has no schedule
// left, plans the remaining schedules again from now and applies that
// plan in the transaction that replaces the old one: the old generation's
// runs that did not start are deleted when they are due from now on, or
// when none of their schedules remains (changed, removed, inactive); the
// others (due before now, of a schedule that remains) are kept, as are
// runs created by triggers and requests, and runs that started. So after
// "* * * * *" becomes "*/5 * * * *", no run of the old cron starts, and
// after every schedule is removed, none of its runs is handed to a worker.
//
// Parameters are the deployment's defaults overridden by the schedule's
// ([schedule.MergeParameters]).
//
// # Restarts and replicas
//
// The planned-through state lives in the store, next to the runs, and is
// written in the same transaction as the runs it accounts for, compare-
// and-set: a plan applies only if the stored state is still the one it was
// computed from. A restarted scheduler continues where the state says;
// what was due meanwhile comes back Late for the late policy. Several
// schedulers on one store never duplicate a run (one run per deployment
// and scheduled time, and the compare-and-set) and never leave a silent
// gap: a scheduler that lost the compare-and-set to a replica re-reads
// the state and plans again, and no crash can separate runs from the
// state that records them.
//
// The replacement is a plan like any other: compare-and-set on the stored
// state and its generation, so two replicas replace once, and a plan made
// for a generation the deployment has left is refused and made again. A
// worker claiming a run while it is replaced either claimed it first (it
// started, and stays) or does not see it.
//
// A paused deployment is not planned (but for that replacement); when
// resumed, the runs its schedules missed meanwhile are late and its late
// policy decides.
package scheduler
